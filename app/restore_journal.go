package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

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

// replacedNote is the sentence that says where a finished swap put the
// previous data directory and key files, naming only what was there to
// put aside: a restore into a directory whose key was lost (the reason
// to restore) renamed no key, and one into a fresh directory nothing.
func (j *restoreJournal) replacedNote() string {
	keyAside := false
	for _, k := range j.Keys {
		keyAside = keyAside || exists(k.Old)
	}
	switch data := exists(j.Aside); {
	case data && keyAside:
		return fmt.Sprintf("The replaced data is in %s; its key was renamed *.replaced-%s in %s.", j.Aside, j.Stamp, j.KeyDir)
	case data:
		return fmt.Sprintf("The replaced data is in %s.", j.Aside)
	case keyAside:
		return fmt.Sprintf("The previous key was renamed *.replaced-%s in %s.", j.Stamp, j.KeyDir)
	}
	return ""
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
		return cannotFinish(c.dataDir, path, err)
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
	if err != nil {
		return cannotFinish(c.dataDir, path, err)
	}
	if j.DataDir != dataDir {
		// The same journal under another spelling of the path (a
		// linked folder): it is followed only for the path it names,
		// so the person gives that one, as the key directory below.
		return fmt.Errorf("a restore into %s was interrupted, and its journal %s was written for --data %s; give --data %s to finish it, as that restore did (nothing was changed)", c.dataDir, path, j.DataDir, j.DataDir)
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
		return fmt.Errorf("the restore of %s into %s was interrupted, and finishing it failed (%v); %s", j.Backup, c.dataDir, unwrapPath(err), whatToDo(err, path))
	}
	j.clean()
	fmt.Fprintf(c.errOut, "provisio: the restore of %s into %s was interrupted; it is finished now.", j.Backup, c.dataDir)
	if note := j.replacedNote(); note != "" {
		fmt.Fprint(c.errOut, " "+note)
	}
	fmt.Fprintln(c.errOut)
	return nil
}

// cannotFinish is the sentence for a restore journal at path that cannot
// be locked or read.
func cannotFinish(dataDir, path string, err error) error {
	return fmt.Errorf("a restore into %s was interrupted, and it cannot be finished (%v); %s", dataDir, unwrapPath(err), whatToDo(err, path))
}

// whatToDo says what a person does about err, met while finishing the
// restore whose journal is at path: a refused permission is the usual
// case (the restore ran as root, this command does not); anything else
// is not fixed by another account, so it points at the journal.
func whatToDo(err error, path string) string {
	if errors.Is(err, fs.ErrPermission) {
		return "run the command again as the user who ran the restore (often root)"
	}
	return fmt.Sprintf("check the data directory and the files beside it, then run the command again; the journal %s says what the restore was doing", path)
}

// journalStamp is a restore's stamp as newRestoreJournal is given it
// (restoreStamp).
var journalStamp = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}(-[0-9]{1,4})?$`)

// restoreStamp is the stamp of a restore started at now: the time to the
// second, with "-2", "-3"… when a restore in the same second (or a file
// left by hand) already has the names it would give the replaced data
// and key files, which a rename onto them would refuse.
func restoreStamp(dataDir, keyDir string, now time.Time) string {
	base := now.UTC().Format("20060102-150405")
	stamp := base
	for n := 2; n < 10000; n++ {
		j := newRestoreJournal("", dataDir, keyDir, stamp)
		taken := exists(j.Aside) || exists(j.Stage) || exists(j.StageKeys)
		for _, name := range restoreKeyFiles {
			cur := filepath.Join(keyDir, name)
			taken = taken || exists(cur+".replaced-"+stamp) || exists(j.keyTemp(name))
		}
		if !taken {
			break
		}
		stamp = fmt.Sprintf("%s-%d", base, n)
	}
	return stamp
}

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
