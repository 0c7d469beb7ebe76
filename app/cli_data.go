package main

import (
	"fmt"

	"provisio/core"
)

// Data protection commands (issue #13).

var logCommands = map[string]command{
	"verify": {
		usage: "log verify",
		setup: noFlags(func(c *cli, _ []string) error {
			return c.withEnv(func(e *env) error {
				// A failure is a *store.LogChainError naming the entry.
				v, err := e.svc.VerifyLog()
				if err != nil {
					return err
				}
				fmt.Fprintln(c.out, logVerifiedText(v))
				fmt.Fprintf(c.out, "Chain head: %s\n", v.Head)
				return nil
			})
		}),
	},
}

// logVerifiedText is the one-line result the CLI and the console show.
func logVerifiedText(v core.LogChain) string {
	s := fmt.Sprintf("Log verified up to #%d", v.Last)
	if v.Checkpoint > 0 {
		s += fmt.Sprintf(" (from #%d; older entries were trimmed at a signed checkpoint)", v.From)
	}
	return s + "."
}
