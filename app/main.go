// Command provisio is the Provisio admin console, its embedded AgentXML
// server and its command-line interface. This package only wires the parts
// together: flags and commands in cli.go, the window in console.go.
package main

import (
	"os"

	// First, so Fyne reads a locale it understands (see the package).
	_ "provisio/app/internal/locale"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
