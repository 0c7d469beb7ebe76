package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/backup"
	"provisio/core/certs"
	"provisio/core/store"
)

// restore: a backup put back in place of the data directory (issue #13).

var restoreCommand = command{
	usage: "restore FILE (--passphrase-file F | --identity F)",
	args:  1,
	setup: func(fs *flag.FlagSet) action {
		passFile := fs.String("passphrase-file", "", "file whose first line is the backup's passphrase")
		identity := fs.String("identity", "", "file with the age identity (AGE-SECRET-KEY-1…) the backup was encrypted to")
		return func(c *cli, args []string) error {
			if (*passFile == "") == (*identity == "") {
				return usagef("restore needs one of --passphrase-file or --identity")
			}
			var id age.Identity
			var err error
			if *identity != "" {
				id, err = backup.IdentityFile(*identity)
			} else {
				var p string
				if p, err = backup.PassphraseFile(*passFile); err == nil {
					id, err = backup.PassphraseIdentity(p)
				}
			}
			if err != nil {
				return err
			}
			return c.restore(args[0], id)
		}
	},
}

// restore checks everything in the backup before it replaces anything:
// it decrypts and unpacks it, opens the data file with the backup's key in
// a staging directory beside the data directory, checks every bucket's
// records, verifies the log chain and compares counts and log head with
// the manifest. Only then, and only when no server holds the data
// directory, does it move the current data directory and key aside
// (".replaced-TIME") and put the restored ones in their place. A journal
// beside the data directory (restoreJournal) lets the next command
// finish a restore killed half-way, or clean away one killed before it
// changed anything.
func (c *cli) restore(file string, id age.Identity) error {
	// A server answering on the admin socket holds the data: say so at
	// once rather than after checking the whole backup.
	if c.serverAnswers() {
		return fmt.Errorf("a Provisio server is running on %s, and a restore would replace the data under it; stop it (sudo systemctl stop provisio, Ctrl+C in serve, or close the console), then restore again (nothing was changed)", c.dataDir)
	}
	keyDir := keyDirFor(c.dataDir, c.keyDir)
	if err := store.CheckKeyDir(c.dataDir, keyDir); err != nil {
		return err
	}
	if fi, err := os.Stat(file); err != nil || fi.IsDir() {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("the backup file %s does not exist; nothing was changed", file)
		case err != nil:
			return fmt.Errorf("the backup file %s cannot be read (%v); nothing was changed", file, unwrapPath(err))
		}
		return fmt.Errorf("%s is a folder; give the backup file in it (provisio-YYYYMMDD-HHMMSS.age); nothing was changed", file)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("the backup file %s cannot be read (%v); nothing was changed", file, unwrapPath(err))
	}
	m, members, err := backup.Read(f, id)
	f.Close()
	if err != nil {
		return fmt.Errorf("%v; nothing was changed", err)
	}
	refuse := func(format string, a ...any) error {
		return fmt.Errorf("the backup %s was refused: %s; nothing was changed", file, fmt.Sprintf(format, a...))
	}
	dataDir := abs(c.dataDir)
	parent := filepath.Dir(dataDir)
	unpackFailed := func(err error) error {
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			return fmt.Errorf("the backup could not be unpacked beside %s: the disk is full; nothing was changed", c.dataDir)
		}
		return fmt.Errorf("the backup could not be unpacked beside %s (%v); nothing was changed", c.dataDir, unwrapPath(err))
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return unpackFailed(err)
	}
	unlock, err := lockRestore(parent)
	if errors.Is(err, errRestoreRunning) {
		return fmt.Errorf("another restore into %s is running; let it finish, then restore again (nothing was changed)", parent)
	} else if err != nil {
		return unpackFailed(err)
	}
	defer unlock()
	j := newRestoreJournal(abs(file), dataDir, abs(keyDir), time.Now().UTC().Format("20060102-150405"))
	// The journal first: a crash from here on leaves it for the next
	// command, which removes what was staged, or finishes the swap.
	if err := j.write(); err != nil {
		return unpackFailed(err)
	}
	defer j.clean()
	stage, stageKeys := j.Stage, j.StageKeys
	if err := os.Mkdir(stage, 0o700); err != nil {
		return unpackFailed(err)
	}
	// Every file is synced as it is written: "Restored" must survive a
	// power cut, not only the end of this process.
	if err := writeSynced(filepath.Join(stage, store.FileName), members[backup.DataName], 0o600); err != nil {
		return unpackFailed(err)
	}
	if cert, ok := members[backup.CertName]; ok {
		if err := writeSynced(filepath.Join(stage, certs.CertFile), cert, 0o644); err != nil {
			return unpackFailed(err)
		}
	}
	if err := store.WriteKey(stageKeys, members[backup.KeyName]); err != nil {
		return unpackFailed(err)
	}
	for name, file := range map[string]string{backup.TLSKeyName: certs.KeyFile,
		backup.DeviceCACertName: certs.DeviceCACertFile, backup.DeviceCAKeyName: certs.DeviceCAKeyFile,
		backup.ConsoleCACertName: certs.ConsoleCACertFile, backup.ConsoleCAKeyName: certs.ConsoleCAKeyFile} {
		if data, ok := members[name]; ok {
			if err := writeSynced(filepath.Join(stageKeys, file), data, 0o600); err != nil {
				return unpackFailed(err)
			}
		}
	}
	if err := syncDir(stage); err != nil {
		return unpackFailed(err)
	}
	// Every page and every record of every bucket.
	rep, err := store.Check(stage, store.Options{})
	if err != nil {
		return refuse("%v", err)
	}
	if !rep.OK() {
		return refuse("its data file is damaged (%s%s)", rep.Damage, strings.Join(rep.BadRecords, "; "))
	}
	st, err := store.Open(stage, store.Options{KeyDir: stageKeys, CheckBudget: -1, Actor: commandLine})
	if err != nil {
		return refuse("%v", err)
	}
	info, err := st.Info()
	if err == nil {
		// Sealed records must open too, not only decode.
		err = st.View(func(tx core.Tx) error {
			if err := tx.Users(func(core.User) bool { return true }); err != nil {
				return err
			}
			if err := tx.Mails(func(core.OutMessage) bool { return true }); err != nil {
				return err
			}
			if err := tx.OATHRecords(func(string, core.OATHRecord) bool { return true }); err != nil {
				return err
			}
			_, err := tx.Settings()
			if errors.Is(err, core.ErrNotFound) {
				err = nil
			}
			return err
		})
	}
	st.Close()
	if err != nil {
		return refuse("%v", err)
	}
	if info.LogLast != m.LogLast || info.LogHead != m.LogHead {
		return refuse("its log ends at #%d, the manifest says #%d", info.LogLast, m.LogLast)
	}
	for b, n := range m.Counts {
		if info.Counts[b] != n {
			return refuse("bucket %s holds %d records, the manifest says %d", b, info.Counts[b], n)
		}
	}
	if err := store.ProbeLock(c.dataDir); err != nil {
		return fmt.Errorf("%w; stop the server or console using it, then restore again (nothing was changed)", err)
	}
	// Run as root on a service's directories, the restored data is the
	// service user's, as the data it replaces was.
	if err := chownLike(dataDir, stage); err != nil {
		return unpackFailed(err)
	}
	sw, err := c.swapRestored(j)
	if err != nil {
		return err
	}
	err = c.withEnv(func(e *env) error {
		return e.svc.Log(core.LevelInfo, "", "Restored from the backup %s made at %s (%s, log up to #%d).", filepath.Base(file), m.Created.Format(time.RFC3339), core.Plural(m.Counts["users"], "user", "users"), m.LogLast)
	})
	fmt.Fprintf(c.out, "Restored %s (made %s, %s, log up to #%d).\n", file, m.Created.Local().Format(time.RFC3339), core.Plural(m.Counts["users"], "user", "users"), m.LogLast)
	if sw.aside != "" {
		fmt.Fprintf(c.out, "The replaced data is in %s; its key was renamed *.replaced-%s in %s.\n", sw.aside, j.Stamp, keyDir)
	}
	if err != nil {
		return fmt.Errorf("the restore is complete, but its line in the audit log could not be written: %v", core.ErrorMessage(err))
	}
	return nil
}

