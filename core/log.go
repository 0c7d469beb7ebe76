package core

import "time"

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
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Level   Level     `json:"level"`
	User    string    `json:"user,omitempty"`
	Message string    `json:"message"`
}
