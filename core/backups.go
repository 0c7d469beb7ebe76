package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Backups (#13): an encrypted copy of the data file, its key and the
// certificate, taken from one read transaction while logins go on. The
// archive and its encryption (age) are an adapter's (core/backup); the
// service decides when, where and what is logged, through BackupWriter,
// which the composition root wires (SetBackupWriter).

// Defaults of the backup settings.
const (
	DefaultBackupTime = "02:30"
	DefaultBackupKeep = 14
)

// BackupCheckEvery is how often RunScheduledBackups looks at the clock.
const BackupCheckEvery = 20 * time.Second

// BackupSettings is the schedule of backups into a folder: every day at
// Time (HH:MM, local time), the newest Keep files kept, encrypted to
// Recipient or with the passphrase in PassphraseFile. The passphrase
// itself is never stored in the data file.
type BackupSettings struct {
	// Folder is where the backups go; "" turns scheduled backups off.
	Folder         string `json:"folder"`
	Time           string `json:"time"`
	Keep           int    `json:"keep"`
	Recipient      string `json:"recipient"`
	PassphraseFile string `json:"passphrase_file"`
}

// Encryption is how the settings say backups are encrypted.
func (b BackupSettings) Encryption() BackupEncryption {
	return BackupEncryption{Recipient: b.Recipient, PassphraseFile: b.PassphraseFile}
}

// BackupResult is the outcome of one backup into the folder.
type BackupResult struct {
	At time.Time `json:"at"`
	OK bool      `json:"ok"`
	// File is the backup written, when OK.
	File string `json:"file,omitempty"`
	// Error is why it failed, one sentence.
	Error string `json:"error,omitempty"`
	// Scheduled: taken by the schedule; false: by "Back up now".
	Scheduled bool `json:"scheduled"`
	// StoreDown: it failed because the store did not answer (etcd
	// without a quorum), not for anything in the backup settings.
	StoreDown bool `json:"store_down,omitempty"`
}

// BackupState is what the service records about backups into the folder.
type BackupState struct {
	Last BackupResult `json:"last"`
	// LastScheduled is when the schedule last ran, whatever the outcome,
	// or when backups were turned on (a folder set where there was none),
	// so a restart neither repeats nor skips a day, and turning backups
	// on waits for the time set.
	LastScheduled time.Time `json:"last_scheduled"`
}

// BackupEncryption is how one backup is encrypted: to an age recipient,
// or with a passphrase, given (an online backup's request body) or read
// from a file (scheduled backups). Exactly one is set. The passphrase is
// never logged.
type BackupEncryption struct {
	Recipient      string `json:"recipient,omitempty"`
	Passphrase     string `json:"passphrase,omitempty"`
	PassphraseFile string `json:"-"`
}

// BackupSummary describes a backup just written.
type BackupSummary struct {
	// Users is the number of users in it.
	Users int `json:"users"`
	// LogLast is its newest audit log entry.
	LogLast uint64 `json:"log_last"`
}

// BackupWriter writes backups of the data directory the service runs on.
type BackupWriter interface {
	// WriteBackup writes a consistent copy (one read transaction),
	// encrypted as enc says, to w.
	WriteBackup(w io.Writer, enc BackupEncryption) (BackupSummary, error)
	// CheckEncryption says in a sentence (a *Error) why enc cannot
	// encrypt a backup: a recipient that does not parse, a passphrase
	// file that cannot be read or holds too short a passphrase.
	CheckEncryption(enc BackupEncryption) error
}

// SetBackupWriter wires the backup writer; without one, backups are
// refused with a sentence.
func (s *Service) SetBackupWriter(w BackupWriter) {
	s.backupMu.Lock()
	s.backupWriter = w
	s.backupMu.Unlock()
}

func (s *Service) backups() BackupWriter {
	s.backupMu.Lock()
	defer s.backupMu.Unlock()
	return s.backupWriter
}

var errNoBackups = Errorf(CodeInternal, "This Provisio cannot take backups (no backup writer is wired).")

// Backup writes an encrypted backup to w (the command line's file, or an
// online backup's answer over the admin socket) and logs it: dest says
// where it went, for the log line.
func (s *Service) Backup(w io.Writer, enc BackupEncryption, dest string) (BackupSummary, error) {
	bw := s.backups()
	if bw == nil {
		return BackupSummary{}, errNoBackups
	}
	if enc.Recipient == "" && enc.Passphrase == "" && enc.PassphraseFile == "" {
		return BackupSummary{}, FieldError("passphrase", "A backup needs a passphrase or an age recipient to encrypt it.")
	}
	// A refused request (too short a passphrase, a recipient that does
	// not parse) is answered and not logged, as every refused admin
	// change is; only a backup that was tried and failed is in the log.
	if err := bw.CheckEncryption(enc); err != nil {
		return BackupSummary{}, err
	}
	sum, err := bw.WriteBackup(w, enc)
	if err != nil {
		_ = s.Log(LevelError, "", "Backup %s failed: %s", dest, backupErrorText(err))
		return sum, err
	}
	_ = s.Log(LevelInfo, "", "Backup of %s (log up to #%d) written %s.", Plural(sum.Users, "user", "users"), sum.LogLast, dest)
	return sum, nil
}

// backupFailure is why a backup into the folder failed: a sentence for
// the console and the status bar, and the detail, for the audit log only.
// A refusal of core's own is its sentence; a full disk says so; any other
// system error (its text names temporary files and system calls, such as
// "write /…/.provisio-….tmp: input/output error") gets a general sentence.
func backupFailure(err error) (sentence, detail string) {
	var ce *Error
	switch {
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		return "The backup could not be written: the disk is full.", err.Error()
	case errors.As(err, &ce):
		if ce.Err != nil {
			detail = ce.Err.Error()
		}
		return strings.TrimSuffix(ce.Message, ".") + ".", detail
	}
	return "The backup could not be written; the log has the details.", err.Error()
}

// backupErrorText is err as one sentence without a final full stop.
func backupErrorText(err error) string {
	var ce *Error
	msg := err.Error()
	if errors.As(err, &ce) {
		msg = ce.Message
	}
	return strings.TrimSuffix(msg, ".")
}

// CheckBackupFolder says in a sentence why dir cannot take backups: not
// a full path, missing, not a folder, or not writable (tried by writing
// a file there and removing it).
func CheckBackupFolder(dir string) error {
	const field = "backup.folder"
	if !filepath.IsAbs(dir) {
		return FieldError(field, "Enter the full path of the backup folder, such as /var/backups/provisio.")
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return FieldError(field, "The backup folder %s does not exist; create it first.", dir)
	case err != nil:
		return FieldError(field, "The backup folder %s cannot be read: %v.", dir, unwrapPathError(err))
	case !fi.IsDir():
		return FieldError(field, "%s is a file, not a folder.", dir)
	}
	f, err := os.CreateTemp(dir, ".provisio-write-test-*")
	if err != nil {
		return FieldError(field, "Provisio cannot write to the backup folder %s: %v.", dir, unwrapPathError(err))
	}
	name := f.Name()
	f.Close()
	_ = os.Remove(name)
	return nil
}

// unwrapPathError drops the path an *fs.PathError repeats.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckBackupSettings checks what Settings.Validate cannot: the folder
// exists and is writable, the recipient parses, the passphrase file
// reads. Each error is a FieldError naming the setting. Empty values are
// not checked; a folder without any encryption is refused.
func (s *Service) CheckBackupSettings(b BackupSettings) error {
	if b.Folder == "" {
		return nil
	}
	if err := CheckBackupFolder(b.Folder); err != nil {
		return err
	}
	if b.Recipient == "" && b.PassphraseFile == "" {
		return FieldError("backup.recipient", "Scheduled backups must be encrypted: enter an age recipient (age1…) or a passphrase file.")
	}
	return s.checkBackupEncryption(b)
}

func (s *Service) checkBackupEncryption(b BackupSettings) error {
	bw := s.backups()
	if bw == nil || (b.Recipient == "" && b.PassphraseFile == "") {
		return nil
	}
	if err := bw.CheckEncryption(b.Encryption()); err != nil {
		field := "backup.recipient"
		if b.PassphraseFile != "" {
			field = "backup.passphrase_file"
		}
		return FieldError(field, "%s.", backupErrorText(err))
	}
	return nil
}

// checkBackupChange runs the checks of CheckBackupSettings on the
// backup settings that changed from old, so a folder that vanished
// later never blocks saving other settings.
func (s *Service) checkBackupChange(old, b BackupSettings) error {
	if b.Folder != "" && b.Folder != old.Folder {
		if err := CheckBackupFolder(b.Folder); err != nil {
			return err
		}
	}
	if b.Recipient != old.Recipient || b.PassphraseFile != old.PassphraseFile {
		return s.checkBackupEncryption(b)
	}
	return nil
}

// BackupFilePrefix and BackupFileExt frame the dated names of backups in
// the folder: provisio-20060102-150405.age, in local time.
const (
	BackupFilePrefix = "provisio-"
	BackupFileExt    = ".age"
)

var backupFileName = regexp.MustCompile(`^provisio-\d{8}-\d{6}\.age$`)

// unfinishedBackupName is the temporary file writeFileAtomic writes a
// dated backup into before renaming it.
var unfinishedBackupName = regexp.MustCompile(`^\.provisio-\d{8}-\d{6}\.age\.\d+\.tmp$`)

// clearUnfinishedBackups removes from folder the temporary files of
// backups whose process was killed before the rename (kill -9, a power
// cut): partial copies, of no use, that nothing else would ever remove.
// A file a running backup holds (HoldWhileWriting), here or on another
// server of the site, is left alone. It returns the names removed.
func clearUnfinishedBackups(folder string) []string {
	es, err := os.ReadDir(folder)
	if err != nil {
		return nil // the backup itself says why the folder cannot be used
	}
	var removed []string
	for _, e := range es {
		if !e.Type().IsRegular() || !unfinishedBackupName.MatchString(e.Name()) {
			continue
		}
		if ok, _ := RemoveIfAbandoned(filepath.Join(folder, e.Name())); ok {
			removed = append(removed, e.Name())
		}
	}
	return removed
}

// unfinishedSentence says what clearUnfinishedBackups removed.
func unfinishedSentence(folder string, removed []string) string {
	if len(removed) == 1 {
		return fmt.Sprintf("An earlier backup into %s was interrupted before it finished; its unfinished file %s was removed.", folder, removed[0])
	}
	return fmt.Sprintf("Earlier backups into %s were interrupted before they finished; their unfinished files %s were removed.", folder, strings.Join(removed, ", "))
}

// BackupState returns the outcome of the last backup into the folder.
func (s *Service) BackupState() BackupState { return s.Settings().BackupState }

// BackupNow writes a backup into the backup folder now, keeps the newest
// backup.keep files, and records and logs the outcome; scheduled says
// whether the schedule took it. A failure is also a health problem (the
// console's status bar, serve's stderr) until a backup succeeds.
func (s *Service) BackupNow(scheduled bool) BackupResult {
	b := s.Settings().Backup
	now := s.clock.Now()
	res := BackupResult{At: now, Scheduled: scheduled}
	if b.Folder == "" {
		// Nothing is configured, so nothing failed: not recorded.
		res.Error = "No backup folder is set."
		return res
	}
	var sum BackupSummary
	var removed int
	path, err := func() (string, error) {
		bw := s.backups()
		if bw == nil {
			return "", errNoBackups
		}
		if err := s.CheckBackupSettings(b); err != nil {
			return "", err
		}
		if removed := clearUnfinishedBackups(b.Folder); len(removed) > 0 {
			_ = s.Log(LevelWarn, "", "%s", unfinishedSentence(b.Folder, removed))
		}
		path := filepath.Join(b.Folder, BackupFilePrefix+now.Local().Format("20060102-150405")+BackupFileExt)
		var err error
		sum, err = writeFileAtomic(path, func(w io.Writer) (BackupSummary, error) { return bw.WriteBackup(w, b.Encryption()) })
		if err != nil {
			return "", err
		}
		removed, err = pruneBackups(b.Folder, b.Keep, filepath.Base(path))
		if err != nil {
			// The new backup is there; only the clean-up failed.
			return path, &Error{Code: CodeInternal, Err: unwrapPathError(err),
				Message: fmt.Sprintf("The backup %s was written, but older backups could not be deleted.", path)}
		}
		return path, nil
	}()
	what := "Backup"
	if scheduled {
		what = "Scheduled backup"
	}
	var msg string
	level := LevelInfo
	if err != nil {
		var detail string
		res.Error, detail = backupFailure(err)
		if errors.Is(err, ErrStoreUnreachable) {
			// The store's own sentence says "nothing was changed",
			// which is not the point of a backup.
			res.StoreDown = true
			res.Error = "The etcd cluster did not answer while the backup was being read, so none was written."
		}
		level = LevelError
		msg = fmt.Sprintf("%s failed: %s", what, res.Error)
		if detail != "" {
			msg += " (" + detail + ")"
		}
	} else {
		res.OK, res.File = true, path
		msg = fmt.Sprintf("%s written to %s (%s, log up to #%d)", what, path, Plural(sum.Users, "user", "users"), sum.LogLast)
		if removed > 0 {
			msg += fmt.Sprintf("; %d older removed, %d kept", removed, b.Keep)
		}
		msg += "."
	}
	s.recordBackup(res, level, msg)
	return res
}

// writeFileAtomic writes path through a temporary file in its folder,
// synced and renamed, so a failure never leaves a half file under the
// name.
func writeFileAtomic(path string, write func(io.Writer) (BackupSummary, error)) (BackupSummary, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return BackupSummary{}, err
	}
	HoldWhileWriting(tmp)
	defer os.Remove(tmp.Name())
	sum, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		if d, derr := os.Open(filepath.Dir(path)); derr == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	return sum, err
}

