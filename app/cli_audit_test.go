package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"provisio/core/store"
)

// Tests of the CLI, backup, import and profiles audit
// (docs/decisions.md "CLI, backup, import and profiles audit").

// TestCLI_NonUTF8UserRefused: a username or full name typed in a
// Latin-1 terminal (bytes that are not UTF-8) is refused with a
// sentence, and whatever was tried, the audit log still verifies and a
// backup can be taken. Before, "user add $'b\xffc'" was accepted and its
// log line broke the chain for ever: 'log verify' and every backup
// failed with "The audit log does not verify at entry #N".
func TestCLI_NonUTF8UserRefused(t *testing.T) {
	dir := privateTempDir(t)
	for _, args := range [][]string{
		{"user", "add", "b\xffc"},
		{"user", "add", "bob", "--full-name", "M\xfcller"},
		{"user", "add", "bob", "--group", "Verk\xe4ufer"},
	} {
		code, _, errOut := runCLI(t, dir, args...)
		if code != exitError || !strings.Contains(errOut, "is not UTF-8 text") {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and a sentence about UTF-8", args, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice", "--full-name", "Zoë Müller"); code != exitOK {
		t.Fatalf("a UTF-8 full name: exit %d, %q", code, errOut)
	}
	if code, out, errOut := runCLI(t, dir, "log", "verify"); code != exitOK {
		t.Fatalf("log verify: exit %d, %q %q", code, out, errOut)
	}
}

// TestCLI_BackupOutRefusesToDestroy: --out never replaces what a backup
// is made of or what it needs. "backup --out DATA/provisio.db" used to
// rename the backup over the live data file ("Backup written", then
// every command: "The data file … is damaged"), and "--out" naming the
// passphrase file replaced the only copy of the passphrase. A folder,
// or a folder that does not exist, is a sentence, not
// "rename /.tmp.123.tmp /tmp: file exists".
func TestCLI_BackupOutRefusesToDestroy(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %d %q", code, errOut)
	}
	pass := filepath.Join(root, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataFile := filepath.Join(dir, store.FileName)
	keyFile := filepath.Join(keyDirFor(dir, ""), store.KeyFileName)
	before := map[string][]byte{}
	for _, f := range []string{dataFile, keyFile, pass} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		before[f] = b
	}
	tests := []struct{ out, want string }{
		{dataFile, "which holds the data and keys"},
		{filepath.Join(dir, "backup.age"), "which holds the data and keys"},
		{keyFile, "which holds the data and keys"},
		{pass, "exists and is not a Provisio backup"},
		{root, "is a folder"},
		{filepath.Join(root, "missing", "b.age"), "does not exist; create it"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, dir, "backup", "--out", tt.out, "--passphrase-file", pass)
		if code != exitError || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "nothing was written") {
			t.Errorf("backup --out %s: exit %d, %q %q; want exit 1 and ~%q", tt.out, code, out, errOut, tt.want)
		}
	}
	for f, b := range before {
		if got, err := os.ReadFile(f); err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s was changed by a refused backup (%v)", f, err)
		}
	}
	if code, out, errOut := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
		t.Fatalf("user list after the refused backups: %d %q %q", code, out, errOut)
	}
	// A backup may replace an older backup of the same name.
	good := filepath.Join(root, "b.age")
	for i := 0; i < 2; i++ {
		if code, out, errOut := runCLI(t, dir, "backup", "--out", good, "--passphrase-file", pass); code != exitOK {
			t.Fatalf("backup %d: %d %q %q", i, code, out, errOut)
		}
	}
}

