package main

import (
	"flag"
	"fmt"

	"provisio/core"
	"provisio/core/adminapi"
)

// clientLogCommand is "provisio user clientlog NAME [--clear]" (#14): the
// diagnostic logs the user's phone uploaded, newest first, or, with
// --clear, their deletion (audit-logged). Like the other user commands it
// attaches to the Provisio holding the data directory, or opens it.
var clientLogCommand = command{
	usage: "user clientlog NAME [--clear]",
	args:  1,
	setup: func(fs *flag.FlagSet) action {
		clearLogs := fs.Bool("clear", false, "delete the user's uploaded logs (recorded in the audit log)")
		return func(c *cli, args []string) error {
			return c.withAPI(func(api adminapi.API, _ *env) error {
				if *clearLogs {
					n, err := api.ClearClientLogs(args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(c.out, "Client log of %s cleared (%s deleted).\n", args[0], core.Plural(n, "upload", "uploads"))
					return nil
				}
				cl, err := api.ClientLogs(args[0])
				if err != nil {
					return err
				}
				if len(cl.Logs) == 0 {
					fmt.Fprintf(c.out, "No diagnostic log uploaded for %s.\n", cl.User)
					return nil
				}
				total := 0
				for _, l := range cl.Logs {
					total += l.Size()
				}
				fmt.Fprintf(c.out, "Client log of %s: %s, %d bytes, newest first.\n", cl.User, core.Plural(len(cl.Logs), "upload", "uploads"), total)
				for _, l := range cl.Logs {
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
