package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/backup"
	"provisio/core/certs"
	"provisio/core/etcdstore"
	"provisio/core/store"
)

// Data protection commands (issue #13).

var backupCommand = command{
	usage: "backup --out FILE (--passphrase-file F | --recipient AGE_RECIPIENT)",
	setup: func(fs *flag.FlagSet) action {
		out := fs.String("out", "", "the backup file to write")
		passFile := fs.String("passphrase-file", "", "file whose first line is the passphrase that encrypts the backup")
		recipient := fs.String("recipient", "", "age recipient (age1…) that can decrypt the backup")
		return func(c *cli, _ []string) error {
			if *out == "" || (*passFile == "") == (*recipient == "") {
				return usagef("backup needs --out and one of --passphrase-file or --recipient")
			}
			if err := c.checkBackupOut(*out); err != nil {
				return err
			}
			enc, err := backupEncryption(*passFile, *recipient)
			if err != nil {
				return err
			}
			// Attached to a running server, the server takes the copy
			// and streams it here; the passphrase goes in the request
			// body only.
			return c.attach(func(client *adminapi.Client, e *env) error {
				if e != nil {
					return c.backup(adminapi.Local{Svc: e.svc}, e, *out, enc)
				}
				// The service may keep its data or keys elsewhere than
				// this command knows (its own --key-dir): it says where.
				if err := checkOutsideServer(client, *out); err != nil {
					return err
				}
				return c.backup(client, nil, *out, enc)
			})
		}
	},
}

// checkBackupOut refuses, before anything is read or written, an --out
// that cannot take a backup (a folder, a folder that does not exist) or
// that would destroy something by being replaced: a file that is not a
// backup (the passphrase file, a document), or anything in the data or
// key directory, where "backup --out DATA/provisio.db" replaced the live
// data file under the server and lost every user.
func (c *cli) checkBackupOut(out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("The backup file name %s cannot be used (%v); nothing was written.", out, err)
	}
	dir := filepath.Dir(abs)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("The folder %s for the backup does not exist; create it or give --out a file in another folder (nothing was written).", dir)
	}
	if err := checkOutside(out, c.dataDir, keyDirFor(c.dataDir, c.keyDir)); err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("The backup file %s cannot be checked (%v); nothing was written.", out, unwrapPath(err))
	case fi.IsDir():
		return fmt.Errorf("--out %s is a folder; give the backup file's name, such as %s (nothing was written).", out, filepath.Join(out, "provisio-backup.age"))
	case !fi.Mode().IsRegular() || !isBackupFile(abs):
		return fmt.Errorf("%s exists and is not a Provisio backup, so it is not replaced; choose another name or move it away first (nothing was written).", out)
	}
	return nil
}

// checkOutside refuses an --out inside any of dirs, symbolic links
// resolved on both sides, so a link to the key directory or a data
// directory reached through a linked parent is refused too.
func checkOutside(out string, dirs ...string) error {
	real := func(p string) string {
		p = abs(p)
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return p
	}
	a := abs(out)
	target := filepath.Join(real(filepath.Dir(a)), filepath.Base(a))
	for _, d := range dirs {
		if d == "" {
			continue
		}
		rd := real(d)
		if target == rd || strings.HasPrefix(target, rd+string(filepath.Separator)) {
			return fmt.Errorf("--out %s is inside %s, which holds the data and keys a backup is made of; write the backup to another folder, ideally on another disk (nothing was written).", out, abs(d))
		}
	}
	return nil
}

// checkOutsideServer is checkOutside for an attached command: against
// the data and key directories the running Provisio says it uses
// (GET /v1/server), which this command cannot know when the service was
// started with another --key-dir. One from before the status named them
// answers without them: then only checkBackupOut's check was made.
func checkOutsideServer(client *adminapi.Client, out string) error {
	st, err := client.ServerStatus()
	if err != nil {
		return fmt.Errorf("The running Provisio did not say where its data and keys are (%s), so the backup was not taken (nothing was written).", core.ErrorMessage(err))
	}
	return checkOutside(out, st.DataDir, st.KeyDir)
}

// isBackupFile reports whether the file at path starts like an
// age-encrypted file, as every backup does; an older backup may be
// replaced by a new one of the same name.
func isBackupFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(backup.AgeIntro))
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == backup.AgeIntro
}

