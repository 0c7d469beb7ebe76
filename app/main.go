// Command provisio is the Provisio admin console, its embedded AgentXML
// server and its command-line interface. This package only wires the parts
// together: the flags and the dispatch of commands in cli.go, the commands
// in cli_*.go (cli_check.go, cli_data.go, …), the window in console.go.
package main

import (
	"os"
	"time"

	// First, so Fyne reads a locale it understands (see the package).
	_ "provisio/app/internal/locale"
)

// programStart is when the program began, as near as Go code sees it.
var programStart = time.Now()

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