// restoreFault, when set (tests only), is asked before each step of a
// restore's swap and fails the step it returns an error for.
var restoreFault func(step string) error

// restoredSwap is what a restore's swap did.
type restoredSwap struct {
	// aside is where the previous data directory went, "" if there was
	// none.
	aside string
}

// restoreKeyFiles are the files of the key directory a restore puts in
// place, the data key first.
var restoreKeyFiles = []string{store.KeyFileName, certs.KeyFile, certs.DeviceCACertFile, certs.DeviceCAKeyFile, certs.ConsoleCACertFile, certs.ConsoleCAKeyFile}

// swapRestored puts a checked restore in place: the restored key files
// are first written into the key directory under temporary names and
// synced (a failure there changes nothing); then the journal is marked
// swapping (from then on a crash is finished by the next command); then
// the current data directory and key files are renamed aside
// (".replaced-STAMP", never deleted) and the restored ones renamed into
// place, and both parent folders synced. If any step fails, the steps
// done are undone in reverse order, so the data is as it was, or, if
// undoing fails too, the error says exactly where each part is.
func (c *cli) swapRestored(j *restoreJournal) (restoredSwap, error) {
	var sw restoredSwap
	keyDir, stageKeys := j.KeyDir, j.StageKeys
	fault := func(step string) error {
		if restoreFault != nil {
			return restoreFault(step)
		}
		return nil
	}
	// The restored key files get the key directory's owner, or, for a
	// key directory made here, the data directory's (chownLike).
	likeKeys := keyDir
	if !exists(keyDir) {
		likeKeys = j.DataDir
		err := os.MkdirAll(keyDir, 0o700)
		if err == nil {
			err = chownLike(likeKeys, keyDir)
		}
		if err != nil {
			return sw, fmt.Errorf("the key directory %s cannot be made (%v); nothing was changed", keyDir, unwrapPath(err))
		}
	}
	for _, name := range restoreKeyFiles {
		k := journalKey{Cur: filepath.Join(keyDir, name)}
		k.Old = k.Cur + ".replaced-" + j.Stamp
		data, err := os.ReadFile(filepath.Join(stageKeys, name))
		switch {
		case errors.Is(err, fs.ErrNotExist) && (strings.HasPrefix(name, "device-ca") || strings.HasPrefix(name, "console-ca")):
			continue // a backup from before device certificates or remote consoles: keep the current CA
		case errors.Is(err, fs.ErrNotExist):
			// Not in the backup (a key.pem it did not have): the
			// current one goes aside with the data it belonged to.
		case err != nil:
			return sw, fmt.Errorf("the restored %s cannot be read back (%v); nothing was changed", name, unwrapPath(err))
		default:
			k.Tmp = j.keyTemp(name)
			err = fault("write " + name)
			if err == nil {
				err = writeSynced(k.Tmp, data, 0o600)
			}
			if err == nil {
				err = chownLike(likeKeys, k.Tmp)
			}
			if err != nil {
				return sw, fmt.Errorf("the restored %s cannot be written into %s (%v); nothing was changed", name, keyDir, unwrapPath(err))
			}
		}
		j.Keys = append(j.Keys, k)
	}
	if err := syncDir(keyDir); err != nil {
		return sw, fmt.Errorf("the key directory %s cannot be synced (%v); nothing was changed", keyDir, unwrapPath(err))
	}
	// The point of no return for a crash: from here on the next command
	// finishes the swap rather than leave half of it.
	j.Swapping = true
	if err := j.write(); err != nil {
		return sw, fmt.Errorf("the restore could not note its progress beside %s (%v); nothing was changed", c.dataDir, unwrapPath(err))
	}

	// The swap proper: each step that succeeds leaves its undo.
	type undoStep struct {
		undo  func() error
		where string // where the part is if undo fails
	}
	var undo []undoStep
	step := func(name string, do func() error, u undoStep) error {
		err := fault(name)
		if err == nil {
			err = do()
		}
		if err == nil {
			undo = append(undo, u)
		}
		return err
	}
	rename := func(from, to string) func() error { return func() error { return os.Rename(from, to) } }
	rollback := func(cause error) error {
		var stuck []string
		for i := len(undo) - 1; i >= 0; i-- {
			if err := undo[i].undo(); err != nil {
				stuck = append(stuck, undo[i].where)
			}
		}
		if len(stuck) == 0 {
			_ = syncDir(filepath.Dir(j.DataDir))
			_ = syncDir(keyDir)
			return fmt.Errorf("putting the restored files in place failed (%v); everything was put back as it was, so nothing was changed", unwrapPath(cause))
		}
		// The journal and what was staged stay: a command started before
		// the files are moved back refuses (rollForward finds them in
		// no state it can finish) instead of opening a missing or wrong
		// data directory.
		j.stuck = true
		return fmt.Errorf("putting the restored files in place failed (%v), and so did putting some of the previous ones back: %s. Move them back by hand, then remove %s, before starting Provisio; until then Provisio will not start on %s", unwrapPath(cause), strings.Join(stuck, "; "), restoreJournalPath(j.DataDir), j.DataDir)
	}
	if exists(j.DataDir) {
		if err := step("data aside", rename(j.DataDir, j.Aside), undoStep{rename(j.Aside, j.DataDir),
			fmt.Sprintf("the previous data directory is %s", j.Aside)}); err != nil {
			return sw, rollback(err)
		}
		sw.aside = j.Aside
	}
	if err := step("data in place", rename(j.Stage, j.DataDir), undoStep{rename(j.DataDir, j.Stage),
		fmt.Sprintf("%s holds the restored data", j.DataDir)}); err != nil {
		return sw, rollback(err)
	}
	for _, k := range j.Keys {
		name := filepath.Base(k.Cur)
		if exists(k.Cur) {
			if err := step("aside "+name, rename(k.Cur, k.Old), undoStep{rename(k.Old, k.Cur),
				fmt.Sprintf("the previous %s is %s", name, k.Old)}); err != nil {
				return sw, rollback(err)
			}
		}
		if k.Tmp != "" {
			if err := step("in place "+name, rename(k.Tmp, k.Cur), undoStep{rename(k.Cur, k.Tmp),
				fmt.Sprintf("%s is the restored one", k.Cur)}); err != nil {
				return sw, rollback(err)
			}
		}
	}
	for _, d := range []struct{ step, dir string }{{"sync the data's folder", filepath.Dir(j.DataDir)}, {"sync the key directory", keyDir}} {
		if err := step(d.step, func() error { return syncDir(d.dir) }, undoStep{func() error { return nil }, ""}); err != nil {
			return sw, rollback(err)
		}
	}
	// Killed here, the next command finds everything in place and only
	// removes the journal.
	_ = fault("done")
	return sw, nil
}

