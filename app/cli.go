package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/certs"
	"provisio/core/store"
	"provisio/core/termsecret"
)

// Exit codes scripts and service installs rely on.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usageTop = `Provisio: mobile authenticator provisioning for a small office.

Usage:
  provisio [--data DIR]                                open the console
  provisio --connect HOST[:PORT]                       open the console of a Provisio server on another machine
                                                       (pairs with a code the first time; port 8444 by default)
  provisio [--data DIR] console pair NAME [--role helpdesk|admin]
                                                       print a one-time code to pair a remote console
  provisio [--data DIR] console list | console revoke NAME
  provisio [--data DIR] serve [--listen ADDR]          run the server without a window
  provisio [--data DIR] user add NAME [--email E] [--mobile M] [--pin -] [--group G] [--full-name F]
  provisio [--data DIR] user list | user delete NAME
  provisio [--data DIR] user clientlog NAME [--clear]  the diagnostic logs the user's phone uploaded (client logging on)
  provisio [--data DIR] reprovision NAME [--mail]      print the code, the Provision URL and the QR; --mail also emails them
  provisio [--data DIR] reprovision NAME --oath [--hotp] [--digits 8] [--algorithm SHA256] [--mail]
                                                       issue an authenticator-app token: print the otpauth URI, the QR and the deadline
  provisio [--data DIR] settings list | get KEY | set KEY VALUE|-
  provisio [--data DIR] agent add NAME --host H --secret - [--group G] [--helpdesk] [--repository]
  provisio [--data DIR] agent list | agent delete NAME
  provisio [--data DIR] profile list | show NAME | add NAME --email E | set NAME KEY VALUE | delete NAME [--reassign OTHER]
  provisio [--data DIR] profile assign NAME --group G | --user U
  provisio [--data DIR] profile effective USER        the user's profile and where each value comes from
  provisio service install | uninstall | status | unit   run serve as a systemd service
  provisio [--data DIR] check [--create-empty]         check the data file (or, with --store, the etcd site's records) for damage and print a report
  provisio [--data DIR] backup --out FILE (--passphrase-file F | --recipient AGE_RECIPIENT)
  provisio [--data DIR] restore FILE (--passphrase-file F | --identity F)
                                                       encrypted backup of the data, key and certificate (taken by the
                                                       running server when one holds DIR); a verified restore (server stopped);
                                                       daily backups into a folder: settings backup.folder, backup.time,
                                                       backup.keep, backup.recipient or backup.passphrase_file
  provisio [--data DIR] key rotate                     re-encrypt everything under a new data key
  provisio [--data DIR] log verify                     check the audit log's chain and name the first bad entry
  provisio [--data DIR] log show [--tail N]            the newest N (50) audit-log entries, each with who acted (BY)
  provisio [--data DIR] log export [--out FILE] [--text]   the whole audit log as CSV (or text), the chain head last
  provisio [--data DIR] [--store URL] store copy --to etcd://h1:2379,h2:2379/site | --to DIR
                                                       copy every record to etcd (or back to a data file) and verify the copy

A secret is given as - (--pin -, --secret -, settings set smtp.password -):
typed without echo at a terminal or read from standard input. A secret
written on the command line is refused, as other users see it in 'ps' and it
stays in shell history.

While another Provisio (serve, the service or the console) holds the data
directory, the user, reprovision (without --oath), settings, agent, console,
backup, log show, log export and profile commands and the console attach to
it through DIR/admin.sock (docs/admin-api.md) instead of failing; the others
say the directory is in use.

With --connect HOST before them, the user, reprovision, settings, agent,
console, log show, log export and profile commands run on that server as the
paired console (its role applies: a helpdesk console reads the profiles and
assigns one to a user; changing the profiles or a group's is an
administrator's).

Every command takes --help ("provisio help [COMMAND]" is [COMMAND] --help). Exit codes: 0 ok, 1 error, 2 usage.
The data directory defaults to %s.
The data key provisio.key lives apart from it: --key-dir DIR before the
command, or PROVISIO_KEY_DIR, or by default the sibling directory <data>-keys.

--store etcd://host1:2379,host2:2379,host3:2379[/site] (or PROVISIO_STORE),
before the command, keeps the records in an etcd cluster shared by several
Provisio servers instead of the data file; --etcd-ca, --etcd-cert and
--etcd-key (or PROVISIO_ETCD_CA, _CERT, _KEY) for TLS. Every node needs the
same provisio.key. 'provisio store copy --to URL' copies the records over.
`

// usageError is a mistake in the command line: exit code 2. line, when
// set, is the whole line to print instead of "provisio: msg" and the
// pointer to --help (optionError's names the command's own help).
type usageError struct{ msg, line string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{msg: fmt.Sprintf(format, args...)} }

// cli carries the parsed global flags and the output streams.
type cli struct {
	dataDir string
	keyDir  string // --key-dir; "" is PROVISIO_KEY_DIR or the default (keyDirFor)
	// store is where the records are: --store etcd://... or the data file.
	store       storeChoice
	out, errOut io.Writer
	// in is where secrets given as "-" are read; nil means os.Stdin.
	in io.Reader
	// stop ends "serve"; nil means wait for SIGINT or SIGTERM.
	stop <-chan struct{}
	// started, when set, receives the server's address once it listens.
	started chan<- string
	// connect is --connect HOST[:PORT]: a remote server, reached as a
	// paired console (cli_console.go).
	connect string
}

// run is the whole program: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return (&cli{out: stdout, errOut: stderr}).run(args)
}

func (c *cli) run(args []string) (code int) {
	// No panic reaches the user as a stack trace: whatever a command hits
	// (a bug, a data file damaged in a way Open cannot see) ends in one
	// sentence and exit code 1. A fault on bbolt's memory map would kill
	// the process outright; made a panic here, it is recovered too.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			code = c.fail(internalError{})
		}
	}()
	stdout := c.out
	fs := flag.NewFlagSet("provisio", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.dataDir, "data", defaultDataDir(), "data directory")
	fs.StringVar(&c.keyDir, "key-dir", "", "directory of the data key provisio.key")
	fs.StringVar(&c.connect, "connect", "", "HOST[:PORT] of a Provisio server to work on as a paired console")
	fs.StringVar(&c.store.url, "store", "", "etcd://host1:2379,host2:2379,host3:2379[/site] to keep the records in etcd")
	fs.StringVar(&c.store.ca, "etcd-ca", "", "CA certificate file of the etcd members")
	fs.StringVar(&c.store.cert, "etcd-cert", "", "client certificate file for etcd")
	fs.StringVar(&c.store.key, "etcd-key", "", "client key file for etcd")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		return c.fail(optionError("", "", err, args))
	}
	// "provisio help" as well, as "provisio user help" shows the user
	// commands; "provisio help COMMAND" is "provisio COMMAND --help".
	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "help" {
		if len(rest) > 1 && rest[1] != "--help" && rest[1] != "-h" {
			return c.fail(c.dispatch(rest[1], append(append([]string{}, rest[2:]...), "--help")))
		}
		*help = true
	}
	if *help {
		fmt.Fprintf(stdout, usageTop, defaultDataDir())
		return exitOK
	}
	c.store = c.store.withEnvDefaults()
	if err := c.store.check(); err != nil {
		return c.fail(err)
	}
	// A restore killed half-way is finished (or cleaned away) before
	// anything, the console or a server above all, uses the directory.
	if c.connect == "" {
		if err := c.finishInterruptedRestore(); err != nil {
			return c.fail(err)
		}
	}
	var err error
	switch {
	case len(rest) == 0 && c.connect != "":
		err = c.remoteConsole()
	case len(rest) == 0:
		err = c.console()
		c.consoleRefused(err)
	case c.connect != "" && !remoteCommands[rest[0]]:
		err = usagef("--connect works with the console and the user, reprovision, settings, agent, console, log show, log export and profile commands, not %q", rest[0])
	default:
		err = c.dispatch(rest[0], rest[1:])
	}
	return c.fail(err)
}

// fail prints err the way a person should read it and picks the exit code.
func (c *cli) fail(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errHelp) {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) && ue.line != "" {
		fmt.Fprintln(c.errOut, ue.line)
		return exitUsage
	}
	if errors.As(err, &ue) {
		fmt.Fprintf(c.errOut, "provisio: %s\nRun 'provisio --help' for usage.\n", ue.msg)
		return exitUsage
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(c.errOut, "provisio: %s\n", ce.Message)
	} else if s := c.accessSentence(err); s != "" {
		fmt.Fprintf(c.errOut, "provisio: %s\n", s)
	} else {
		fmt.Fprintf(c.errOut, "provisio: %v\n", err)
	}
	return exitError
}

var errHelp = errors.New("help shown")

// internalError is a recovered panic: the user gets one sentence; the
// detail (never a stack) goes to the audit log when it could be written.
type internalError struct{ logged bool }

func (e internalError) Error() string {
	s := "An internal error stopped the command before it finished"
	if e.logged {
		s += " (the audit log has the detail)"
	}
	return s + "; run 'provisio check' to test the data file, and report the error if it happens again."
}

// recovered turns a panic inside a command into an internalError, with
// the detail in the audit log when it could be written.
func (e *env) recovered(v any) error {
	return internalError{logged: e.logPanic("Command failed", v)}
}

// secretArg resolves a secret given on the command line. "-" reads it
// from the terminal without echo, or from standard input; "" is no
// secret. Any other value is refused before anything is changed, as argv
// is visible to other users in 'ps' and stays in shell history
// (docs/decisions.md "A secret on argv is refused"). kind says what it
// is ("A PIN"), how what to give instead ("--pin -"), label the prompt
// ("PIN for bob").
func (c *cli) secretArg(value, kind, how, label string) (string, error) {
	if value == "" {
		return "", nil
	}
	if value != "-" {
		return "", secretOnArgv(kind, how)
	}
	in := c.in
	if in == nil {
		in = os.Stdin
	}
	return termsecret.Read(in, c.errOut, label)
}

// secretOnArgv is the one sentence that refuses a secret given as a value
// on the command line and says how to give it instead.
func secretOnArgv(kind, how string) error {
	return usagef("%s on the command line is refused, as other users see it in 'ps' and it stays in shell history; give %s instead to type it without echo or pipe it on standard input.", kind, how)
}

// command describes one subcommand: its usage line, the number of
// positional arguments, and setup, which declares the flags on fs and
// returns the action that reads them.
type command struct {
	usage string
	args  int
	setup func(fs *flag.FlagSet) action
}

type action func(c *cli, args []string) error

// noFlags is the setup of a command without flags.
func noFlags(a action) func(*flag.FlagSet) action {
	return func(*flag.FlagSet) action { return a }
}

func (c *cli) dispatch(name string, args []string) error {
	groups := map[string]map[string]command{
		"user":     userCommands,
		"settings": settingsCommands,
		"agent":    agentCommands,
		"service":  serviceCommands,
		"profile":  profileCommands,
		"log":      logCommands,
		"key":      keyCommands,
		"console":  consoleCommands,
		"store":    storeCommands,
	}
	if cmds, ok := groups[name]; ok {
		if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
			fmt.Fprintf(c.out, "Usage of provisio %s:\n", name)
			keys := make([]string, 0, len(cmds))
			for k := range cmds {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			// The service's commands manage the unit, not a data
			// directory (install takes --service-data).
			global := "[--data DIR] "
			if name == "service" {
				global = ""
			}
			for _, k := range keys {
				fmt.Fprintf(c.out, "  provisio %s%s\n", global, cmds[k].usage)
			}
			if len(args) == 0 {
				return usagef("%s needs a subcommand", name)
			}
			return errHelp
		}
		cmd, ok := cmds[args[0]]
		if !ok {
			return usagef("unknown command %q", name+" "+args[0])
		}
		return c.runCommand(name+" "+args[0], cmd, args[1:])
	}
	if cmd, ok := topCommands[name]; ok {
		return c.runCommand(name, cmd, args)
	}
	return usagef("unknown command %q", name)
}

// openEnv opens the data directory for the command, first making it
// 0700 when it lets other users in, which it says on stderr
// (tightenDataDir).
// Its service acts for actor (core/actor.go): the audit log names the
// console, the command line or the server as who made each change.
func (c *cli) openEnv(actor core.Actor) (*env, error) {
	if notice := tightenDataDir(c.dataDir); notice != "" {
		fmt.Fprintln(c.errOut, notice)
	}
	// A mistyped --data used to start a second, empty Provisio without a
	// word: "user add" then added the person where no server looks.
	fresh := !c.store.etcd() && !exists(filepath.Join(c.dataDir, store.FileName))
	e, err := openEnvStore(c.dataDir, c.keyDir, c.store, actor)
	if err == nil {
		// What the open repaired after a crash (a key rotation cut short).
		for _, n := range e.st.Notices() {
			fmt.Fprintln(c.errOut, "provisio: "+n)
		}
		// A certificate regeneration cut short, before anything loads the
		// pair. Only on the data file, whose lock this process now holds:
		// an etcd node has no such lock, and takes the site's pair anyway.
		if !c.store.etcd() {
			if n, ferr := certs.FinishRegenerate(e.dir, e.keyDir); ferr != nil {
				fmt.Fprintln(c.errOut, "provisio: "+strings.TrimPrefix(ferr.Error(), "certs: ")+".")
			} else if n != "" {
				fmt.Fprintln(c.errOut, "provisio: "+n)
				_ = e.svc.Log(core.LevelWarn, "", "%s", n)
			}
		}
	}
	if err == nil && fresh {
		where := ""
		if svcDir := defaultService().DataDir; absPath(c.dataDir) != svcDir {
			where = " (the service's is " + svcDir + ")"
		}
		fmt.Fprintf(c.errOut, "provisio: there was no data in %s, so a new, empty data directory was started there; if you meant another, give its path with --data%s.\n",
			c.dataDir, where)
	}
	return e, err
}

// commandLine is who a command run on the data directory acts as.
var commandLine = core.OperatorActor(core.CommandLine)

// withEnv opens the data directory for one command and closes it after;
// its changes are the command line's.
func (c *cli) withEnv(fn func(e *env) error) error { return c.withEnvAs(commandLine, fn) }

// withEnvAs is withEnv acting for actor (serve acts for the server).
func (c *cli) withEnvAs(actor core.Actor, fn func(e *env) error) (err error) {
	if c.connect != "" {
		// A command let through for its API form (reprovision without
		// --oath) must not quietly open this machine's data directory.
		return usagef("this form of the command works on this machine's data directory only, not with --connect")
	}
	e, err := c.openEnv(actor)
	if err != nil {
		return err
	}
	defer e.close()
	defer func() {
		if v := recover(); v != nil {
			err = e.recovered(v)
		}
	}()
	return fn(e)
}

// withAPI runs fn against the data directory through the admin API:
// in this process when the directory is free (e is set then), or
// attached over the admin socket to the Provisio that holds it (e is
// nil), so each command is written once for both.
func (c *cli) withAPI(fn func(api adminapi.API, e *env) error) error {
	return c.attach(func(client *adminapi.Client, e *env) error {
		if e != nil {
			return fn(adminapi.Local{Svc: e.svc}, e)
		}
		return fn(client, nil)
	})
}

// withConsole runs fn against the data directory through core.ConsoleAPI,
// the use cases of the full console: the Service itself when the
// directory is free, or adminapi.Console attached to the Provisio that
// holds it (or, with --connect, to that server as the paired console), by
// the same choice as withAPI. On an opened directory the log names the
// command line (the Service acts as it, commandLine); attached, the
// server names the operator (the socket's user, or the console).
func (c *cli) withConsole(fn func(api core.ConsoleAPI) error) error {
	return c.attach(func(client *adminapi.Client, e *env) error {
		if e != nil {
			return fn(e.svc)
		}
		return fn(adminapi.NewConsole(client))
	})
}

// attach runs fn with the data directory: opened in this process when it
// is free (e is set, client nil), or with a client attached over the
// admin socket to the Provisio that holds it, or to --connect's server as
// the paired console (client is set, e nil).
func (c *cli) attach(fn func(client *adminapi.Client, e *env) error) (err error) {
	if c.connect != "" {
		return c.withRemote(fn)
	}
	// Only the process holding the directory listens on its socket, so
	// an answer there means it is held: attach at once rather than wait
	// for the store's lock to time out.
	if client, ok := c.dialRunning(); ok {
		return fn(client, nil)
	}
	e, err := c.openEnv(commandLine)
	if errors.Is(err, store.ErrLocked) {
		// It may have started listening while the lock was tried.
		client, derr := adminapi.Dial(filepath.Join(c.dataDir, adminapi.SocketName))
		switch {
		case derr == nil:
			fmt.Fprintf(c.errOut, "provisio: attached to the Provisio running on %s.\n", c.dataDir)
			return fn(client, nil)
		case errors.Is(derr, fs.ErrPermission):
			return fmt.Errorf("%w, by another user: run the command as that user or with sudo to attach to it.", err)
		default:
			// Held, but nobody answers on the socket: a Provisio from
			// before #12, or one still starting.
			return fmt.Errorf("%w, and the Provisio holding it does not answer on %s; try again in a moment, or stop it and run the command again.", err, adminapi.SocketName)
		}
	}
	if err != nil {
		return err
	}
	defer e.close()
	defer func() {
		if v := recover(); v != nil {
			err = e.recovered(v)
		}
	}()
	return fn(nil, e)
}

// dialRunning attaches to the Provisio serving the data directory's
// admin socket, if one answers there; a file left by a killed process
// does not answer.
func (c *cli) dialRunning() (*adminapi.Client, bool) {
	client, ok := c.dialSocket()
	if ok {
		fmt.Fprintf(c.errOut, "provisio: attached to the Provisio running on %s.\n", c.dataDir)
	}
	return client, ok
}

// dialSocket is dialRunning without a word on stderr, for the console.
func (c *cli) dialSocket() (*adminapi.Client, bool) {
	path := filepath.Join(c.dataDir, adminapi.SocketName)
	if _, err := os.Stat(path); err != nil {
		return nil, false
	}
	client, err := adminapi.Dial(path)
	if err != nil {
		return nil, false
	}
	return client, true
}

var topCommands = map[string]command{
	"serve":       serveCommand,
	"reprovision": reprovisionCommand,
	"check":       checkCommand,
	"backup":      backupCommand,
	"restore":     restoreCommand,
}