// unwrapPath drops the operation and path an *fs.PathError repeats,
// leaving the system's reason ("permission denied").
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// backupEncryption reads the passphrase from its file here, so a server
// this command attaches to gets it in the request body, never a path it
// might not be allowed to read, and never in argv.
func backupEncryption(passFile, recipient string) (core.BackupEncryption, error) {
	if recipient != "" {
		if _, err := backup.ParseRecipient(recipient); err != nil {
			return core.BackupEncryption{}, err
		}
		return core.BackupEncryption{Recipient: recipient}, nil
	}
	p, err := backup.PassphraseFile(passFile)
	if err != nil {
		return core.BackupEncryption{}, err
	}
	return core.BackupEncryption{Passphrase: p}, nil
}

// backup writes an encrypted, consistent copy of the data file, its key,
// the certificate and a manifest as outPath, through a temporary file
// beside it, so a failed backup never leaves a half file under the name.
// With e the copy is taken in this process; without, api is the running
// server's, which takes it and streams it here.
func (c *cli) backup(api adminapi.API, e *env, outPath string, enc core.BackupEncryption) (err error) {
	dir := filepath.Dir(outPath)
	c.removeUnfinishedBackups(outPath)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(outPath)+".*.tmp")
	if err != nil {
		return fmt.Errorf("The backup cannot be written in the folder %s (%v); nothing was written.", dir, unwrapPath(err))
	}
	core.HoldWhileWriting(tmp)
	defer os.Remove(tmp.Name())
	var w io.Writer = tmp
	if backupOutWriter != nil {
		w = backupOutWriter(tmp)
	}
	fw := &firstErrWriter{w: w}
	var sum core.BackupSummary
	if e != nil {
		sum, err = e.svc.Backup(fw, enc, "to "+outPath)
	} else {
		sum, err = api.Backup(fw, enc)
	}
	if err != nil {
		tmp.Close()
		if fw.err != nil {
			// Writing the file failed (the disk is full): a sentence
			// about the file, not the system's text naming the
			// temporary file. The service logged the detail.
			return backupWriteFailed(outPath, fw.err)
		}
		return err
	}
	err = tmp.Sync()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), outPath)
	}
	if err == nil {
		// The new name is in the folder only once the folder is synced:
		// "Backup written" must survive a power cut.
		err = syncDir(dir)
	}
	if err != nil {
		if e != nil {
			_ = e.svc.Log(core.LevelError, "", "Backup to %s failed: %v", outPath, err)
		}
		return backupWriteFailed(outPath, err)
	}
	if e == nil {
		fmt.Fprintf(c.out, "Backup taken by the running server and written to %s (%s, log up to #%d).\n", outPath, core.Plural(sum.Users, "user", "users"), sum.LogLast)
		return nil
	}
	fmt.Fprintf(c.out, "Backup written to %s (%s, log up to #%d).\n", outPath, core.Plural(sum.Users, "user", "users"), sum.LogLast)
	return nil
}

// removeUnfinishedBackups removes the temporary files that backups to
// outPath killed before their rename (kill -9, a power cut) left beside
// it, and says so: each is a partial copy of the data, encrypted but of
// no use, and nothing else would ever remove it. Only names this command
// makes for outPath are touched (.NAME.DIGITS.tmp), and only those no
// running backup holds (core.HoldWhileWriting).
func (c *cli) removeUnfinishedBackups(outPath string) {
	dir, base := filepath.Dir(outPath), filepath.Base(outPath)
	es, err := os.ReadDir(dir)
	if err != nil {
		return // CreateTemp says why the folder cannot be written
	}
	for _, e := range es {
		n := e.Name()
		rest, mine := strings.CutPrefix(n, "."+base+".")
		digits, tmp := strings.CutSuffix(rest, ".tmp")
		if !mine || !tmp || digits == "" || strings.Trim(digits, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		removed, err := core.RemoveIfAbandoned(filepath.Join(dir, n))
		if err == nil && !removed {
			continue // another backup to the same name is being written
		}
		if err != nil {
			fmt.Fprintf(c.errOut, "provisio: an earlier backup to %s was interrupted before it finished, and its unfinished file %s could not be removed (%v); remove it by hand.\n", outPath, n, unwrapPath(err))
			continue
		}
		fmt.Fprintf(c.errOut, "provisio: an earlier backup to %s was interrupted before it finished; its unfinished file %s was removed.\n", outPath, n)
	}
}

// backupOutWriter, when set (tests only), stands between a backup and
// its temporary file, so a test can fill the disk.
var backupOutWriter func(f *os.File) io.Writer

// firstErrWriter passes writes on and keeps the first error, so a failure
// to write the backup file is told from the service's own refusals,
// whatever wraps it on the way back.
type firstErrWriter struct {
	w   io.Writer
	err error
}

func (f *firstErrWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil && f.err == nil {
		f.err = err
	}
	return n, err
}

// backupWriteFailed is the sentence for a backup file that could not be
// written: the disk is full, or the system's reason without the
// temporary file's name.
func backupWriteFailed(outPath string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("The backup could not be written to %s: the disk is full (nothing was written).", outPath)
	}
	return fmt.Errorf("The backup could not be written to %s (%v); nothing was written.", outPath, unwrapPath(err))
}

