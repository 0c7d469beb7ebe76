package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"provisio/core"
	"provisio/core/adminapi"
)

// The user, settings and agent commands: each works through the admin
// API (withAPI), so it attaches to a running Provisio or opens the data
// directory itself.

// userCommands are "provisio user …".
var userCommands = map[string]command{
	"add": {
		usage: "user add NAME [--email E] [--mobile M] [--pin -] [--group G] [--full-name F]",
		args:  1,
		setup: func(fs *flag.FlagSet) action {
			var u adminapi.NewUser
			fs.StringVar(&u.Email, "email", "", "email address")
			fs.StringVar(&u.Mobile, "mobile", "", "mobile number")
			fs.StringVar(&u.PIN, "pin", "", "- to type the PIN (4-10 digits by policy) without echo or read it from standard input; a PIN written here is refused")
			fs.StringVar(&u.Group, "group", "", "group")
			fs.StringVar(&u.FullName, "full-name", "", "full name")
			return func(c *cli, args []string) error {
				pin, err := c.secretArg(u.PIN, "A PIN", "--pin -", "PIN for "+args[0])
				if err != nil {
					return err
				}
				u.PIN = pin
				return c.withAPI(func(api adminapi.API, _ *env) error {
					u.Name = args[0]
					added, err := api.AddUser(u)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.out, "User %q added.\n", added.Name)
					return nil
				})
			}
		},
	},
	"list": {
		usage: "user list",
		setup: noFlags(func(c *cli, _ []string) error {
			return c.withAPI(func(api adminapi.API, _ *env) error {
				users, err := api.Users()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.out, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "USERNAME\tFULL NAME\tEMAIL\tGROUP\tDEVICE\tSTATE")
				for _, u := range users {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.FullName, u.Email, u.Group,
						deviceState(u), userState(u))
				}
				return tw.Flush()
			})
		}),
	},
	"delete": {
		usage: "user delete NAME",
		args:  1,
		setup: noFlags(func(c *cli, args []string) error {
			return c.withAPI(func(api adminapi.API, _ *env) error {
				if err := api.DeleteUser(args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.out, "User %q deleted.\n", args[0])
				return nil
			})
		}),
	},
}

func deviceState(u adminapi.User) string {
	if u.PendingUntil != nil {
		return "pending code until " + u.PendingUntil.Local().Format("15:04")
	}
	if u.ProvisionedAt != nil {
		s := "provisioned " + u.ProvisionedAt.Local().Format("2006-01-02 15:04")
		if u.DeviceOS != "" {
			s += " (" + u.DeviceOS + ")"
		}
		return s
	}
	return "none"
}

func userState(u adminapi.User) string {
	var s []string
	if u.Locked {
		s = append(s, u.LockText)
	}
	if u.Disabled {
		s = append(s, "disabled")
	}
	if len(s) == 0 {
		return "active"
	}
	return strings.Join(s, ",")
}

var settingsCommands = map[string]command{
	"list": {
		usage: "settings list",
		setup: noFlags(func(c *cli, _ []string) error {
			return c.withAPI(func(api adminapi.API, _ *env) error {
				all, err := api.Settings()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.out, 2, 8, 2, ' ', 0)
				for _, s := range all {
					fmt.Fprintf(tw, "%s\t%s\t# %s\n", s.Key, s.Value, s.Help)
				}
				return tw.Flush()
			})
		}),
	},
	"get": {
		usage: "settings get KEY",
		args:  1,
		setup: noFlags(func(c *cli, args []string) error {
			return c.withAPI(func(api adminapi.API, _ *env) error {
				s, err := api.Setting(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(c.out, s.Value)
				return nil
			})
		}),
	},
	"set": {
		usage: "settings set KEY VALUE|- (- for a secret such as smtp.password)",
		args:  2,
		setup: noFlags(func(c *cli, args []string) error {
			if core.SettingIsSecret(args[0]) {
				v, err := c.secretArg(args[1], "The value of "+args[0], "'settings set "+args[0]+" -'", args[0])
				if err != nil {
					return err
				}
				args = []string{args[0], v}
			}
			return c.withAPI(func(api adminapi.API, e *env) error {
				s, err := api.SetSetting(args[0], args[1])
				if err != nil {
					return err
				}
				fmt.Fprintf(c.out, "%s = %s\n", s.Key, s.Value)
				if other := certPairKey(s.Key); other != "" && s.Value != "" {
					// The files are checked and served once both are set.
					if o, err := api.Setting(other); err == nil && o.Value == "" {
						fmt.Fprintf(c.out, "Now set %s: the files are checked, and served, once both are set.\n", other)
					}
				}
				if e == nil && (s.Key == "server.listen" || s.Key == "server.http_listen") {
					// serve opens its listeners once; the rest applies live.
					fmt.Fprintln(c.out, "The running server keeps its current address until it restarts (sudo systemctl restart provisio, or stop and start serve).")
				}
				return nil
			})
		}),
	},
}

