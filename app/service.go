package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"

	"provisio/core/etcdstore"
)

// The system service: `provisio service install|uninstall|status|unit`
// runs `serve` under systemd, as its own user, so authentication outlives
// the admin's window. Only systemd (Linux) is supported today; launchd and
// Windows services are documented as not yet done (docs/decisions.md).

// serviceConfig is what the unit file is made from.
type serviceConfig struct {
	Name    string // unit name without .service
	User    string // system user the server runs as
	DataDir string // the data directory, owned by User
	// KeyDir holds the data key and the TLS key, apart from DataDir
	// (#13); owned by User, 0700.
	KeyDir string
	Binary string // absolute path of the provisio binary
	// Store is where the records are: "" for the data file, or the
	// etcd:// address of a site shared by several servers (#16), with
	// the TLS files EtcdCA, EtcdCert and EtcdKey (paths, never their
	// contents: the unit file is world-readable).
	Store                     string
	EtcdCA, EtcdCert, EtcdKey string
}

// withGlobal takes the options given before "service" into the unit:
// --key-dir (or PROVISIO_KEY_DIR) and the store, --store and --etcd-*
// (or PROVISIO_STORE and PROVISIO_ETCD_*), so that a server installed
// as a service keeps its records where the command line said. Paths
// become absolute: the service does not start in this directory.
func (cfg serviceConfig) withGlobal(c *cli) serviceConfig {
	if d := c.keyDir; d != "" || os.Getenv("PROVISIO_KEY_DIR") != "" {
		cfg.KeyDir = absPath(keyDirFor(c.dataDir, d))
	}
	cfg.Store = c.store.url
	cfg.EtcdCA, cfg.EtcdCert, cfg.EtcdKey = absPath(c.store.ca), absPath(c.store.cert), absPath(c.store.key)
	return cfg
}

// absPath is p made absolute; "" stays "".
func absPath(p string) string {
	if p == "" {
		return ""
	}
	return abs(p)
}

// unsafeInUnit are the characters a value on the ExecStart line may not
// hold: systemd would split, unquote or expand them (% specifiers, $
// variables).
const unsafeInUnit = " \t\n\"'\\%$`;"

// hiddenFromService are the trees the unit's sandbox hides from the
// server (ProtectHome=yes; PrivateTmp=yes gives it a /tmp of its own).
var hiddenFromService = []string{"/home", "/root", "/run/user", "/tmp", "/var/tmp"}

// hiddenTree returns the tree of hiddenFromService that holds path, or "".
func hiddenTree(path string) string {
	for _, h := range hiddenFromService {
		if path == h || strings.HasPrefix(path, h+"/") {
			return h
		}
	}
	return ""
}

// defaultService is the layout a Debian admin expects: a system user and
// the state under /var/lib (systemd's StateDirectory).
func defaultService() serviceConfig {
	return serviceConfig{Name: "provisio", User: "provisio", DataDir: "/var/lib/provisio", KeyDir: "/etc/provisio", Binary: "/usr/local/bin/provisio"}
}

// unitTemplate is the systemd unit. Restart=on-failure with a short delay
// brings authentication back after a crash; the hardening lines keep a
// compromised server away from the rest of the machine.
var unitTemplate = template.Must(template.New("unit").Parse(`# Provisio authentication server; written by "provisio service install".
[Unit]
Description=Provisio authentication server (AgentXML over HTTPS)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={{.User}}
Group={{.User}}
ExecStart={{.Binary}} --data {{.DataDir}}{{if .KeyDir}} --key-dir {{.KeyDir}}{{end}}{{if .Store}} --store {{.Store}}{{end}}{{if .EtcdCA}} --etcd-ca {{.EtcdCA}}{{end}}{{if .EtcdCert}} --etcd-cert {{.EtcdCert}}{{end}}{{if .EtcdKey}} --etcd-key {{.EtcdKey}}{{end}} serve
Restart=on-failure
RestartSec=2s
UMask=0077
LimitNOFILE=65536
# No capability but the one that lets an office serve on port 443.
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths={{.DataDir}}{{if .KeyDir}} {{.KeyDir}}{{end}}
ProtectProc=invisible
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
# Sockets: TCP for phones, agents and etcd, Unix for the local console,
# netlink for the LAN addresses the console shows.
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
# What a service needs; any other call fails with EPERM rather than
# killing the server (TestUnitSandbox_CoversWhatTheServerDoes).
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
RemoveIPC=yes
Environment=LANG=C.UTF-8

[Install]
WantedBy=multi-user.target
`))