// syncDir flushes a folder's entries (a file just renamed into it).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// backupEngine is the service's backup writer for this data directory:
// the data file from one read transaction, the key, the certificate and
// the device CA.
func (e *env) backupEngine() *backup.Engine {
	return &backup.Engine{
		Snapshot: func(w io.Writer) (map[string]int, uint64, string, error) {
			info, err := e.st.Snapshot(w)
			return info.Counts, info.LogLast, info.LogHead, err
		},
		Files: map[string]string{
			backup.KeyName:    filepath.Join(e.keyDir, store.KeyFileName),
			backup.CertName:   filepath.Join(e.dir, certs.CertFile),
			backup.TLSKeyName: filepath.Join(e.keyDir, certs.KeyFile),
			// The device CA lives in the key directory too (app/env.go).
			backup.DeviceCACertName: filepath.Join(e.keyDir, certs.DeviceCACertFile),
			backup.DeviceCAKeyName:  filepath.Join(e.keyDir, certs.DeviceCAKeyFile),
			// And the console CA (#12), so paired consoles stay paired.
			backup.ConsoleCACertName: filepath.Join(e.keyDir, certs.ConsoleCACertFile),
			backup.ConsoleCAKeyName:  filepath.Join(e.keyDir, certs.ConsoleCAKeyFile),
		},
		Version: buildVersion(),
		Now:     e.svc.Now,
	}
}

// buildVersion is the module version the binary was built from.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

var keyCommands = map[string]command{
	"rotate": {
		usage: "key rotate",
		setup: noFlags(func(c *cli, _ []string) error {
			return c.withEnv(func(e *env) error {
				if err := e.refuseWhileSiteRuns("key rotate"); err != nil {
					return err
				}
				n, err := e.st.RotateKey()
				if err != nil {
					return err
				}
				fmt.Fprintf(c.out, "The data key in %s was replaced; %d records were re-encrypted and the audit log re-chained. Backups made before keep working with their own key; take a new one.\n", e.keyDir, n)
				if e.kv != nil {
					fmt.Fprintf(c.out, "Copy the new %s to the key directory of every other server of this site before starting it: with the old key it cannot read the data.\n",
						filepath.Join(e.keyDir, store.KeyFileName))
					fmt.Fprintln(c.out, "etcd's history up to the rotation was compacted, so the values sealed under the old key are no longer served; run etcdctl defrag --cluster to remove them from the members' files too.")
				}
				return nil
			})
		}),
	},
}

// refuseWhileSiteRuns refuses what must not run beside a server of the
// same etcd site (issue #16): there no file lock keeps a second process
// out, and a key rotation under running servers would leave them unable
// to read what it re-encrypted. A running server campaigns in the site's
// election, so a candidate there means one runs. On the data file the
// file lock already does this.
func (e *env) refuseWhileSiteRuns(what string) error {
	if e.kv == nil {
		return nil
	}
	// As long as the connect was allowed (the address's request-timeout,
	// or 5 s).
	wait := e.kv.Config().DialTimeout
	if wait == 0 {
		wait = etcdstore.DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	who, err := e.leader.Current(ctx)
	if err != nil {
		// etcd stopped answering after the command opened the site: say
		// so, not etcd's text, and not "stop every server", which may
		// not be what is wrong.
		return &core.Error{Code: core.CodeInternal, Err: err, Message: fmt.Sprintf(
			"Could not tell whether a Provisio server runs on this etcd site, so %s did not start. %s", what, core.ErrorMessage(err))}
	}
	if who != "" {
		return fmt.Errorf("Provisio server %q is running on this etcd site; stop every server of the site, then run %s again, then copy the new %s to every server's key directory before starting them", who, what, store.KeyFileName)
	}
	return nil
}
