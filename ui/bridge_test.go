package ui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// TestBridge_OneFyneDoCallSite: work from other goroutines reaches the UI
// thread in one place, uiThread.do in bridge.go, with its closed-window
// guard; the console, the attached console and the pairing dialog each
// had their own copy, and the pairing dialog's had no guard.
func TestBridge_OneFyneDoCallSite(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var sites []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Do" {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "fyne" {
					sites = append(sites, fset.Position(sel.Pos()).String())
				}
			}
			return true
		})
	}
	if len(sites) != 1 || !strings.HasPrefix(sites[0], "bridge.go:") {
		t.Errorf("fyne.Do is used at %q; want exactly one place, in bridge.go", sites)
	}
}

// TestPairing_AnswerAfterQuitDropped: an answer from the server that
// arrives after the pairing dialog is gone (here: Quit pressed while the
// server was still being asked for its certificate) touches nothing.
func TestPairing_AnswerAfterQuitDropped(t *testing.T) {
	test.NewTempApp(t)
	do, waitFor := uiQueue(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(800, 600))
	release := make(chan struct{})
	probed := make(chan struct{})
	quits := 0
	p := NewPairing(w, PairingDeps{
		Server: "192.0.2.10:8444",
		Probe: func() (string, error) {
			<-release
			defer close(probed)
			return "AB:CD", nil
		},
		Pair: func(string) error { return nil },
		Quit: func() { quits++ },
		do:   do,
	})
	t.Cleanup(p.Close)
	before := p.Fingerprint()
	tapDialogButton(t, w, "Quit")
	close(release)
	<-probed
	ran := false
	do(func() { ran = true }) // queued after the probe's answer
	waitFor("the queue", func() bool { return ran })
	if quits != 1 {
		t.Errorf("Quit ran %d times", quits)
	}
	if p.Fingerprint() != before || !p.pairBtn.Disabled() {
		t.Errorf("the answer after Quit was shown: fingerprint %q, Pair enabled %v", p.Fingerprint(), !p.pairBtn.Disabled())
	}
}
