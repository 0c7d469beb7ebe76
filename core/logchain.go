package core

import "errors"

// LogChain is the result of verifying the audit log's MAC chain (issue
// #13; core/store/logchain.go).
type LogChain struct {
	// From is the first entry checked (the one after the checkpoint), Last
	// the newest that verified, Checked how many verified.
	From    uint64 `json:"from"`
	Last    uint64 `json:"last"`
	Checked int    `json:"checked"`
	// Checkpoint is the last entry the trim removed (0: none).
	Checkpoint uint64 `json:"checkpoint"`
	// Head is the newest entry's MAC in hex, to write down or export so a
	// later rewrite of the whole log is noticed.
	Head string `json:"head"`
}

// LogVerifier is implemented by a store that MAC-chains its audit log.
// VerifyLog returns an error naming the first entry that fails.
type LogVerifier interface {
	VerifyLog() (LogChain, error)
}

// ErrLogNotChained is returned by VerifyLog when the store does not chain
// its log (no data key).
var ErrLogNotChained = errors.New("the audit log is not chained: the data file is not encrypted with a data key")

// ErrLogBroken is matched (errors.Is) by a LogVerifier's error when the
// chain does not verify: an entry edited, removed or moved. That error's
// text is a sentence naming the entry.
var ErrLogBroken = errors.New("the audit log does not verify")

// VerifyLog checks the audit log's chain from the trim checkpoint to the
// newest entry. A broken chain is a *Error whose sentence names the first
// entry that fails.
func (s *Service) VerifyLog() (LogChain, error) {
	if s.logVerifier == nil {
		return LogChain{}, ErrLogNotChained
	}
	v, err := s.logVerifier.VerifyLog()
	if errors.Is(err, ErrLogBroken) {
		// Which entry fails is what a person needs, on the Log screen,
		// an attached or remote console and the command line alike;
		// as a foreign error it became "Something went wrong" everywhere
		// but the command line.
		return v, &Error{Code: CodeInternal, Message: err.Error(), Err: err}
	}
	return v, err
}