// restoreJournal is what a restore is doing, kept beside the data
// directory (restoreJournalPath) from before it unpacks anything until it
// is over, so a restore killed half-way (kill -9, a power cut) never
// leaves the data directory missing (the next start would make an empty
// one and lose every user to it) or the restored data beside the
// previous key (which does not open it). The next command on the data
// directory reads it (finishInterruptedRestore): while Swapping is false
// nothing was changed yet and what was staged is removed; once it is
// true the swap is finished, each rename done only if its source is
// still there, so finishing twice does no harm. It is written through a
// temporary file and renamed, so it is whole or absent.
type restoreJournal struct {
	Backup  string `json:"backup"`
	DataDir string `json:"data_dir"`
	KeyDir  string `json:"key_dir"`
	Stamp   string `json:"stamp"`
	// Stage and StageKeys are the unpacked data directory and key files.
	Stage     string `json:"stage"`
	StageKeys string `json:"stage_keys"`
	// Aside is where the current data directory goes.
	Aside    string       `json:"aside"`
	Swapping bool         `json:"swapping"`
	Keys     []journalKey `json:"keys,omitempty"`
	// stuck: undoing a failed swap failed too, so clean leaves the
	// journal and the staged files for the person who moves things back.
	stuck bool
}

// journalKey is one file of the key directory in a swap: the current
// file Cur goes to Old, and the restored one at Tmp (none: the backup had
// no such file) takes its place.
type journalKey struct {
	Cur string `json:"cur"`
	Tmp string `json:"tmp,omitempty"`
	Old string `json:"old"`
}