// TestCLI_BackupOutAttachedRefusesServiceDirs: a command attached to a
// running Provisio without --key-dir does not know the key directory the
// service was started with; the service tells it (GET /v1/server), so
// "backup --out" into that directory, or into the data directory, is
// refused as it is locally, also through a symbolic link. A file
// elsewhere is written.
func TestCLI_BackupOutAttachedRefusesServiceDirs(t *testing.T) {
	root := privateTempDir(t)
	dir, serviceKeys := filepath.Join(root, "data"), filepath.Join(root, "service-keys")
	heldWithAdminKeys(t, dir, serviceKeys)
	pass := filepath.Join(root, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	linkKeys, linkData := filepath.Join(root, "keys-link"), filepath.Join(root, "data-link")
	if err := os.Symlink(serviceKeys, linkKeys); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, linkData); err != nil {
		t.Fatal(err)
	}
	listing := func(d string) []string {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	if err := os.Mkdir(filepath.Join(serviceKeys, "archive"), 0o700); err != nil {
		t.Fatal(err)
	}
	keysBefore, dataBefore := listing(serviceKeys), listing(dir)
	tests := []struct{ name, out, inside string }{
		{"the service's key directory", filepath.Join(serviceKeys, "backup.age"), serviceKeys},
		{"a folder in the key directory", filepath.Join(serviceKeys, "archive", "backup.age"), serviceKeys},
		{"a link to the key directory", filepath.Join(linkKeys, "backup.age"), serviceKeys},
		{"a link to the data directory", filepath.Join(linkData, "backup.age"), dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, dir, "backup", "--out", tt.out, "--passphrase-file", pass)
			want := "is inside " + tt.inside + ", which holds the data and keys"
			if code != exitError || !strings.Contains(errOut, want) || !strings.Contains(errOut, "nothing was written") {
				t.Errorf("exit %d, %q %q; want exit 1 and ~%q", code, out, errOut, want)
			}
		})
	}
	if got := listing(serviceKeys); !slices.Equal(got, keysBefore) {
		t.Errorf("the service's key directory holds %q after the refused backups, had %q", got, keysBefore)
	}
	if got := listing(dir); !slices.Equal(got, dataBefore) {
		t.Errorf("the data directory holds %q after the refused backups, had %q", got, dataBefore)
	}
	good := filepath.Join(root, "b.age")
	code, out, errOut := runCLI(t, dir, "backup", "--out", good, "--passphrase-file", pass)
	if code != exitOK || !strings.Contains(out, "Backup taken by the running server") || !isBackupFile(good) {
		t.Fatalf("backup to %s: exit %d, %q %q", good, code, out, errOut)
	}
}

// passphraseBackup adds alice to a new data directory under root and
// backs it up to a file with a passphrase file, as the restore tests
// start: it returns the data directory, the passphrase file and the
// backup.
func passphraseBackup(t *testing.T, root string) (dir, pass, backupFile string) {
	t.Helper()
	dir = filepath.Join(root, "data")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %d %q", code, errOut)
	}
	pass = filepath.Join(root, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backupFile = filepath.Join(root, "b.age")
	if code, _, errOut := runCLI(t, dir, "backup", "--out", backupFile, "--passphrase-file", pass); code != exitOK {
		t.Fatalf("backup: %d %q", code, errOut)
	}
	return dir, pass, backupFile
}

// TestCLI_RestoreBadFileSentences: a backup file that is missing, a
// folder, empty, not a backup or cut short, and a passphrase or identity
// file that is missing or a folder, each get a sentence that says what
// is wrong, never age's or the system's text ("parsing age header:
// unexpected intro: \"\x9bs…\"", "open /x: no such file or directory",
// "read /tmp: is a directory", "failed to decrypt and authenticate
// payload chunk"), and the data is not touched.
func TestCLI_RestoreBadFileSentences(t *testing.T) {
	root := t.TempDir()
	dir, pass, good := passphraseBackup(t, root)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := write("garbage.age", []byte("\x9bs\x8c\x99\x9e6\xae=\aKy5u\x15\xa04I\xda\xbc\xb3\xc9w and more bytes"))
	empty := write("empty.age", nil)
	cut := write("cut.age", data[:len(data)/2])
	header := write("header.age", data[:100])
	tests := []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(root, "missing.age"), "--passphrase-file", pass}, "does not exist"},
		{[]string{root, "--passphrase-file", pass}, "is a folder"},
		{[]string{empty, "--passphrase-file", pass}, "the file is empty"},
		{[]string{garbage, "--passphrase-file", pass}, "is not a Provisio backup"},
		{[]string{cut, "--passphrase-file", pass}, "damaged or cut short"},
		{[]string{header, "--passphrase-file", pass}, "damaged or cut short"},
		{[]string{good, "--passphrase-file", filepath.Join(root, "nope")}, "the passphrase file"},
		{[]string{good, "--passphrase-file", root}, "is a folder"},
		{[]string{good, "--identity", filepath.Join(root, "nope")}, "the identity file"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, dir, append([]string{"restore"}, tt.args...)...)
		if code != exitError || !strings.Contains(errOut, tt.want) {
			t.Errorf("restore %q: exit %d, %q %q; want exit 1 and ~%q", tt.args, code, out, errOut, tt.want)
		}
		for _, raw := range []string{"age header", `\x`, "open /", "read /", "failed to", "no such file", "chunk"} {
			if strings.Contains(errOut, raw) {
				t.Errorf("restore %q: stderr %q carries a library's or the system's text (%q)", tt.args, errOut, raw)
			}
		}
	}
	if code, out, _ := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
		t.Fatalf("the data changed: %d %q", code, out)
	}
}

