package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
)

// Remote consoles (#12) on the command line: `console pair|list|revoke`
// on the server, and --connect HOST, which runs the commands that work
// through the admin API on another machine's server as a paired console.

// remoteCommands are the top-level commands that work with --connect.
// Every "profile" command goes through the API (withConsole, withAPI);
// the console's role decides which it may run (#14: a helpdesk reads the
// profiles and assigns one to a user). "log show" reads the server's
// audit log through the API (an admin console's); "log verify" needs the
// data file and says so (withEnv).
var remoteCommands = map[string]bool{"user": true, "reprovision": true, "settings": true, "agent": true, "console": true, "profile": true, "log": true}

var consoleCommands = map[string]command{
	"pair": {
		usage: "console pair NAME [--role helpdesk|admin]",
		args:  1,
		setup: func(fs *flag.FlagSet) action {
			roleFlag := fs.String("role", "helpdesk", "what the console may do: helpdesk (find users, reprovision, unlock, reset PIN, revoke a device) or admin (everything)")
			return func(c *cli, args []string) error {
				role, err := core.ParseRole(*roleFlag)
				if err != nil {
					return usagef("%s", core.ErrorMessage(err))
				}
				return c.withAPI(func(api adminapi.API, e *env) error {
					p, err := api.PairConsole(args[0], role)
					if err != nil {
						return err
					}
					c.printPairing(p, e)
					return nil
				})
			}
		},
	},
	"list": {
		usage: "console list",
		setup: noFlags(func(c *cli, _ []string) error {
			return c.withAPI(func(api adminapi.API, _ *env) error {
				list, err := api.Consoles()
				if err != nil {
					return err
				}
				if len(list) == 0 {
					fmt.Fprintln(c.out, "No remote consoles; pair one with: provisio console pair NAME --role helpdesk")
					return nil
				}
				tw := tabwriter.NewWriter(c.out, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tSINCE\tCERTIFICATE SERIAL")
				for _, k := range list {
					since := ""
					switch {
					case k.RevokedAt != nil:
						since = k.RevokedAt.Local().Format("2006-01-02 15:04")
					case k.PairedAt != nil:
						since = k.PairedAt.Local().Format("2006-01-02 15:04")
					case k.CodeExpires != nil && k.State == "expired":
						since = "code expired " + k.CodeExpires.Local().Format("2006-01-02 15:04")
					case k.CodeExpires != nil:
						since = "code valid until " + k.CodeExpires.Local().Format("15:04")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, k.Role, k.State, since, k.Serial)
				}
				return tw.Flush()
			})
		}),
	},
	"revoke": {
		usage: "console revoke NAME",
		args:  1,
		setup: noFlags(func(c *cli, args []string) error {
			return c.withAPI(func(api adminapi.API, _ *env) error {
				if err := api.RevokeConsole(args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.out, "Console %q revoked: the server refuses it from its next request on.\n", args[0])
				return nil
			})
		}),
	},
}

// printPairing shows a pairing code with what the other desk needs. e is
// set when the data directory was opened here (no server runs): the
// fingerprint is then the certificate the server will present.
func (c *cli) printPairing(p core.AdminPairing, e *env) {
	fp, addr := p.Fingerprint, p.Listen
	if e != nil {
		if err := e.sup.LoadCert(); err == nil {
			fp = e.sup.Fingerprint()
		}
		if l := e.svc.Settings().AdminListen; l != "" {
			addr = consoleAddr(e.svc, l)
		}
	}
	fmt.Fprintf(c.out, "Pairing code for console %q (%s): %s\n", p.Name, p.Role, core.GroupPairingCode(p.Code))
	fmt.Fprintf(c.out, "Valid once, until %s (in %d minutes).\n", p.Expires.Local().Format("15:04"), int(time.Until(p.Expires).Round(time.Minute)/time.Minute))
	if fp != "" {
		fmt.Fprintf(c.out, "Server certificate SHA-256: %s\n", fp)
	}
	if addr != "" {
		fmt.Fprintf(c.out, "\nOn the console's machine run:  provisio --connect %s\n", addr)
		fmt.Fprintln(c.out, "type the code when it asks, and check that it shows the same fingerprint.")
	} else {
		fmt.Fprintln(c.out, "\nThe running server's remote console listener is not open: server.admin_listen is empty, or it could not open (its log says why). Set it, e.g. provisio settings set server.admin_listen 0.0.0.0:8444, and restart the server.")
	}
	if e != nil {
		fmt.Fprintln(c.out, "No Provisio server runs on this data directory now: start it (provisio serve, the service or the console) before the code expires.")
	}
}

// withRemote runs fn against the server named by --connect, as the
// console paired with it.
func (c *cli) withRemote(fn func(client *adminapi.Client, e *env) error) error {
	addr, id, err := c.remoteIdentity()
	if err != nil {
		return err
	}
	client, err := adminapi.DialRemote(id)
	if err != nil {
		return fmt.Errorf("cannot work on %s as console %q: %w", addr, id.Name, err)
	}
	defer client.Close()
	fmt.Fprintf(c.errOut, "provisio: connected to %s as %s (%s).\n", addr, id.Name, id.Role)
	return fn(client, nil)
}

// remoteIdentity reads the pairing kept for --connect's server.
func (c *cli) remoteIdentity() (string, *adminapi.Identity, error) {
	addr, err := adminapi.NormalizeAddr(c.connect)
	if err != nil {
		return "", nil, usagef("%v", err)
	}
	id, err := adminapi.LoadIdentity(c.identityDir(addr))
	if errors.Is(err, adminapi.ErrNotPaired) {
		return addr, nil, fmt.Errorf("this machine is not paired with %s yet: make a code there with 'provisio console pair NAME', then run 'provisio --connect %s' here to pair.", addr, c.connect)
	}
	return addr, id, err
}

// identityDir is where the pairing with addr is kept: the user's
// configuration directory, or PROVISIO_CONSOLE_DIR (tests).
func (c *cli) identityDir(addr string) string {
	base := os.Getenv("PROVISIO_CONSOLE_DIR")
	if base == "" {
		if d, err := os.UserConfigDir(); err == nil {
			base = d
		} else {
			base = "."
		}
	}
	return adminapi.IdentityDir(base, addr)
}
