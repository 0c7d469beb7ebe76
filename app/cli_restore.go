package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
				var exposed *backup.ExposedFileError
				if p, exposed, err = backup.RestorePassphraseFile(*passFile); err == nil {
					id, err = backup.PassphraseIdentity(p)
				}
				if exposed != nil && err == nil {
					// Read all the same: see RestorePassphraseFile.
					fmt.Fprintf(c.errOut, "provisio: warning: %s.\n", exposed)
				}
			}
			var short *backup.ShortPassphraseError
			switch {
			case errors.As(err, &short):
				return fmt.Errorf("the passphrase in %s is shorter than 8 characters, so no backup was made with it; give the file that holds the backup's passphrase (nothing was changed)", short.Path)
			case err != nil:
				return fmt.Errorf("%w; nothing was changed", err)
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
	j := newRestoreJournal(abs(file), dataDir, abs(keyDir), restoreStamp(dataDir, abs(keyDir), time.Now()))
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
	// A backup of a newer data format before anything else of it is
	// believed (its records may only look damaged to this build), and
	// before Open, which would refuse it too, but naming the staging
	// directory rather than the backup.
	if rep.Newer {
		fe := rep.FormatError().(*store.FormatError)
		fe.Where = "the backup " + file
		return fmt.Errorf("%w Nothing was changed.", fe)
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
	// The counts as the file came out of the backup, before this build's
	// Open added its own markers to an older file (the data format
	// number, the login-state marker): the manifest counted the file as
	// the backup was made.
	unpacked := map[string]int{}
	for _, b := range rep.Buckets {
		unpacked[b.Name] = b.Records
	}
	for b, n := range m.Counts {
		if unpacked[b] != n {
			return refuse("bucket %s holds %d records, the manifest says %d", b, unpacked[b], n)
		}
	}
	if err := store.ProbeLock(c.dataDir); err != nil {
		return fmt.Errorf("%w Nothing was changed: restore again once it is stopped.", err)
	}
	// Run as root on a service's directories, the restored data is the
	// service user's, as the data it replaces was.
	if err := chownLike(dataDir, stage); err != nil {
		return unpackFailed(err)
	}
	if err := c.swapRestored(j); err != nil {
		return err
	}
	err = c.withEnv(func(e *env) error {
		return e.svc.Log(core.LevelInfo, "", "Restored from the backup %s made at %s (%s, log up to #%d).", filepath.Base(file), m.Created.Format(time.RFC3339), core.Plural(m.Counts["users"], "user", "users"), m.LogLast)
	})
	fmt.Fprintf(c.out, "Restored %s (made %s, %s, log up to #%d).\n", file, m.Created.Local().Format(time.RFC3339), core.Plural(m.Counts["users"], "user", "users"), m.LogLast)
	if note := j.replacedNote(); note != "" {
		fmt.Fprintln(c.out, note)
	}
	if err != nil {
		return fmt.Errorf("the restore is complete, but its line in the audit log could not be written: %v", core.ErrorMessage(err))
	}
	return nil
}

// restoreFault, when set (tests only), is asked before each step of a
// restore's swap and fails the step it returns an error for.
var restoreFault func(step string) error

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
func (c *cli) swapRestored(j *restoreJournal) error {
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
			return fmt.Errorf("the key directory %s cannot be made (%v); nothing was changed", keyDir, unwrapPath(err))
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
			return fmt.Errorf("the restored %s cannot be read back (%v); nothing was changed", name, unwrapPath(err))
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
				return fmt.Errorf("the restored %s cannot be written into %s (%v); nothing was changed", name, keyDir, unwrapPath(err))
			}
		}
		j.Keys = append(j.Keys, k)
	}
	if err := syncDir(keyDir); err != nil {
		return fmt.Errorf("the key directory %s cannot be synced (%v); nothing was changed", keyDir, unwrapPath(err))
	}
	// The point of no return for a crash: from here on the next command
	// finishes the swap rather than leave half of it.
	j.Swapping = true
	if err := j.write(); err != nil {
		return fmt.Errorf("the restore could not note its progress beside %s (%v); nothing was changed", c.dataDir, unwrapPath(err))
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
			return rollback(err)
		}
	}
	if err := step("data in place", rename(j.Stage, j.DataDir), undoStep{rename(j.DataDir, j.Stage),
		fmt.Sprintf("%s holds the restored data", j.DataDir)}); err != nil {
		return rollback(err)
	}
	for _, k := range j.Keys {
		name := filepath.Base(k.Cur)
		if exists(k.Cur) {
			if err := step("aside "+name, rename(k.Cur, k.Old), undoStep{rename(k.Old, k.Cur),
				fmt.Sprintf("the previous %s is %s", name, k.Old)}); err != nil {
				return rollback(err)
			}
		}
		if k.Tmp != "" {
			if err := step("in place "+name, rename(k.Tmp, k.Cur), undoStep{rename(k.Cur, k.Tmp),
				fmt.Sprintf("%s is the restored one", k.Cur)}); err != nil {
				return rollback(err)
			}
		}
	}
	for _, d := range []struct{ step, dir string }{{"sync the data's folder", filepath.Dir(j.DataDir)}, {"sync the key directory", keyDir}} {
		if err := step(d.step, func() error { return syncDir(d.dir) }, undoStep{func() error { return nil }, ""}); err != nil {
			return rollback(err)
		}
	}
	// Killed here, the next command finds everything in place and only
	// removes the journal.
	_ = fault("done")
	return nil
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