// unitFile renders the unit for cfg.
func unitFile(cfg serviceConfig) (string, error) {
	for what, v := range map[string]string{"user": cfg.User, "data directory": cfg.DataDir, "binary": cfg.Binary} {
		if v == "" || strings.ContainsAny(v, " \t\n\"'\\%$") {
			return "", fmt.Errorf("the service %s %q must be non-empty and contain no spaces, quotes, %% or $", what, v)
		}
	}
	if cfg.KeyDir != "" && (strings.ContainsAny(cfg.KeyDir, " \t\n\"'\\%$") || !filepath.IsAbs(cfg.KeyDir)) {
		return "", fmt.Errorf("the service key directory %q must be an absolute path without spaces, quotes, %% or $", cfg.KeyDir)
	}
	if h := hiddenTree(cfg.KeyDir); h != "" {
		return "", fmt.Errorf("the service cannot use the key directory %s: the service's sandbox hides %s from it; use a directory under /etc (the default is /etc/provisio)", cfg.KeyDir, h)
	}
	if !filepath.IsAbs(cfg.DataDir) || !filepath.IsAbs(cfg.Binary) {
		return "", errors.New("the service's data directory and binary must be absolute paths")
	}
	if err := checkServiceStore(cfg); err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := unitTemplate.Execute(&b, cfg); err != nil {
		return "", err
	}
	return b.String(), nil
}

// checkServiceStore refuses a store setting the unit cannot carry as it
// is: an address with characters systemd would change, or with a user
// and password (the unit file is world-readable, and etcd clients here
// authenticate with --etcd-cert and --etcd-key files), or TLS files the
// service's sandbox hides from it.
func checkServiceStore(cfg serviceConfig) error {
	if cfg.Store == "" {
		if cfg.EtcdCA != "" || cfg.EtcdCert != "" || cfg.EtcdKey != "" {
			return errors.New("--etcd-ca, --etcd-cert and --etcd-key go with --store etcd://...")
		}
		return nil
	}
	if !etcdstore.IsURL(cfg.Store) {
		return fmt.Errorf("the service's store %q is not an etcd:// address", cfg.Store)
	}
	if strings.Contains(cfg.Store, "@") {
		return errors.New("the service cannot carry a user or password in the store address (the unit file is readable by everyone); give etcd a client certificate with --etcd-cert and --etcd-key instead")
	}
	if strings.ContainsAny(cfg.Store, unsafeInUnit) {
		return fmt.Errorf("the service's store address %q may not contain spaces, quotes, %%, $, ` or ;", cfg.Store)
	}
	for _, f := range []struct{ flag, path string }{{"--etcd-ca", cfg.EtcdCA}, {"--etcd-cert", cfg.EtcdCert}, {"--etcd-key", cfg.EtcdKey}} {
		if f.path == "" {
			continue
		}
		if !filepath.IsAbs(f.path) || strings.ContainsAny(f.path, unsafeInUnit) {
			return fmt.Errorf("the service's %s file %q must be an absolute path without spaces, quotes, %%, $, ` or ;", f.flag, f.path)
		}
		if h := hiddenTree(f.path); h != "" {
			return fmt.Errorf("the service cannot read its %s file %s: the service's sandbox hides %s from it; put the file under /etc (for example /etc/provisio), readable by the service's user", f.flag, f.path, h)
		}
	}
	return nil
}

// systemd runs the system tools install and uninstall need. root is the
// file-system root the unit is written under ("/" normally).
type systemd struct {
	root string
	out  io.Writer
	// run executes one command; commands are fixed words, never secrets.
	run func(name string, args ...string) error
}

func (s systemd) unitPath(cfg serviceConfig) string {
	return filepath.Join(s.root, "etc/systemd/system", cfg.Name+".service")
}