// pruneBackups deletes all but the newest keep dated backups in dir and
// returns how many it deleted; written, the backup just written, is one
// of those kept whatever its name says. Other files are left alone,
// among them a file named like a backup that is not an age file (a
// person's own, named by date). Newest is by name: a backup dated
// later than written (the clock was ahead once) is kept in its place,
// but never instead of written, which would otherwise be deleted the
// moment it was made, every day, with keep 1.
func pruneBackups(dir string, keep int, written string) (int, error) {
	if keep < 1 {
		keep = 1
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && e.Name() != written && backupFileName.MatchString(e.Name()) && isAgeFile(filepath.Join(dir, e.Name())) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // dated names sort oldest first
	// written is one of the keep.
	keep--
	n := 0
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return n, err
		}
		names = names[1:]
		n++
	}
	return n, nil
}

// ageIntro is how every age-encrypted file, and so every backup, starts
// (core/backup's AgeIntro; core does not import the adapter).
const ageIntro = "age-encryption.org/v1\n"

// isAgeFile reports whether the file at path starts as an age file.
func isAgeFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(ageIntro))
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == ageIntro
}

// recordBackup stores res and its log line in one transaction and shows
// a failure as a health problem until a backup succeeds.
func (s *Service) recordBackup(res BackupResult, level Level, msg string) {
	s.cfgWrite.Lock() // see saveSettings
	var set Settings
	err := s.update(false, func(tx Tx, log *logger) error {
		var err error
		if set, err = tx.Settings(); err != nil {
			return err
		}
		set.BackupState.Last = res
		if res.Scheduled {
			set.BackupState.LastScheduled = res.At
		}
		if err := tx.PutSettings(set); err != nil {
			return err
		}
		return log.add(level, "", "%s", msg)
	})
	if err == nil {
		s.cfgMu.Lock()
		cfg := *s.config.Load()
		cfg.Settings.BackupState = set.BackupState
		s.config.Store(&cfg)
		s.cfgMu.Unlock()
	}
	s.cfgWrite.Unlock()
	s.showBackupHealth(res)
	s.bus.Publish(Event{Kind: EventConfigChanged, At: s.clock.Now()})
}