// certPairKey is the other key of the certificate pair for
// server.tls_cert or server.tls_key, "" for any other key.
func certPairKey(key string) string {
	switch key {
	case "server.tls_cert":
		return "server.tls_key"
	case "server.tls_key":
		return "server.tls_cert"
	}
	return ""
}

var agentCommands = map[string]command{
	"add": {
		usage: "agent add NAME --host H --secret - [--group G] [--helpdesk] [--repository]",
		args:  1,
		setup: func(fs *flag.FlagSet) action {
			var a adminapi.NewAgent
			fs.StringVar(&a.Host, "host", "", "IP address, CIDR range or host name the agent connects from")
			fs.StringVar(&a.Secret, "secret", "", "- to type the shared secret (at least 8 characters) without echo or read it from standard input; a secret written here is refused")
			fs.StringVar(&a.Group, "group", core.GroupAny, "group whose members may authenticate (ANY for all)")
			fs.BoolVar(&a.Repository, "repository", false, "admin right: the agent can act as a repository (AdminRequest)")
			fs.BoolVar(&a.Repository, "admin", false, "the same as --repository")
			fs.BoolVar(&a.Helpdesk, "helpdesk", false, "helpdesk right: HelpdeskRequests (set PINs, lock, unlock) and reports")
			return func(c *cli, args []string) error {
				// A flag left out is the command line's mistake (exit
				// 2), said before a secret is asked for; it was the
				// empty value's rule, exit 1.
				switch {
				case a.Host == "":
					return usagef("agent add needs --host H, the IP address, range or host name the agent connects from (usage: provisio agent add NAME --host H --secret -)")
				case a.Secret == "":
					return usagef("agent add needs --secret - to type the shared secret without echo or pipe it on standard input (usage: provisio agent add NAME --host H --secret -)")
				}
				secret, err := c.secretArg(a.Secret, "An agent secret", "--secret -", "secret of agent "+args[0])
				if err != nil {
					return err
				}
				a.Secret = secret
				return c.withAPI(func(api adminapi.API, _ *env) error {
					a.Name = args[0]
					saved, err := api.PutAgent(a)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.out, "Agent %q saved (rights: %s).\n", saved.Name, saved.Rights)
					if _, err := core.ParseAgentHost(saved.Host); err != nil && len(saved.Addresses) == 0 {
						fmt.Fprintf(c.out, "Warning: %s does not resolve now; the agent is refused until it does.\n", saved.Host)
					}
					return nil
				})
			}
		},
	},
	"list": {
		usage: "agent list",
		setup: noFlags(func(c *cli, _ []string) error {
			return c.withAPI(func(api adminapi.API, _ *env) error {
				agents, err := api.Agents()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.out, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tHOST\tADDRESSES\tGROUP\tREPOSITORY\tRIGHTS")
				for _, a := range agents {
					resolved := strings.Join(a.Addresses, ",")
					if resolved == "" {
						resolved = "(does not resolve)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.Host, resolved, a.Group, map[bool]string{true: "Yes", false: "No"}[a.Repository], a.Rights)
				}
				return tw.Flush()
			})
		}),
	},
	"delete": {
		usage: "agent delete NAME",
		args:  1,
		setup: noFlags(func(c *cli, args []string) error {
			return c.withAPI(func(api adminapi.API, _ *env) error {
				if err := api.DeleteAgent(args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.out, "Agent %q deleted.\n", args[0])
				return nil
			})
		}),
	},
}

// terminalQR paints the QR black on white when out is a terminal, so it
// scans on dark terminals too; redirected output stays plain text.
func terminalQR(out io.Writer, qrText string) string {
	f, ok := out.(*os.File)
	if !ok {
		return qrText
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return qrText
	}
	lines := strings.Split(strings.TrimSuffix(qrText, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "\x1b[30;107m" + l + "\x1b[0m"
	}
	return strings.Join(lines, "\n") + "\n"
}
