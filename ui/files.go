package ui

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
)

// maxOpenFile caps what the console reads into memory from a file: a
// user CSV for a small office is a few hundred kilobytes.
const maxOpenFile = 64 << 20

// saveAs asks where to save a file suggested as name and writes it with
// write (given the chosen path) on a background goroutine, so a big file does not stall the
// window. done runs on the UI thread with where the file went, or a
// sentence about why it could not be written. Cancelling calls nothing.
func (c *Console) saveAs(name string, write func(w io.Writer, path string) error, done func(path string, err error)) {
	saveFileAs(c.win, c.keys(), c.do, c.opts.saveFile, name, write, done)
}

// saveFileAs is saveAs for any window: k are its dialogs' keys, do hops
// to its UI thread, and pick, when set, replaces the file dialog (tests).
func saveFileAs(win fyne.Window, k *dialogKeys, do func(func()), pick func(name string) (string, bool),
	name string, write func(w io.Writer, path string) error, done func(path string, err error)) {
	finish := func(path string, w io.WriteCloser) {
		go func() {
			err := write(w, path)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			do(func() { done(path, fileError(err, "written")) })
		}()
	}
	if pick != nil {
		path, ok := pick(name)
		if !ok {
			return
		}
		f, err := os.Create(path)
		if err != nil {
			done(path, fileError(err, "written"))
			return
		}
		finish(path, f)
		return
	}
	var unkey func()
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		unkey()
		switch {
		case err != nil:
			done("", fileError(err, "written"))
		case w != nil:
			finish(w.URI().Path(), w)
		}
	}, win)
	d.SetFileName(name)
	d.Resize(fileDialogSize(win))
	unkey = keyFileDialog(k, d)
	d.Show()
}

// openFile asks for a file with one of exts (".csv") and hands its name
// and contents to read on the UI thread.
func (c *Console) openFile(exts []string, read func(name string, data []byte)) {
	if c.opts.openFile != nil {
		path, ok := c.opts.openFile()
		if !ok {
			return
		}
		data, err := readLimited(os.Open(path))
		if err != nil {
			c.showError(fileError(err, "read"))
			return
		}
		read(filepath.Base(path), data)
		return
	}
	var unkey func()
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		unkey()
		if err == nil && r == nil {
			return // cancelled
		}
		var data []byte
		if err == nil {
			data, err = readLimited(r, nil)
		}
		if err != nil {
			c.showError(fileError(err, "read"))
			return
		}
		read(r.URI().Name(), data)
	}, c.win)
	d.SetFilter(storage.NewExtensionFileFilter(exts))
	d.Resize(fileDialogSize(c.win))
	unkey = keyFileDialog(c.keys(), d)
	d.Show()
}

// keyFileDialog registers Fyne's file dialog d with the window's dialogs
// k, so that Escape (with nothing focused: the dialog's own widgets are
// Fyne's and drop it) closes d and not the dialog beneath it, Save PNG…'s
// over Reprovision. Enter does nothing there, as in d's file list. It
// unregisters when d closes, and by the returned func, which d's result
// callback calls: a dialog the desktop shows instead of Fyne's (a
// Flatpak's portal) reports no close otherwise.
func keyFileDialog(k *dialogKeys, d *dialog.FileDialog) (unkey func()) {
	if k == nil {
		return func() {}
	}
	m := k.pushDialog(d, d.Hide, nil)
	return func() { k.popModal(m) }
}

func readLimited(r io.ReadCloser, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxOpenFile+1))
	if err == nil && len(data) > maxOpenFile {
		return nil, errTooBig
	}
	return data, err
}

var errTooBig = errors.New("file too big")

// fileDialogSize fits the file dialogs to the window.
func fileDialogSize(w fyne.Window) fyne.Size {
	s := w.Canvas().Size()
	return fyne.NewSize(min(900, s.Width-40), min(620, s.Height-40))
}

// fileError words a file system error for people; nil stays nil.
func fileError(err error, done string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errTooBig):
		return sentence("The file is bigger than 64 MB; that is not a user list.")
	case errors.Is(err, fs.ErrPermission):
		return sentence("Provisio is not allowed to use that file; choose another place or file.")
	case errors.Is(err, fs.ErrNotExist):
		return sentence("That file or folder does not exist.")
	}
	return sentence("The file could not be " + done + "; check the disk and try again.")
}