// install creates the user and data directory, copies the binary into
// place, writes the unit, then enables and starts it.
func (s systemd) install(cfg serviceConfig, self string) error {
	unit, err := unitFile(cfg)
	if err != nil {
		return err
	}
	if err := s.run("id", "-u", cfg.User); err != nil {
		if err := s.run("useradd", "--system", "--user-group", "--home-dir", cfg.DataDir,
			"--no-create-home", "--shell", "/usr/sbin/nologin", cfg.User); err != nil {
			return fmt.Errorf("create the system user %s: %w", cfg.User, err)
		}
		fmt.Fprintf(s.out, "Created the system user %s.\n", cfg.User)
	}
	dataDir := filepath.Join(s.root, cfg.DataDir)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dataDir, err)
	}
	if err := s.run("chown", "-R", cfg.User+":"+cfg.User, dataDir); err != nil {
		return fmt.Errorf("give %s to %s: %w", dataDir, cfg.User, err)
	}
	if cfg.KeyDir != "" {
		// The server makes its data key here on first start; it must
		// exist beforehand, as ProtectSystem=strict makes /etc read only
		// apart from ReadWritePaths.
		keyDir := filepath.Join(s.root, cfg.KeyDir)
		if err := os.MkdirAll(keyDir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", keyDir, err)
		}
		if err := s.run("chown", "-R", cfg.User+":"+cfg.User, keyDir); err != nil {
			return fmt.Errorf("give %s to %s: %w", keyDir, cfg.User, err)
		}
	}
	bin := filepath.Join(s.root, cfg.Binary)
	if self != bin {
		if err := copyFile(self, bin, 0o755); err != nil {
			return fmt.Errorf("install the program as %s: %w", bin, err)
		}
		fmt.Fprintf(s.out, "Installed %s.\n", bin)
	}
	path := s.unitPath(cfg)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(s.out, "Wrote %s.\n", path)
	if err := s.run("systemctl", "daemon-reload"); err != nil {
		return fmt.Errorf("systemctl daemon-reload: %w", err)
	}
	if err := s.run("systemctl", "enable", "--now", cfg.Name+".service"); err != nil {
		return fmt.Errorf("systemctl enable --now %s: %w", cfg.Name, err)
	}
	fmt.Fprintf(s.out, "The %s service is enabled and started; it starts at boot and restarts on failure.\n"+
		"Data: %s, keys: %s (back both up, apart). Manage it from the console or the command line with: provisio --data %s --key-dir %s%s ...\n", cfg.Name, cfg.DataDir, cfg.KeyDir, cfg.DataDir, cfg.KeyDir, storeFlags(cfg))
	if cfg.Store != "" {
		fmt.Fprintf(s.out, "Records: %s. Every server of the site needs the same provisio.key in %s.\n", cfg.Store, cfg.KeyDir)
		if cfg.EtcdCert != "" || cfg.EtcdCA != "" {
			fmt.Fprintf(s.out, "The user %s must be able to read the etcd TLS files the unit names.\n", cfg.User)
		}
	}
	return nil
}

// uninstall stops and disables the service and removes the unit. The data
// directory and the user stay: removing them would delete every user's
// device and the audit log.
func (s systemd) uninstall(cfg serviceConfig) error {
	// Stopping a unit that is not loaded fails; the unit file is removed
	// either way.
	_ = s.run("systemctl", "disable", "--now", cfg.Name+".service")
	path := s.unitPath(cfg)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	if err := s.run("systemctl", "daemon-reload"); err != nil {
		return fmt.Errorf("systemctl daemon-reload: %w", err)
	}
	fmt.Fprintf(s.out, "The %s service is stopped and removed. The data in %s and the user %s were kept.\n", cfg.Name, cfg.DataDir, cfg.User)
	return nil
}

// storeFlags are the store options of cfg as on the command line, with a
// leading space; "" for the data file.
func storeFlags(cfg serviceConfig) string {
	var b strings.Builder
	for _, f := range []struct{ flag, v string }{{"--store", cfg.Store}, {"--etcd-ca", cfg.EtcdCA}, {"--etcd-cert", cfg.EtcdCert}, {"--etcd-key", cfg.EtcdKey}} {
		if f.v != "" {
			fmt.Fprintf(&b, " %s %s", f.flag, f.v)
		}
	}
	return b.String()
}

