package store

import (
	"errors"
	"fmt"
	"strconv"
)

// FormatVersion is the data format this build reads and writes: the
// number setup keeps in config/"format" (schema.go).
//
// Raise it with any change to the records that an older build would
// misread rather than reject: a record whose meaning changes, a value
// that moves elsewhere (as login state moved to logins), a new encoding
// of an existing record, a bucket whose absence an older build would take
// for "nothing there". A purely additive record that older builds ignore
// does not need a new number. With the raise, add the migration that
// brings a lower-numbered store up to it, in setup's transaction.
const FormatVersion = 1

// keyFormat in config holds the data format number of the store, in
// decimal ASCII (schema.go). A store without it was last opened by a
// build from before format numbers; setup's migrations (migrateLogins)
// bring any such store to format 1.
var keyFormat = []byte("format")

// ErrNewerFormat is what a *FormatError matches with errors.Is: the store
// was written by a newer Provisio, whose layout this build could misread.
var ErrNewerFormat = errors.New("the data was written by a newer Provisio")

// FormatError is Open's and OpenBackend's refusal of a store whose data
// format is newer than FormatVersion. Nothing was read past the format
// number and nothing was written. Its message is one sentence that says
// what to do.
type FormatError struct {
	// Found is the store's format number; Supported is FormatVersion.
	Found, Supported int
	// Where is the data file's path or the etcd site's address.
	Where string
	// Value is the stored value when it is not a format number at all
	// (Found is then 0): no build up to this one writes anything but a
	// plain number, so a newer one (or damage) put it there.
	Value string
}

// Error is the sentence a refusal gives: the format found, the one this
// build reads, and what to do.
func (e *FormatError) Error() string {
	found := fmt.Sprintf("data format %d", e.Found)
	if e.Found <= 0 {
		found = fmt.Sprintf("data format %q, which this version cannot read", e.Value)
	}
	return fmt.Sprintf("%s was written by a newer Provisio (%s); this one reads data format %d and older. Run the newer Provisio, or restore a backup made by this version.", e.Where, found, e.Supported)
}

// Is makes errors.Is(err, ErrNewerFormat) true for a *FormatError.
func (e *FormatError) Is(target error) bool { return target == ErrNewerFormat }

// parseFormat reads a stored format number: 0 for a missing value (a
// store from before format numbers), ok false for a value that is not a
// plain positive decimal number.
func parseFormat(v []byte) (n int, ok bool) {
	if v == nil {
		return 0, true
	}
	n, err := strconv.Atoi(string(v))
	// Atoi takes "+1" and "01"; this build never writes them, so they
	// come from something else.
	if err != nil || n < 1 || strconv.Itoa(n) != string(v) {
		return 0, false
	}
	return n, true
}

// checkFormat refuses a store whose format number is newer than this
// build's, or not a number at all, before anything else of it is read
// or written. It returns the store's number (0: none recorded).
func checkFormat(tx KVTx, where string) (int, error) {
	v := tx.Bucket(bucketConfig).Get(keyFormat)
	n, ok := parseFormat(v)
	if !ok {
		return 0, &FormatError{Supported: FormatVersion, Where: where, Value: string(v)}
	}
	if n > FormatVersion {
		return n, &FormatError{Found: n, Supported: FormatVersion, Where: where}
	}
	return n, nil
}

// writeFormat records FormatVersion when the store holds a lower number
// or none (found, from checkFormat); it runs after the migrations that
// bring the store up to it, in the same transaction.
func writeFormat(tx KVTx, found int) error {
	if found == FormatVersion {
		return nil
	}
	return tx.Bucket(bucketConfig).Put(keyFormat, []byte(strconv.Itoa(FormatVersion)))
}

// Format returns the data format number the store holds (FormatVersion
// once it is open).
func (s *Store) Format() (n int, err error) {
	err = s.view(func(tx KVTx) error {
		var ok bool
		v := tx.Bucket(bucketConfig).Get(keyFormat)
		if n, ok = parseFormat(v); !ok {
			return fmt.Errorf("config/%s holds %q, not a format number", keyFormat, v)
		}
		return nil
	})
	return n, err
}
