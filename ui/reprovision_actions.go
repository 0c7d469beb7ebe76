package ui

import (
	"io"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core/qr"
)

// The Reprovision dialog is shown to a person across the desk: the QR
// code can fill the window, and the code and URL can leave the console by
// the clipboard or as a PNG file.

// largeCodeSize is the text size of the provision code: readable from
// the other side of a desk.
const largeCodeSize = 40

// pngModulePixels is the module size of a saved QR code: 8 pixels make a
// picture that prints and scans well.
const pngModulePixels = 8

// fullScreenChrome is the room the dialog's title, buttons and padding
// take around the QR code when it fills the window.
const fullScreenChrome = 170

// actions returns the row of extra actions under the dialog's details.
func (d *reprovisionDialog) actions() fyne.CanvasObject {
	k := d.host.keys
	d.fullScreen = newButton(k, "Full screen", theme.ViewFullScreenIcon(), d.toggleFull)
	d.copyURL = newButton(k, "Copy URL", theme.ContentCopyIcon(), d.copyProvisionURL)
	d.savePNG = newButton(k, "Save PNG…", theme.DocumentSaveIcon(), d.saveQR)
	d.note = &widget.Label{Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord}
	d.note.Hide()
	return container.NewVBox(container.NewHBox(d.fullScreen, d.copyURL, d.savePNG), d.note)
}

// drawQR renders the QR code at a whole number of pixels per module: at
// least minQRSide wide normally, as big as fits when full screen, but
// never smaller than normally (a small window cannot make full screen
// shrink the code).
func (d *reprovisionDialog) drawQR() {
	if d.qrCode == nil {
		d.qrImage.Image = nil
		d.qrImage.Refresh()
		return
	}
	ppm := qrModulePixels(d.modules, 0)
	if d.full {
		ppm = qrModulePixels(d.modules, d.fullSide())
	}
	d.qrImage.Image = d.qrCode.Image(ppm)
	// One image pixel per unit: exact at scale 1, whole multiples of it
	// on HiDPI screens, so modules stay crisp and even.
	side := float32(d.modules * ppm)
	d.qrImage.SetMinSize(fyne.NewSize(side, side))
	d.qrImage.Refresh()
}

// qrModulePixels is the whole number of pixels per module that draws a
// QR code of modules modules at least minQRSide (and
// qr.MinPixelsPerModule per module) wide, or as wide as fits in side
// pixels when that is more.
func qrModulePixels(modules, side int) int {
	normal := max(qr.MinPixelsPerModule, (minQRSide+modules-1)/modules)
	return max(normal, side/modules)
}

// fullSide is the largest QR side that fits the window beside the
// details.
func (d *reprovisionDialog) fullSide() int {
	s := d.host.win.Canvas().Size()
	return int(min(s.Height-fullScreenChrome, s.Width-d.detailsWidth()-80))
}

// detailsWidth is the room the text beside the QR code gets.
func (d *reprovisionDialog) detailsWidth() float32 { return 440 }

// normalSize is the dialog's size when not full screen; height 0 takes
// the content's height.
func (d *reprovisionDialog) normalSize() fyne.Size {
	return fyne.NewSize(d.qrImage.MinSize().Width+d.detailsWidth(), 0)
}

// toggleFull makes the QR code fill the window (and the window the
// screen), or puts it back.
func (d *reprovisionDialog) toggleFull() {
	d.full = !d.full
	w := d.host.win
	if d.full {
		d.fullScreen.SetText("Exit full screen")
		d.fullScreen.SetIcon(theme.ViewRestoreIcon())
		w.SetFullScreen(true)
	} else {
		d.fullScreen.SetText("Full screen")
		d.fullScreen.SetIcon(theme.ViewFullScreenIcon())
		w.SetFullScreen(false)
	}
	d.fit()
	// The window manager resizes the window a moment later; fit the code
	// to the new size then.
	gen := d.gen
	go func() {
		time.Sleep(300 * time.Millisecond)
		d.host.do(func() {
			if d.gen == gen && !d.closed {
				d.fit()
			}
		})
	}()
}

// fit sizes the QR code and the dialog for the current mode.
func (d *reprovisionDialog) fit() {
	d.drawQR()
	if d.full {
		d.dlg.Resize(d.host.win.Canvas().Size())
	} else {
		d.dlg.Resize(d.normalSize())
	}
	relayout(d.dlg)
}

// escape leaves full screen, or closes the dialog.
func (d *reprovisionDialog) escape() {
	if d.full {
		d.toggleFull()
		return
	}
	d.dlg.Hide()
}

// copyProvisionURL puts the Provision URL on the clipboard, for a chat
// message or a ticket.
func (d *reprovisionDialog) copyProvisionURL() {
	d.host.clipboard.SetContent(d.issued.URL)
	d.showNote("Provision URL copied. It holds the code: paste it only where the user gets it.", widget.LowImportance)
}

// saveQR writes the QR code as a PNG file the admin picks.
func (d *reprovisionDialog) saveQR() {
	qc := d.qrCode
	if qc == nil {
		d.showNote("There is no QR code to save.", widget.DangerImportance)
		return
	}
	d.host.saveAs("provision-"+d.issued.User+".png", func(w io.Writer, _ string) error {
		b, err := qc.PNG(pngModulePixels)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}, func(path string, err error) {
		if err != nil {
			d.showNote(errorText(err), widget.DangerImportance)
			return
		}
		d.showNote("QR code saved to "+path+".", widget.LowImportance)
	})
}

func (d *reprovisionDialog) showNote(msg string, imp widget.Importance) {
	d.note.Importance = imp
	d.note.SetText(msg)
	d.note.Show()
	relayout(d.dlg)
}

// largeText shows o's heading-size text at largeCodeSize in theme t.
func largeText(t fyne.Theme, o fyne.CanvasObject) fyne.CanvasObject {
	return container.NewThemeOverride(o, largeTheme{t})
}

// largeTheme is the console's theme with large heading text.
type largeTheme struct{ fyne.Theme }

// Size makes heading text largeCodeSize.
func (t largeTheme) Size(n fyne.ThemeSizeName) float32 {
	if n == theme.SizeNameHeadingText {
		return largeCodeSize
	}
	return t.Theme.Size(n)
}