// TestCLI_RestoreFailingHalfWayPutsBack: a restore that fails while it
// puts the restored files in place (here: the data directory is already
// swapped and the current key moved aside when the restored key cannot
// be renamed into place) undoes what it did, so the data directory and
// key are exactly as before and the sentence says nothing was changed.
// Before, the restored data stayed in place with the previous key moved
// aside and no key at all, and the error said only "put the restored
// provisio.key in place: …".
func TestCLI_RestoreFailingHalfWayPutsBack(t *testing.T) {
	for _, failAt := range []string{"write " + store.KeyFileName, "in place " + store.KeyFileName, "sync"} {
		t.Run(failAt, func(t *testing.T) {
			root := t.TempDir()
			dir, pass, b := passphraseBackup(t, root)
			keyDir := keyDirFor(dir, "")
			// Made after the backup: it must still be there after the
			// failed restore.
			if code, _, errOut := runCLI(t, dir, "user", "add", "bob"); code != exitOK {
				t.Fatalf("user add: %d %q", code, errOut)
			}
			listing := func() []string {
				var names []string
				for _, d := range []string{root, dir, keyDir} {
					es, err := os.ReadDir(d)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range es {
						names = append(names, filepath.Join(d, e.Name()))
					}
				}
				return names
			}
			before := listing()
			key, err := os.ReadFile(filepath.Join(keyDir, store.KeyFileName))
			if err != nil {
				t.Fatal(err)
			}
			restoreFault = func(step string) error {
				if strings.HasPrefix(step, failAt) {
					return errors.New("injected failure")
				}
				return nil
			}
			defer func() { restoreFault = nil }()
			code, out, errOut := runCLI(t, dir, "restore", b, "--passphrase-file", pass)
			restoreFault = nil
			if code != exitError || !strings.Contains(errOut, "nothing was changed") || strings.Contains(out, "Restored") {
				t.Fatalf("restore failing at %q: exit %d, %q %q; want exit 1 and nothing was changed", failAt, code, out, errOut)
			}
			if after := listing(); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("files before the restore:\n%s\nafter it failed:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
			}
			if got, err := os.ReadFile(filepath.Join(keyDir, store.KeyFileName)); err != nil || !bytes.Equal(got, key) {
				t.Errorf("the data key is not the one from before the restore (%v)", err)
			}
			if code, out, errOut := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "bob") {
				t.Fatalf("user list after the failed restore: %d %q %q", code, out, errOut)
			}
			// And without the fault the same restore goes through.
			if code, out, errOut := runCLI(t, dir, "restore", b, "--passphrase-file", pass); code != exitOK || !strings.Contains(out, "Restored") {
				t.Fatalf("restore: %d %q %q", code, out, errOut)
			}
			if code, out, _ := runCLI(t, dir, "user", "list"); code != exitOK || strings.Contains(out, "bob") || !strings.Contains(out, "alice") {
				t.Fatalf("user list after the restore: %d %q", code, out)
			}
		})
	}
}

