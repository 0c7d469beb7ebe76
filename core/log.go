package core

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Level is the severity of an audit log entry.
type Level string

// Log levels.
const (
	LevelInfo  Level = "INFO"
	LevelWarn  Level = "WARN"
	LevelError Level = "ERROR"
)

// LogEntry is one line of the audit log. Messages never hold secrets
// (PINs, codes, OTCs, agent secrets).
type LogEntry struct {
	Seq   uint64    `json:"seq"`
	Time  time.Time `json:"time"`
	Level Level     `json:"level"`
	User  string    `json:"user,omitempty"`
	// Actor is who acted, as Actor.String describes them: "the console",
	// the command line or attached console's description, `agent "vpn"`,
	// `helpdesk agent "desk"`, "a phone at 192.0.2.7", "the server" for
	// the server's own work. It is part of the entry's encoding and so of
	// the log's MAC chain; entries written before it existed have none
	// (omitempty keeps their encoding, and their MACs, as they were).
	Actor   string `json:"actor,omitempty"`
	Message string `json:"message"`
}

// maxEventText bounds an agent's logevent text.
const maxEventText = 256

// LogEvent writes an agent's message to the audit log (logevent). The
// text is made safe for one log line: control characters become spaces,
// invalid UTF-8 is replaced, and it is cut to 256 bytes. level is INFO
// (the default), WARN or ERROR.
func (s *Service) LogEvent(agent Agent, username, level, text string) error {
	s = s.As(AgentActor(agent))
	lv := LevelInfo
	switch strings.ToUpper(strings.TrimSpace(level)) {
	case "", "INFO":
	case "WARN", "WARNING":
		lv = LevelWarn
	case "ERROR":
		lv = LevelError
	default:
		return FieldError("level", "The event level is INFO, WARN or ERROR.")
	}
	text = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(text, "\uFFFD")))
	if len(text) > maxEventText {
		cut := maxEventText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	if text == "" {
		return FieldError("message", "The event has no text.")
	}
	return s.Log(lv, clean(strings.TrimSpace(username)), "Agent %q event: %s", agent.Name, text)
}
