package main

import (
	"fmt"
	"time"

	"provisio/core"
	"provisio/core/qr"
)

// reprovisionOATH is "reprovision NAME --oath": it issues a pending OATH
// token and prints the otpauth:// URI, the QR in terminal blocks, the
// secret in groups of four and the deadline by which one code from the
// app must confirm it (a first login does). With --mail the user gets
// the usual single-use Provision URL instead, whose page reveals the QR
// once: the secret never goes into a message.
func (c *cli) reprovisionOATH(name string, mail, hotp bool, digits int, alg string) error {
	opt := core.OATHOptions{Kind: core.OATHTOTP, Digits: digits, Algorithm: alg}
	if hotp {
		opt.Kind = core.OATHHOTP
	}
	return c.withEnv(func(e *env) error {
		if mail {
			ic, err := e.svc.MailOATHProvisionCode(name, opt)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "Authenticator set-up link for %s queued by email.\nExpires: %s (in %s)\n"+
				"Opening it shows the authenticator QR code once; the secret is not in the message.\n",
				ic.User, ic.Expires.Local().Format("2006-01-02 15:04:05"), ic.Expires.Sub(e.svc.Now()).Round(time.Second))
			c.reportMail(e, ic.MailID)
			return nil
		}
		is, err := e.svc.IssueOATH(name, opt)
		if err != nil {
			return err
		}
		code, err := qr.Encode(is.URI)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.out, "OATH token for %s (%s, %s, %d digits)\notpauth URI: %s\nSecret: %s\n"+
			"Confirm by: %s (in %s): the user's first login with a code from the app confirms it;\n"+
			"until then their current device keeps working, and after it the token is wiped.\n\n%s",
			is.User, kindLabel(is.Options.Kind), is.Options.Algorithm, is.Options.Digits, is.URI, is.SecretText,
			is.Expires.Local().Format("2006-01-02 15:04:05"), is.Expires.Sub(e.svc.Now()).Round(time.Second),
			terminalQR(c.out, code.Terminal()))
		return nil
	})
}

func kindLabel(kind string) string {
	if kind == core.OATHHOTP {
		return "HOTP, counter-based"
	}
	return "TOTP, time-based"
}
