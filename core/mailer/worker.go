package mailer

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"provisio/core"
)

// DefaultPoll is how often Worker.Run looks at the outbox when no event
// wakes it. It matches the first back-off step, so a retry goes out at
// most one step late.
const DefaultPoll = 30 * time.Second

// Pace is a sending rate: at most Messages connections to the mail server
// in any Per.
type Pace struct {
	Messages int
	Per      time.Duration
}

// DefaultPace is 30 messages a minute, Microsoft 365's limit for a
// mailbox sending through SMTP (it refuses more), and the lowest a
// small office's relay commonly sets: a backlog after an outage goes out
// at that rate instead of as fast as the relay answers.
var DefaultPace = Pace{Messages: 30, Per: time.Minute}

// ErrNotConfigured is what Worker.Flush returns while the mail settings
// lack a server or a From address. Messages wait in the outbox meanwhile
// without using up attempts, and go out once the settings are saved.
var ErrNotConfigured = &core.Error{Code: core.CodeInvalid,
	Message: "Mail is not set up; enter the mail server and the From address in the mail settings."}

// Worker delivers the durable outbox: it takes the due messages from the
// Service, renders them with the templates and sends them through the mail
// settings of the moment, one at a time and oldest first, and records each
// outcome with MailSent or MailFailed, which write the audit log and
// announce the change.
//
// Set the fields before the first Run or Flush and leave them alone
// afterwards. A Worker must not be copied after first use.
type Worker struct {
	// Service owns the outbox and the settings.
	Service *core.Service
	// QRPNG renders text as a PNG QR code for provision messages whose
	// HTML shows url4. Adapters do not import each other, so the app
	// passes one built on core/qr. With nil, such messages fail with the
	// template's sentence.
	QRPNG func(text string) ([]byte, error)
	// Fingerprint returns the fingerprint of the certificate the server
	// presents now, for {fingerprint}; nil leaves it unknown.
	Fingerprint func() string
	// TLSConfig is optional, as Config.TLSConfig; tests pass RootCAs.
	TLSConfig *tls.Config
	// Poll is how often Run looks at the outbox without an event; zero
	// means DefaultPoll.
	Poll time.Duration
	// Pace limits how fast messages leave; zero means DefaultPace.
	Pace Pace
	// ErrorLog receives failures of the outbox itself (a store that cannot
	// be read or written), which have no other way out of Run; nil means
	// log.Default(). Delivery failures do not come here: MailFailed puts
	// them in the audit log.
	ErrorLog *log.Logger

	// mu is held for a whole round, so Run and Flush never send the same
	// message twice.
	mu sync.Mutex
	// unrecorded holds messages the server accepted but the outbox could
	// not mark sent; the next round records them instead of sending again.
	unrecorded map[uint64]bool
	// starts holds when the latest connections to the mail server began,
	// oldest first, for the Pace; at most Pace.Messages of them.
	starts []time.Time
	// waiting is set once the audit log has said that mail waits for
	// settings, so each round does not say it again.
	waiting bool
}