func copyFile(from, to string, mode os.FileMode) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	tmp := to + ".new"
	err = os.WriteFile(tmp, data, mode)
	if err == nil {
		err = os.Rename(tmp, to)
	}
	if fi, lerr := os.Lstat(tmp); err != nil && lerr == nil && fi.Mode().IsRegular() {
		// A half-written or unplaced copy is no use to anyone; what
		// stood in its way (a directory) is not ours to remove.
		_ = os.Remove(tmp)
	}
	return err
}

// execRunner runs a system command, sending its output to out.
func execRunner(out io.Writer) func(string, ...string) error {
	return func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = out, out
		return cmd.Run()
	}
}

// systemdRoot is where needSystemd looks for /run/systemd/system; tests
// point it at a directory of their own.
var systemdRoot = "/"

// needSystemd refuses the service commands on a machine that was not
// booted with systemd (a container, WSL without it, another init), the
// check sd_booted(3) makes: systemctl would print "System has not been
// booted with systemd…" and "Failed to connect to bus", and install
// would have created the user and copied the program before failing.
func needSystemd() error {
	if fi, err := os.Stat(filepath.Join(systemdRoot, "run/systemd/system")); err == nil && fi.IsDir() {
		return nil
	}
	return errors.New("this machine does not run systemd, so Provisio cannot be installed or managed as a systemd service here; " +
		"run 'provisio serve' from the system's own service manager instead ('provisio service unit' prints the systemd unit, as a guide to the options)")
}

var serviceCommands = map[string]command{
	"install": {
		usage: "service install [--user U] [--service-data DIR] [--bin PATH]",
		setup: func(fs *flag.FlagSet) action {
			cfg := defaultService()
			fs.StringVar(&cfg.User, "user", cfg.User, "system user the server runs as")
			fs.StringVar(&cfg.DataDir, "service-data", cfg.DataDir, "data directory of the service")
			fs.StringVar(&cfg.Binary, "bin", cfg.Binary, "where the program is installed")
			return func(c *cli, _ []string) error {
				self, err := os.Executable()
				if err != nil {
					return fmt.Errorf("find this program: %w", err)
				}
				if err := needSystemd(); err != nil {
					return err
				}
				if os.Geteuid() != 0 {
					return errors.New("installing a system service needs root: run it with sudo")
				}
				return systemd{root: "/", out: c.out, run: execRunner(c.out)}.install(cfg.withGlobal(c), self)
			}
		},
	},
	"uninstall": {
		usage: "service uninstall",
		setup: noFlags(func(c *cli, _ []string) error {
			if err := needSystemd(); err != nil {
				return err
			}
			if os.Geteuid() != 0 {
				return errors.New("removing a system service needs root: run it with sudo")
			}
			return systemd{root: "/", out: c.out, run: execRunner(c.out)}.uninstall(defaultService())
		}),
	},
	"status": {
		usage: "service status",
		setup: noFlags(func(c *cli, _ []string) error {
			if err := needSystemd(); err != nil {
				return err
			}
			cmd := exec.Command("systemctl", "status", "--no-pager", defaultService().Name+".service")
			cmd.Stdout, cmd.Stderr = c.out, c.out
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) && ee.ExitCode() == 4 {
					return errors.New("the provisio service is not installed; install it with: sudo provisio service install")
				}
				if errors.As(err, &ee) {
					return errors.New("the provisio service is not running")
				}
				return fmt.Errorf("systemctl: %w", err)
			}
			return nil
		}),
	},
	"unit": {
		usage: "service unit [--user U] [--service-data DIR] [--bin PATH]",
		setup: func(fs *flag.FlagSet) action {
			cfg := defaultService()
			fs.StringVar(&cfg.User, "user", cfg.User, "system user the server runs as")
			fs.StringVar(&cfg.DataDir, "service-data", cfg.DataDir, "data directory of the service")
			fs.StringVar(&cfg.Binary, "bin", cfg.Binary, "where the program is installed")
			return func(c *cli, _ []string) error {
				unit, err := unitFile(cfg.withGlobal(c))
				if err != nil {
					return err
				}
				_, err = io.WriteString(c.out, unit)
				return err
			}
		},
	},
}