// restoreJournalPath is where the journal of a restore into dataDir (an
// absolute path) is kept: beside it, where the staging directory is.
func restoreJournalPath(dataDir string) string {
	return filepath.Join(filepath.Dir(dataDir), "."+filepath.Base(dataDir)+".restore-journal")
}

func newRestoreJournal(backupFile, dataDir, keyDir, stamp string) *restoreJournal {
	stage := filepath.Join(filepath.Dir(dataDir), "."+filepath.Base(dataDir)+".restore-"+stamp)
	return &restoreJournal{Backup: backupFile, DataDir: dataDir, KeyDir: keyDir, Stamp: stamp,
		Stage: stage, StageKeys: stage + "-keys", Aside: dataDir + ".replaced-" + stamp}
}

// keyTemp is the temporary name of the restored key file name in the
// key directory.
func (j *restoreJournal) keyTemp(name string) string {
	return filepath.Join(j.KeyDir, "."+name+".restore-"+j.Stamp)
}

// write puts the journal in place, synced.
func (j *restoreJournal) write() error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	path := restoreJournalPath(j.DataDir)
	tmp := path + ".tmp"
	if err := writeSynced(tmp, data, 0o600); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if restoreFault != nil {
		step := "journal: staging"
		if j.Swapping {
			step = "journal: swapping"
		}
		if err := restoreFault(step); err != nil {
			_ = os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// clean removes what the restore staged and is not in place (after a
// swap, the staging directory and the temporary key files are gone
// already), then the journal, synced: it is the end of a restore,
// whatever its outcome, unless a failed swap could not be undone.
func (j *restoreJournal) clean() {
	if j.stuck {
		return
	}
	_ = os.RemoveAll(j.Stage)
	_ = os.RemoveAll(j.StageKeys)
	for _, name := range restoreKeyFiles {
		_ = os.Remove(j.keyTemp(name))
	}
	_ = syncDir(j.KeyDir)
	_ = os.Remove(restoreJournalPath(j.DataDir) + ".tmp")
	_ = os.Remove(restoreJournalPath(j.DataDir))
	_ = syncDir(filepath.Dir(j.DataDir))
}

// rollForward finishes an interrupted swap: every rename not done yet is
// done, in the swap's order.
func (j *restoreJournal) rollForward() error {
	if exists(j.Stage) {
		if exists(j.DataDir) {
			if exists(j.Aside) {
				return fmt.Errorf("both %s and %s exist", j.DataDir, j.Aside)
			}
			if err := os.Rename(j.DataDir, j.Aside); err != nil {
				return err
			}
		}
		if err := os.Rename(j.Stage, j.DataDir); err != nil {
			return err
		}
	}
	for _, k := range j.Keys {
		if k.Tmp != "" && !exists(k.Tmp) {
			continue // in place already
		}
		if exists(k.Cur) && !exists(k.Old) {
			if err := os.Rename(k.Cur, k.Old); err != nil {
				return err
			}
		}
		if k.Tmp != "" {
			if err := os.Rename(k.Tmp, k.Cur); err != nil {
				return err
			}
		}
	}
	if err := syncDir(filepath.Dir(j.DataDir)); err != nil {
		return err
	}
	return syncDir(j.KeyDir)
}

// finishInterruptedRestore deals with a restore into the data directory
// that was killed before it was over (restoreJournal), before any
// command uses the directory: one killed before it changed anything
// leaves nothing behind, one killed during the swap is finished. Either
// way stderr says so in a sentence. It does nothing while the restore is
// still running in another process, except refuse the command.
func (c *cli) finishInterruptedRestore() error {
	dataDir := abs(c.dataDir)
	path := restoreJournalPath(dataDir)
	if !exists(path) {
		// Killed while writing its first journal, a restore had done
		// nothing else: only the journal's temporary file is left.
		if exists(path + ".tmp") {
			if unlock, err := lockRestore(filepath.Dir(dataDir)); err == nil {
				_ = os.Remove(path + ".tmp")
				unlock()
			}
		}
		return nil
	}
	unlock, err := lockRestore(filepath.Dir(dataDir))
	if errors.Is(err, errRestoreRunning) {
		return fmt.Errorf("a restore into %s is running; try again when it has finished", c.dataDir)
	}
	if err != nil {
		return fmt.Errorf("a restore into %s was interrupted, and it cannot be finished (%v); run the command again as the user who ran the restore (often root)", c.dataDir, unwrapPath(err))
	}
	defer unlock()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // finished while the lock was taken
	}
	var j restoreJournal
	if err == nil {
		err = json.Unmarshal(data, &j)
	}
	if err == nil && j.DataDir != dataDir {
		err = fmt.Errorf("%s is about %s", path, j.DataDir)
	}
	if err != nil {
		return fmt.Errorf("a restore into %s was interrupted, and it cannot be finished (%v); run the command again as the user who ran the restore (often root)", c.dataDir, unwrapPath(err))
	}
	// The journal says what to remove and rename, and the command may
	// run as root: it is followed only where it names the files a
	// restore into this data directory and key directory makes.
	if keyDir := abs(keyDirFor(c.dataDir, c.keyDir)); j.KeyDir != keyDir {
		return fmt.Errorf("a restore into %s with the key directory %s was interrupted; give --key-dir %s (or PROVISIO_KEY_DIR) to finish it, as that restore did (nothing was changed)", c.dataDir, j.KeyDir, j.KeyDir)
	} else if bad := j.foreign(keyDir); bad != "" {
		return fmt.Errorf("a restore into %s was interrupted, but its journal %s names %s, which is none of that restore's files; nothing was changed: check the data directory and the files beside it, then remove the journal", c.dataDir, path, bad)
	}
	if !j.Swapping {
		j.clean()
		fmt.Fprintf(c.errOut, "provisio: a restore into %s was interrupted before it changed anything; what it had unpacked is removed, and the data is as it was.\n", c.dataDir)
		return nil
	}
	if err := j.rollForward(); err != nil {
		return fmt.Errorf("the restore of %s into %s was interrupted, and finishing it failed (%v); run the command again as the user who ran the restore (often root)", j.Backup, c.dataDir, unwrapPath(err))
	}
	j.clean()
	fmt.Fprintf(c.errOut, "provisio: the restore of %s into %s was interrupted; it is finished now.", j.Backup, c.dataDir)
	if exists(j.Aside) {
		fmt.Fprintf(c.errOut, " The replaced data is in %s; its key was renamed *.replaced-%s in %s.", j.Aside, j.Stamp, j.KeyDir)
	}
	fmt.Fprintln(c.errOut)
	return nil
}

// journalStamp is a restore's stamp as newRestoreJournal is given it.
var journalStamp = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}$`)

// foreign returns the first file j names that a restore into j.DataDir
// with keyDir does not make or move (newRestoreJournal, keyTemp,
// swapRestored), quoted for a sentence, or "" when it names only those.
func (j *restoreJournal) foreign(keyDir string) string {
	if !journalStamp.MatchString(j.Stamp) {
		return fmt.Sprintf("the stamp %q", j.Stamp)
	}
	own := newRestoreJournal(j.Backup, j.DataDir, keyDir, j.Stamp)
	for _, p := range [][2]string{{j.Stage, own.Stage}, {j.StageKeys, own.StageKeys}, {j.Aside, own.Aside}, {j.KeyDir, own.KeyDir}} {
		if p[0] != p[1] {
			return p[0]
		}
	}
	for _, k := range j.Keys {
		name := filepath.Base(k.Cur)
		switch {
		case !slices.Contains(restoreKeyFiles, name) || k.Cur != filepath.Join(keyDir, name):
			return k.Cur
		case k.Old != k.Cur+".replaced-"+j.Stamp:
			return k.Old
		case k.Tmp != "" && k.Tmp != own.keyTemp(name):
			return k.Tmp
		}
	}
	return ""
}

// exists reports whether path names anything (a link is not followed).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// writeSynced writes a new file and syncs it before closing.
func writeSynced(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// serverAnswers reports whether a Provisio answers on the data
// directory's admin socket, that is, one holds the directory now.
func (c *cli) serverAnswers() bool {
	path := filepath.Join(c.dataDir, adminapi.SocketName)
	if _, err := os.Stat(path); err != nil {
		return false
	}
	_, err := adminapi.Dial(path)
	return err == nil
}
