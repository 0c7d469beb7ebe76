// Package mailer sends Provisio's mail (provision codes and the console's
// test message) through an SMTP server.
//
// It wraps github.com/emersion/go-smtp for the conversation and
// github.com/emersion/go-message for the MIME structure, and turns every
// failure into a *core.Error carrying a sentence a person can act on ("The
// mail server refused the user name or password.") plus a kind (ErrAuth,
// ErrConnect, ...) so callers can tell a retry from a settings problem
// without reading text. Describe and Temporary are the two questions
// callers ask of an error.
//
// Templates use {placeholders} and Swivel's url4 keyword for the QR code;
// the default provision mail is embedded from templates/.
//
// Worker drains core's durable outbox: Run sends what is due whenever the
// Service announces a change and on a slow poll for back-offs, and Flush
// does one round on demand (the CLI's "reprovision --mail"). SendTest is
// the console's "Send test message", which bypasses the outbox.
//
// Like every adapter, mailer imports core and no other adapter. Its tests
// run against a real go-smtp server from the smtpcapture subpackage, whose
// mailcatcher command (make mailcatcher) shows a person what was sent.
package mailer