// Run delivers the outbox until ctx is done: at once, then whenever the
// Service announces an outbox or settings change (something queued or
// retried, or mail just set up), and every Poll for back-offs that have
// run out. A send in progress is abandoned when ctx is done, and the
// message stays queued without losing an attempt.
func (w *Worker) Run(ctx context.Context) {
	// Subscribe before the first round, so a message queued while it runs
	// still wakes the next one.
	events, unsubscribe := w.Service.Events().Subscribe()
	wake := make(chan struct{}, 1)
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		// The bus drops events for a subscriber that falls behind, and a
		// round can last as long as a slow server takes; reading here
		// keeps a wake-up from being lost meanwhile. One pending wake-up
		// stands for any number of events.
		for e := range events {
			if e.Kind == core.EventOutboxChanged || e.Kind == core.EventConfigChanged {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
	}()
	defer func() {
		unsubscribe()
		<-forwarded
	}()

	poll := w.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		// Failures are already in the audit log or ErrorLog.
		_ = w.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}

// Flush runs one round now and returns when it is over: every due message
// is tried once, in order, and its outcome recorded in the outbox. If Run
// is in a round, Flush waits for it to end first.
//
// It returns nil when every due message was delivered, or none was due.
// Otherwise the error tells why mail did not go: ErrNotConfigured or a
// settings error while mail is not set up properly (nothing was tried),
// or the failures of the messages that were not sent, which Describe and
// Temporary read (Describe gives the first). A failure of the outbox
// itself is a core.CodeInternal error.
func (w *Worker) Flush(ctx context.Context) error {
	return w.round(ctx)
}

// round is one pass over the due messages.
func (w *Worker) round(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	svc := w.Service
	due, err := svc.DueMail()
	if err != nil {
		return w.outboxFailed("read the outbox", err)
	}
	if len(due) == 0 {
		w.waiting = false
		return nil
	}
	// One snapshot for the round, so every message in it goes the same way.
	set := svc.Settings()
	cfg, err := w.config(set.Mail)
	if err != nil {
		// Not an attempt: the messages did nothing wrong, and they go as
		// soon as someone completes the settings.
		w.noteWaiting(len(due), err)
		return err
	}
	w.waiting = false

	var errs []error
	// down is a failure of the server or the settings rather than of one
	// message. The rest of the round shares its verdict without dialling:
	// with a server that does not answer, each message would otherwise
	// hold the round up for a whole Timeout to learn the same thing.
	var down error
	for _, m := range due {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if w.unrecorded[m.ID] {
			if err := w.recordSent(m.ID); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if down == nil {
			// Before the re-read: the wait can be long, and the message
			// can be discarded or withdrawn meanwhile.
			if err := w.waitTurn(ctx); err != nil {
				// Cut short by our caller: no attempt is charged.
				errs = append(errs, err)
				break
			}
		}
		// The list is as old as the round: re-read the message, so one
		// discarded, withdrawn or expired meanwhile is not sent.
		cur, ok, err := svc.MailStillDue(m.ID)
		if err != nil {
			errs = append(errs, w.outboxFailed(fmt.Sprintf("read message %d", m.ID), err))
			continue
		}
		if !ok {
			continue
		}
		m = cur
		sendErr := down
		if sendErr == nil {
			sendErr = w.send(ctx, cfg, set, m)
			if sendErr != nil && ctx.Err() != nil {
				// Cut short by our caller, not judged by the server: no
				// attempt is charged, and the next round tries again.
				errs = append(errs, sendErr)
				break
			}
			if sendErr != nil {
				errs = append(errs, sendErr)
				if serverWide(sendErr) {
					down = sendErr
				}
			}
		}
		if sendErr == nil {
			err = w.recordSent(m.ID)
		} else if err = svc.MailFailed(m.ID, Describe(sendErr), Temporary(sendErr)); err != nil {
			err = w.outboxFailed(fmt.Sprintf("record the failure of message %d", m.ID), err)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// config is the Config for the stored settings, or why there is none.
func (w *Worker) config(ms core.MailSettings) (Config, error) {
	if !ms.Configured() {
		return Config{}, ErrNotConfigured
	}
	cfg := ConfigFrom(ms)
	cfg.TLSConfig = w.TLSConfig
	if _, err := cfg.normalize(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// send renders m and sends it.
func (w *Worker) send(ctx context.Context, cfg Config, set core.Settings, m core.OutMessage) error {
	msg, err := w.render(set, m)
	if err != nil {
		return err
	}
	msg.ID = messageID(m)
	w.starts = append(w.starts, time.Now())
	return Send(ctx, cfg, msg)
}

// waitTurn returns once a connection to the mail server keeps within the
// Pace, or with ctx's error. Every attempt counts, failed ones too: a
// relay counts connections and messages, not successes.
func (w *Worker) waitTurn(ctx context.Context) error {
	p := w.Pace
	if p.Messages <= 0 || p.Per <= 0 {
		p = DefaultPace
	}
	for {
		now := time.Now()
		// Forget the starts that have left the window.
		i := 0
		for i < len(w.starts) && now.Sub(w.starts[i]) >= p.Per {
			i++
		}
		w.starts = w.starts[i:]
		if len(w.starts) < p.Messages {
			return nil
		}
		t := time.NewTimer(w.starts[0].Add(p.Per).Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// messageID is the left part of the Message-ID of an outbox message: the
// same for every attempt, so a copy sent again after a crash between the
// server's 250 and MailSent (or after a connection dropped before the
// 250) is recognisably the same message. It is a hash of the message's
// number and creation time, so it tells a reader neither how many mails
// the outbox has sent nor anything else, and a data file started afresh
// (numbers from 1 again) never repeats an earlier file's ID.
func messageID(m core.OutMessage) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "provisio outbox %d %d", m.ID, m.Created.UnixNano()))
	return "provisio." + hex.EncodeToString(sum[:16])
}

// render turns an outbox message into a Message.
func (w *Worker) render(set core.Settings, m core.OutMessage) (Message, error) {
	switch m.Kind {
	case core.MailPlain:
		return Message{To: m.To, ToName: m.FullName, Subject: m.Subject, Text: m.Text}, nil
	case core.MailProvision:
		t := TemplateFrom(set.ProvisionTemplate)
		v := Vars{
			Username:  m.User,
			FullName:  m.FullName,
			Email:     m.To,
			Code:      m.Code,
			URL:       m.URL,
			Expires:   m.Expires,
			QRCodeURL: set.SelfReset.QRCodeURL,
		}
		if w.Fingerprint != nil {
			v.Fingerprint = w.Fingerprint()
		}
		// The image is attached only when the HTML shows it and no QR
		// Code URL serves it instead.
		if v.QRCodeURL == "" && w.QRPNG != nil && strings.Contains(t.HTML, QRKeyword) {
			png, err := w.QRPNG(m.URL)
			if err != nil {
				// The cause may quote the URL, which holds the code; the
				// sentence that reaches the audit log must not.
				return Message{}, &core.Error{Code: core.CodeInternal,
					Message: "Provisio could not make the QR code image for the mail.", Err: err}
			}
			v.QRPNG = png
		}
		return Render(t, v)
	}
	return Message{}, invalid("kind", "Provisio cannot send an outbox message of kind %q.", m.Kind)
}

// recordSent marks a delivered message sent, or remembers that it still
// has to be, so that it is not delivered twice.
func (w *Worker) recordSent(id uint64) error {
	if err := w.Service.MailSent(id); err != nil {
		if core.ErrorCode(err) == core.CodeNotFound {
			// Discarded while it was being sent: nothing left to record.
			delete(w.unrecorded, id)
			return nil
		}
		if w.unrecorded == nil {
			w.unrecorded = map[uint64]bool{}
		}
		w.unrecorded[id] = true
		return w.outboxFailed(fmt.Sprintf("record the delivery of message %d", id), err)
	}
	delete(w.unrecorded, id)
	return nil
}

// serverWide reports whether err is about the server or the settings, so
// that the next message would fail the same way, rather than about one
// message (its recipient, its content).
func serverWide(err error) bool {
	for _, kind := range []error{ErrConnect, ErrTimeout, ErrTLS, ErrAuth, ErrSender, ErrServer} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}

// noteWaiting tells the audit log, once per spell, that mail is waiting
// for settings; a line every round would bury everything else.
func (w *Worker) noteWaiting(n int, why error) {
	if w.waiting {
		return
	}
	w.waiting = true
	what := "1 message"
	if n != 1 {
		what = fmt.Sprintf("%d messages", n)
	}
	if err := w.Service.Log(core.LevelWarn, "", "Mail not sent, %s waiting in the outbox: %s", what, Describe(why)); err != nil {
		w.logf("mailer: write the audit log: %v", err)
	}
}

// outboxFailed logs a store failure, which Run has no other way to report,
// and returns it in words for Flush's caller.
func (w *Worker) outboxFailed(what string, err error) error {
	w.logf("mailer: could not %s: %v", what, err)
	return &core.Error{Code: core.CodeInternal,
		Message: "Provisio could not " + what + "; the log has the details.", Err: err}
}

func (w *Worker) logf(format string, args ...any) {
	l := w.ErrorLog
	if l == nil {
		l = log.Default()
	}
	l.Printf(format, args...)
}