// TestCLI_HelpAndREADMENameEveryCommand: 'provisio --help' and the
// README's command-line block, which scripts are told to rely on, name
// every command and subcommand the program has, and every flag of the
// user, reprovision and backup commands. Before, --help had no 'user
// clientlog' and no --mail with --oath, and the README's block had no
// backup, restore, key rotate, log verify or store copy, nor --full-name.
func TestCLI_HelpAndREADMENameEveryCommand(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := string(readme)
	block = block[strings.Index(block, "## Command line"):]
	block = block[strings.Index(block, "```")+3:]
	block = block[:strings.Index(block, "```")]
	var help bytes.Buffer
	if code := run([]string{"--help"}, &help, io.Discard); code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	groups := map[string]map[string]command{
		"user": userCommands, "settings": settingsCommands, "agent": agentCommands,
		"service": serviceCommands, "profile": profileCommands, "log": logCommands,
		"key": keyCommands, "console": consoleCommands, "store": storeCommands,
	}
	// lineWith reports whether a line of text names the command: it
	// starts with "provisio", holds the group, and the subcommand as a
	// word of its own ("profile list | show NAME").
	lineWith := func(text, group, sub string) bool {
		for _, l := range strings.Split(text, "\n") {
			if !strings.Contains(l, "provisio ") {
				continue
			}
			words := strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == '|' || r == '`' })
			hasGroup, hasSub := false, sub == ""
			for _, w := range words {
				hasGroup = hasGroup || w == group
				hasSub = hasSub || w == sub
			}
			if hasGroup && hasSub {
				return true
			}
		}
		return false
	}
	for g, cmds := range groups {
		for sub := range cmds {
			for where, text := range map[string]string{"--help": help.String(), "the README's command block": block} {
				if !lineWith(text, g, sub) {
					t.Errorf("%s does not name 'provisio %s %s'", where, g, sub)
				}
			}
		}
	}
	for name := range topCommands {
		for where, text := range map[string]string{"--help": help.String(), "the README's command block": block} {
			if !lineWith(text, name, "") {
				t.Errorf("%s does not name 'provisio %s'", where, name)
			}
		}
	}
	flagsOf := func(cmd command) []string {
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		cmd.setup(fs)
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
		return names
	}
	for label, cmd := range map[string]command{"user add": userCommands["add"], "reprovision": reprovisionCommand,
		"backup": backupCommand, "restore": restoreCommand, "user clientlog": clientLogCommand} {
		for _, f := range flagsOf(cmd) {
			if f == "--admin" { // the same as --repository, not advertised
				continue
			}
			if !strings.Contains(help.String(), f) || !strings.Contains(block, f) {
				t.Errorf("%s: --help or the README's command block lacks %s", label, f)
			}
		}
	}
}

// TestCLI_HelpWithACommand: "provisio help" is --help ("provisio --help"
// says so, and every command takes --help), so "provisio help --help"
// prints the usage and "provisio help COMMAND" is "provisio COMMAND
// --help"; both were 'unknown command "help"' with exit code 2.
func TestCLI_HelpWithACommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in standard output, or standard error when code != 0
	}{
		{[]string{"help", "--help"}, exitOK, "provisio [--data DIR] serve [--listen ADDR]"},
		{[]string{"help", "-h"}, exitOK, "provisio [--data DIR] serve [--listen ADDR]"},
		{[]string{"help", "serve"}, exitOK, "-listen string"},
		{[]string{"help", "user"}, exitOK, "provisio [--data DIR] user add NAME"},
		{[]string{"help", "user", "add"}, exitOK, "--full-name"},
		{[]string{"help", "log", "show"}, exitOK, "--tail"},
		{[]string{"--data", "DIR", "help", "backup"}, exitOK, "--passphrase-file"},
		{[]string{"help", "nonsense"}, exitUsage, `unknown command "nonsense"`},
		// install takes --service-data; --data before "service" is not the
		// service's data directory.
		{[]string{"help", "service"}, exitOK, "  provisio service install [--user U] [--service-data DIR]"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			got := out.String()
			if tc.code != exitOK {
				got = errOut.String()
			}
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q; want %q", code, tc.code, out.String(), errOut.String(), tc.want)
			}
		})
	}
}

// TestCLI_HelpCommand: "provisio help" prints the usage, as "provisio
// user help" prints the user commands'; it was 'unknown command "help"'
// with exit code 2.
func TestCLI_HelpCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"help"}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "provisio [--data DIR] serve") {
		t.Fatalf("provisio help: exit %d, %q %q", code, out.String(), errOut.String())
	}
}

// TestCLI_EveryHelpSpeaksToTheAdmin: no command's --help names a source
// file ("(cli_oath.go)" was in reprovision's): the reader is an admin.
func TestCLI_EveryHelpSpeaksToTheAdmin(t *testing.T) {
	groups := map[string]map[string]command{
		"user": userCommands, "settings": settingsCommands, "agent": agentCommands,
		"service": serviceCommands, "profile": profileCommands, "log": logCommands,
		"key": keyCommands, "console": consoleCommands, "store": storeCommands,
	}
	var lines [][]string
	for g, cmds := range groups {
		for sub := range cmds {
			lines = append(lines, []string{g, sub, "--help"})
		}
	}
	for name := range topCommands {
		lines = append(lines, []string{name, "--help"})
	}
	lines = append(lines, []string{"--help"})
	for _, args := range lines {
		var out bytes.Buffer
		if code := run(args, &out, io.Discard); code != exitOK {
			t.Errorf("%v: exit %d", args, code)
		}
		if strings.Contains(out.String(), ".go") {
			t.Errorf("%v names a source file:\n%s", args, out.String())
		}
	}
}
