package main

import (
	"flag"
	"fmt"
)

// clientLogCommand is "provisio user clientlog NAME [--clear]" (#14): the
// diagnostic logs the user's phone uploaded, newest first, or, with
// --clear, their deletion (audit-logged). It opens the data directory
// itself, like the profile commands, so it runs while no Provisio holds
// it.
var clientLogCommand = command{
	usage: "user clientlog NAME [--clear]",
	args:  1,
	setup: func(fs *flag.FlagSet) action {
		clearLogs := fs.Bool("clear", false, "delete the user's uploaded logs (recorded in the audit log)")
		return func(c *cli, args []string) error {
			return c.withEnv(func(e *env) error {
				u, err := e.svc.User(args[0])
				if err != nil {
					return err
				}
				if *clearLogs {
					n, err := e.svc.ClearClientLogs(u.Name, cliActor)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.out, "Client log of %s cleared (%d upload(s) deleted).\n", u.Name, n)
					return nil
				}
				logs, err := e.svc.ClientLogs(u.Name)
				if err != nil {
					return err
				}
				if len(logs) == 0 {
					fmt.Fprintf(c.out, "No diagnostic log uploaded for %s.\n", u.Name)
					return nil
				}
				total := 0
				for _, l := range logs {
					total += l.Size()
				}
				fmt.Fprintf(c.out, "Client log of %s: %d upload(s), %d bytes, newest first.\n", u.Name, len(logs), total)
				for _, l := range logs {
					// The text was cleaned of control characters on upload,
					// so it is safe to print on a terminal.
					fmt.Fprintf(c.out, "\n=== %s, %d bytes ===\n%s\n", l.Time.UTC().Format("2006-01-02 15:04:05 UTC"), l.Size(), l.Text)
				}
				return nil
			})
		}
	},
}

func init() { userCommands["clientlog"] = clientLogCommand }
