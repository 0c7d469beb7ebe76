package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
)

// accessSentence turns the file system's refusal of the data or key
// directory into the sentence an admin acts on, or returns "" for any
// other error. The usual case is the service's directory (0700, user
// provisio) opened without sudo: Go's "open DIR/provisio.db: stat
// DIR/provisio.db: permission denied" says what failed, not whom to run
// the command as. Only paths in, under or above the two directories are
// rewritten, so a refused --out or passphrase file keeps its own sentence.
func (c *cli) accessSentence(err error) string {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return ""
	}
	dir := absPath(c.dataDir)
	keyDir := absPath(keyDirFor(c.dataDir, c.keyDir))
	p := absPath(pe.Path)
	ours := func(d string) bool {
		return p == d || strings.HasPrefix(p, d+string(filepath.Separator)) || strings.HasPrefix(d, p+string(filepath.Separator))
	}
	if !ours(dir) && !ours(keyDir) {
		return ""
	}
	switch {
	case errors.Is(err, syscall.ENOTDIR) && ours(dir):
		return fmt.Sprintf("The data directory %s is not a directory; give --data the folder that holds provisio.db (or an empty one to start in).", dir)
	case errors.Is(err, fs.ErrPermission) && pe.Op == "mkdir":
		return fmt.Sprintf("%s does not exist and this user may not create it (permission denied): check the directory given with --data, create it, or run the command with sudo.", p)
	case errors.Is(err, fs.ErrPermission):
		owner := dir
		if !ours(dir) {
			owner = keyDir
		}
		return fmt.Sprintf("This user may not use %s (permission denied): run the command as the user who owns %s, or with sudo.", p, owner)
	}
	return ""
}
