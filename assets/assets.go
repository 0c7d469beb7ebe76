// Package assets holds the files compiled into the Provisio binary, so a
// single executable runs without anything installed beside it.
//
// It does not import Fyne: core packages and tools can use the bytes too,
// and the app wraps them itself, e.g.
// fyne.NewStaticResource(assets.IconResource()).
package assets

import _ "embed"

// IconName is the file name of the application icon, the name Fyne
// resources and the packaged tarball use.
const IconName = "icon.png"

// Icon is the 512x512 PNG application icon, the same file FyneApp.toml
// names. Treat it as read-only: it is shared by every caller.
//
//go:embed icon.png
var Icon []byte

// IconResource returns the icon's name and PNG bytes in the argument order
// of fyne.NewStaticResource, so the app can pass the call straight through.
func IconResource() (name string, content []byte) {
	return IconName, Icon
}
