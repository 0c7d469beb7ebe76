package main

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"provisio/core"
	"provisio/core/adminapi"
)

// profileCommands are "provisio profile …" (#14, docs/decisions.md
// "Provisioning profiles (#14)"). Each is written once against
// core.ConsoleAPI (withConsole): on the data directory when nothing holds
// it, attached to the Provisio that does, or with --connect on a paired
// console's server, where its role decides (a helpdesk reads the profiles
// and assigns one to a user; changing them is an administrator's).
var profileCommands = map[string]command{
	"list": {
		usage: "profile list",
		setup: noFlags(func(c *cli, _ []string) error {
			return c.withConsole(func(api core.ConsoleAPI) error {
				all, err := api.Profiles()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.out, 2, 8, 2, ' ', 0)
				// The form's and `profile show`'s name for the field (seed).
				fmt.Fprintln(tw, "PROFILE\t"+strings.ToUpper(core.ProfileKeyLabel("support_email"))+"\tGROUPS\tUSERS")
				for _, p := range all {
					n, err := api.ProfileImpact(p.Name)
					if err != nil {
						return err
					}
					groups := strings.Join(p.Groups, ", ")
					if p.IsDefault() {
						groups = "(everyone else)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", p.Name, dash(p.SupportEmail), dash(groups), n)
				}
				return tw.Flush()
			})
		}),
	},
	"show": {
		usage: "profile show NAME",
		args:  1,
		setup: noFlags(func(c *cli, args []string) error {
			return c.withConsole(func(api core.ConsoleAPI) error {
				p, err := api.Profile(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(c.out, "Profile: %s\n", p.Name)
				if len(p.Groups) > 0 {
					fmt.Fprintf(c.out, "Default of groups: %s\n", strings.Join(p.Groups, ", "))
				}
				fmt.Fprintln(c.out)
				tw := tabwriter.NewWriter(c.out, 2, 8, 2, ' ', 0)
				for _, k := range core.ProfileKeys() {
					v, _ := p.Get(k)
					fmt.Fprintf(tw, "%s\t%s\t# %s\n", k, v, core.ProfileKeyLabel(k))
				}
				return tw.Flush()
			})
		}),
	},
	"add": {
		usage: "profile add NAME --email E",
		args:  1,
		setup: func(fs *flag.FlagSet) action {
			email := fs.String("email", "", "customer-service email (mandatory)")
			return func(c *cli, args []string) error {
				// A flag left out is the command line's mistake (exit
				// 2), said before anything is read.
				if *email == "" {
					return usagef("profile add needs --email E, the customer-service email every profile must have, so phone users can reach support (usage: provisio profile add NAME --email E)")
				}
				return c.withConsole(func(api core.ConsoleAPI) error {
					// A new profile starts from the Default's values.
					def, err := api.Profile(core.DefaultProfileName)
					if err != nil {
						return err
					}
					p := core.Profile{Name: args[0], ClientPolicies: def.ClientPolicies}
					p.SupportEmail = *email
					if err := api.AddProfile(p); err != nil {
						return err
					}
					fmt.Fprintf(c.out, "Profile %s created from the Default profile's values; 'provisio profile set %s KEY VALUE' changes them.\n", p.Name, p.Name)
					return nil
				})
			}
		},
	},
	"set": {
		usage: "profile set NAME KEY VALUE",
		args:  3,
		setup: noFlags(func(c *cli, args []string) error {
			return c.withConsole(func(api core.ConsoleAPI) error {
				// Only this key changes, on the profile as stored at
				// the save, by the profile's own rules: a bad key or
				// value is refused before anything is saved.
				if err := api.ChangeProfile(args[0], map[string]string{args[1]: args[2]}); err != nil {
					return err
				}
				n, err := api.ProfileImpact(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(c.out, "Saved. This affects %s, at each phone's next provision or string download.\n", core.Plural(n, "user", "users"))
				return nil
			})
		}),
	},
	"delete": {
		usage: "profile delete NAME [--reassign OTHER]",
		args:  1,
		setup: func(fs *flag.FlagSet) action {
			to := fs.String("reassign", "", "move the groups and users still on this profile to OTHER (Default returns them to it)")
			return func(c *cli, args []string) error {
				return c.withConsole(func(api core.ConsoleAPI) error {
					if err := api.DeleteProfile(args[0], *to); err != nil {
						if *to == "" && core.ErrorCode(err) == core.CodeConflict {
							return reassignAdvice(err)
						}
						return err
					}
					fmt.Fprintf(c.out, "Profile %s deleted.\n", args[0])
					return nil
				})
			}
		},
	},
	"assign": {
		usage: "profile assign NAME --group G | --user U   (NAME none: the user's own profile is removed)",
		args:  1,
		setup: func(fs *flag.FlagSet) action {
			group := fs.String("group", "", "make NAME the default of group G")
			user := fs.String("user", "", "give user U the profile NAME, overriding their group's")
			return func(c *cli, args []string) error {
				if (*group == "") == (*user == "") {
					return usagef("give exactly one of --group G or --user U (usage: provisio profile assign NAME --group G | --user U)")
				}
				name := args[0]
				if strings.EqualFold(name, "none") {
					name = ""
				}
				if *user != "" {
					// Through the helpdesk's admin API (#14, the
					// helpdesk may assign to a user), which answers
					// where the user's profile now comes from.
					return c.withAPI(func(api adminapi.API, _ *env) error {
						up, err := api.AssignProfile(*user, name)
						if err != nil {
							return err
						}
						fmt.Fprintf(c.out, "User %s now uses profile %s (%s).\n", up.User, up.Profile, up.Source)
						return nil
					})
				}
				return c.withConsole(func(api core.ConsoleAPI) error {
					if err := api.AssignProfileToGroup(name, *group); err != nil {
						return err
					}
					fmt.Fprintf(c.out, "Group %s now uses profile %s.\n", *group, nonEmpty(name, core.DefaultProfileName))
					return nil
				})
			}
		},
	},
	"effective": {
		usage: "profile effective USER",
		args:  1,
		setup: noFlags(func(c *cli, args []string) error {
			return c.withConsole(func(api core.ConsoleAPI) error {
				u, err := api.User(args[0])
				if err != nil {
					return err
				}
				eff, err := api.EffectiveProfileFor(u)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.out, "User %s: profile %s (%s)\n\n", args[0], eff.Profile.Name, eff.Source)
				fmt.Fprint(c.out, eff.String())
				return nil
			})
		}),
	},
}

// reassignAdvice is the refusal to delete a profile still assigned, with
// the console's advice (core.ProfileReassignAdvice; an attached command
// gets it back from the admin API's client) replaced by the flag that does it here; a server
// whose sentence ends otherwise gets the flag said after it.
func reassignAdvice(err error) error {
	msg := core.ErrorMessage(err)
	const flag = "add --reassign OTHER to the command to move them to profile OTHER."
	if head, ok := strings.CutSuffix(msg, core.ProfileReassignAdvice); ok {
		msg = head + flag
	} else {
		msg += " Add" + strings.TrimPrefix(flag, "add")
	}
	return &core.Error{Code: core.CodeConflict, Message: msg}
}

func dash(s string) string { return nonEmpty(s, "-") }

func nonEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