// showBackupHealth makes a failed backup a health problem.
func (s *Service) showBackupHealth(res BackupResult) {
	s.setHealth(func(h *Health) {
		h.BackupError, h.BackupStoreDown = "", false
		if !res.OK && !res.At.IsZero() {
			h.BackupError, h.BackupStoreDown = res.Error, res.StoreDown
		}
	})
}

// backupSlot is the newest scheduled time at or before now: today at
// b.Time in now's location, or yesterday's when that is still to come.
func backupSlot(b BackupSettings, now time.Time) (time.Time, bool) {
	t, err := time.Parse("15:04", b.Time)
	if err != nil {
		return time.Time{}, false
	}
	slot := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, now.Location())
	if slot.After(now) {
		slot = time.Date(now.Year(), now.Month(), now.Day()-1, t.Hour(), t.Minute(), 0, 0, now.Location())
	}
	return slot, true
}

// backupDue reports whether the schedule should run at now: a slot has
// come since it last ran or was turned on. Without either (a record from
// before LastScheduled) it counts from since, when the runner started.
// A server that was down at the time catches up once when it starts.
func backupDue(b BackupSettings, st BackupState, since, now time.Time) bool {
	if b.Folder == "" {
		return false
	}
	slot, ok := backupSlot(b, now)
	if !ok {
		return false
	}
	last := st.LastScheduled
	if last.IsZero() {
		last = since
	}
	return last.Before(slot)
}

// RunScheduledBackups takes the scheduled backups until ctx ends: every
// check (BackupCheckEvery in production) it reads the settings and the
// service clock and, when backup.time has come since the last scheduled
// backup, takes one (BackupNow). The composition root runs it once, in
// the process that serves; the clock and the check interval are
// injectable, so tests need not wait for the time of day.
func (s *Service) RunScheduledBackups(ctx context.Context, check time.Duration) {
	s = s.As(ServerActor)
	// A failure recorded before a restart stays visible.
	if st := s.BackupState(); !st.Last.OK && !st.Last.At.IsZero() {
		s.showBackupHealth(st.Last)
	}
	// A backup the last run was killed in is said at the start.
	if folder := s.Settings().Backup.Folder; folder != "" {
		if removed := clearUnfinishedBackups(folder); len(removed) > 0 {
			_ = s.Log(LevelWarn, "", "%s", unfinishedSentence(folder, removed))
		}
	}
	since := s.clock.Now()
	t := time.NewTicker(check)
	defer t.Stop()
	for {
		set := s.Settings()
		if backupDue(set.Backup, set.BackupState, since, s.clock.Now().Local()) {
			s.BackupNow(true)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
