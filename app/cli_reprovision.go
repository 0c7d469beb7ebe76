package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/mailer"
	"provisio/core/qr"
)

var reprovisionCommand = command{
	usage: "reprovision NAME [--mail] [--oath [--hotp] [--digits 6|8] [--algorithm SHA1|SHA256|SHA512]]",
	args:  1,
	setup: func(fs *flag.FlagSet) action {
		mail := fs.Bool("mail", false, "also send the code, Provision URL and QR to the user by email")
		oath := fs.Bool("oath", false, "issue a token for an authenticator app (OATH) instead: print the otpauth URI, the QR and the confirm-by deadline")
		hotp := fs.Bool("hotp", false, "with --oath: a counter-based (HOTP) token instead of a time-based one")
		digits := fs.Int("digits", 6, "with --oath: digits per code, 6 or 8")
		alg := fs.String("algorithm", "SHA1", "with --oath: SHA1, SHA256 or SHA512")
		return func(c *cli, args []string) error {
			if *oath && c.connect != "" {
				return usagef("reprovision --oath does not work with --connect yet; run it on the server")
			}
			if *oath {
				// The flags' choices are checked before the data is
				// opened, as a mistake in the command line (exit 2).
				if *digits != 6 && *digits != 8 {
					return usagef("--digits takes 6 or 8, not %d", *digits)
				}
				switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(*alg), "-", "")) {
				case core.OATHSHA1, core.OATHSHA256, core.OATHSHA512:
				default:
					return usagef("--algorithm takes SHA1, SHA256 or SHA512, not %q", *alg)
				}
				return c.reprovisionOATH(args[0], *mail, *hotp, *digits, *alg)
			}
			if *hotp || *digits != 6 || *alg != "SHA1" {
				return usagef("--hotp, --digits and --algorithm go with --oath")
			}
			return c.reprovision(args[0], *mail)
		}
	},
}

func (c *cli) reprovision(name string, mail bool) error {
	return c.withAPI(func(api adminapi.API, e *env) error {
		ic, err := api.Reprovision(name, mail)
		if err != nil {
			return err
		}
		code, err := qr.Encode(ic.URL)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.out, "Provision code for %s: %s\nExpires: %s (in %s)\n",
			ic.User, ic.Code, ic.Expires.Local().Format("2006-01-02 15:04:05"),
			time.Until(ic.Expires).Round(time.Second))
		// What the console asks about before the code (ui/reprovision_ask.go):
		// here the code is made already, so it is said.
		if ic.ReplacesDevice {
			fmt.Fprintf(c.out, "%s's current phone stops working once the new one provisions.\n", ic.User)
		}
		if ic.ReplacesApp != "" {
			fmt.Fprintf(c.out, "%s's authenticator app (%s) stops working once the phone provisions.\n", ic.User, strings.ToUpper(ic.ReplacesApp))
		}
		fmt.Fprintf(c.out, "Provision URL: %s\n\n%s", ic.URL, terminalQR(c.out, code.Terminal()))
		switch {
		case mail && e != nil && e.kv == nil:
			c.reportMail(e, ic.MailID)
		case mail && e != nil:
			// On etcd only the elected server sends, so a message is
			// never sent twice (issue #16).
			fmt.Fprintln(c.out, "\nThe message is in the outbox; the Provisio server that leads the site sends it.")
		case mail:
			fmt.Fprintln(c.out, "\nThe message is in the outbox; the running Provisio sends it.")
		}
		return nil
	})
}

// mailWait bounds how long "reprovision --mail" tries to deliver before it
// leaves the message to the next console or server run.
const mailWait = 30 * time.Second

// reportMail tries the outbox once and says what became of the message.
// A failure is not an error of the command: the code exists and the
// message stays queued for a later try.
func (c *cli) reportMail(e *env, id uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), mailWait)
	defer cancel()
	if err := e.mailWorker().Flush(ctx); err != nil {
		fmt.Fprintf(c.out, "\nMail not sent yet: %s\nIt stays in the outbox and is sent when Provisio runs (console or serve).\n", mailer.Describe(err))
		return
	}
	m, err := e.svc.OutMessage(id)
	if err != nil {
		fmt.Fprintf(c.out, "\n%s\n", core.ErrorMessage(err))
		return
	}
	switch m.State {
	case core.MailSent:
		fmt.Fprintf(c.out, "\nMessage sent to %s.\n", m.To)
	case core.MailFailed:
		fmt.Fprintf(c.out, "\nMessage to %s failed: %s\n", m.To, m.LastError)
	default:
		fmt.Fprintf(c.out, "\nMessage to %s not sent yet: %s\nIt stays in the outbox and is sent when Provisio runs (console or serve).\n", m.To, m.LastError)
	}
}
