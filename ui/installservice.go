package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// "Install as a service" (#12): the console that runs the server stops
// it when its window closes. Installing the system service needs root,
// which a desktop program should not ask for itself, so the dialog shows
// the exact command to run in a terminal, with a Copy button, and what
// it does.

// defaultServiceCommand is shown when Deps.ServiceCommand is empty.
const defaultServiceCommand = "sudo provisio service install"

// installServiceText says what the command does, in a small office's
// words.
const installServiceText = "Right now this window is the server: when you close it, phones cannot provision and " +
	"VPN logins that need a one-time code fail.\n\n" +
	"Installed as a service, Provisio runs in the background from boot, without a window, and restarts by " +
	"itself after a failure. Installing needs administrator rights, so run this in a terminal:"

// installServiceDetails lists what the command changes on the machine.
const installServiceDetails = "It copies the program to /usr/local/bin, creates the system user \"provisio\", keeps the " +
	"service's data in /var/lib/provisio and its keys in /etc/provisio, and installs and starts the systemd unit " +
	"\"provisio\" (provisio service unit shows it first; sudo provisio service uninstall removes it).\n\n" +
	"The service starts with its own data directory, not this window's: close this window before you run it, " +
	"as both would listen on the same port. Afterwards, open the console as root (sudo -E provisio --data " +
	"/var/lib/provisio) to attach to the service, or pair a remote console (provisio console pair NAME)."

// serviceCommand is the command the dialog shows.
func (c *Console) serviceCommand() string {
	if c.deps.ServiceCommand != "" {
		return c.deps.ServiceCommand
	}
	return defaultServiceCommand
}

// showInstallService opens the dialog with the command and a Copy button.
func (c *Console) showInstallService() {
	cmd := c.serviceCommand()
	intro := widget.NewLabel(installServiceText)
	intro.Wrapping = fyne.TextWrapWord
	command := &widget.Label{Text: cmd, TextStyle: fyne.TextStyle{Monospace: true}, Selectable: true, Wrapping: fyne.TextWrapBreak}
	copied := &widget.Label{Importance: widget.SuccessImportance}
	copyBtn := newButton(c, "Copy", theme.ContentCopyIcon(), func() {
		c.app.Clipboard().SetContent(cmd)
		copied.SetText("Copied.")
	})
	details := widget.NewLabel(installServiceDetails)
	details.Wrapping = fyne.TextWrapWord
	content := container.NewVBox(intro,
		container.NewBorder(nil, nil, nil, container.NewHBox(copyBtn, copied), command),
		details)
	c.ask(askSpec{title: "Install as a service", content: content, dismiss: "Close"}).Resize(fyne.NewSize(720, 440))
}
