package main

// provisio check: the full report of the data file, or of an etcd site's
// records, and --create-empty (split from cli.go).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/store"
)

var checkCommand = command{
	usage: "check [--create-empty]",
	setup: func(fs *flag.FlagSet) action {
		create := fs.Bool("create-empty", false, "start again with an empty data file where it is missing or empty (the users it held are not restored)")
		return func(c *cli, _ []string) error {
			if *create {
				return c.createEmpty()
			}
			return c.check()
		}
	},
}

// check prints the full report of the data file, or with --store of the
// etcd site's records (checkSite); a damaged file is exit code 1 with one
// sentence on stderr.
func (c *cli) check() error {
	if c.store.etcd() {
		return c.checkSite()
	}
	r, err := store.Check(c.dataDir, store.Options{HeldData: heldData(c.dataDir)})
	if errors.Is(err, store.ErrLocked) {
		// check reads the file itself, page by page, which a running
		// Provisio's lock rules out; attaching would not help.
		return fmt.Errorf("%s is in use by a running Provisio (the service or a console), and check reads the data file itself: stop it first (sudo systemctl stop provisio, or close the console), run check, then start it again.", c.dataDir)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Data file: %s\nSize: %d bytes\n", r.Path, r.Size)
	if r.PageSize > 0 {
		fmt.Fprintf(c.out, "Page size: %d bytes\nLast transaction: %d\n", r.PageSize, r.TxID)
	}
	// A damaged file's records were not all read: its number is unknown.
	if r.Size > 0 && r.Damage == "" {
		fmt.Fprintf(c.out, "Data format: %s\n", formatLine(r))
	}
	c.printRecords(r)
	switch {
	case r.Size == 0:
		fmt.Fprintln(c.out, "Result: EMPTY")
		return &store.FileError{Path: r.Path, Problem: store.FileEmpty}
	case r.Damage != "":
		fmt.Fprintln(c.out, "Result: DAMAGED")
		return &store.FileError{Path: r.Path, Problem: store.FileDamaged, Detail: r.Damage}
	case r.Newer:
		// Before the records' problems: a newer layout's records may only
		// look unreadable to this build.
		fmt.Fprintln(c.out, "Result: NEWER DATA FORMAT")
		return r.FormatError()
	case len(r.BadRecords) > 0:
		fmt.Fprintln(c.out, "Result: DAMAGED RECORDS")
		return fmt.Errorf("The data file %s opens, but %s in it cannot be read (the report lists them); restore it from a backup.", r.Path, core.Plural(len(r.BadRecords), "record", "records"))
	}
	fmt.Fprintln(c.out, "Result: OK, no damage found.")
	return nil
}

// printRecords prints a check's table of buckets and records, what made
// the store unusable and which records cannot be read.
func (c *cli) printRecords(r *store.Report) {
	if len(r.Buckets) > 0 {
		fmt.Fprintln(c.out)
		tw := tabwriter.NewWriter(c.out, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "BUCKET\tRECORDS\tUNREADABLE")
		for _, b := range r.Buckets {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", b.Name, b.Records, b.BadRecords)
		}
		tw.Flush()
	}
	fmt.Fprintln(c.out)
	if r.Damage != "" {
		fmt.Fprintf(c.out, "Damage: %s\n", r.Damage)
	}
	for _, p := range r.BadRecords {
		fmt.Fprintf(c.out, "Unreadable: %s\n", p)
	}
	// Not damage: the agents work, but one secret acts as several.
	if s := core.SharedSecretsSentence(r.SharedAgentSecrets); s != "" {
		fmt.Fprintf(c.out, "Warning: %s\n", s)
	}
}

// checkSite is check for records kept in etcd (--store): every record of
// the site read in one read transaction and decoded, and its data
// format, as for a data file; nothing is written and no data key is
// needed, so it runs beside the servers. It names the site's servers that
// are up, as the Server screen does. The cluster's own health is etcd's
// to say, and the audit log's chain that of 'provisio log verify'.
func (c *cli) checkSite() error {
	cfg, err := etcdstore.ParseURL(c.store.url, c.store.ca, c.store.cert, c.store.key)
	if err != nil {
		return err
	}
	kv, err := etcdstore.Connect(cfg)
	if err != nil {
		return err
	}
	defer kv.Close()
	r, err := store.CheckBackend(kv)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Site: %s\n", r.Path)
	fmt.Fprintln(c.out, siteServersLine(etcdstore.NewLeader(kv, "").SiteStatus(context.Background(), 2*time.Second)))
	if r.Records() > 0 {
		fmt.Fprintf(c.out, "Data format: %s\n", formatLine(r))
	}
	c.printRecords(r)
	switch {
	case r.Records() == 0:
		fmt.Fprintln(c.out, "Result: EMPTY")
		return fmt.Errorf("The site %s holds no records: check the site name and the members in --store, or start a Provisio server on it once to create it.", r.Path)
	case r.Newer:
		fmt.Fprintln(c.out, "Result: NEWER DATA FORMAT")
		return r.FormatError()
	case len(r.BadRecords) > 0:
		fmt.Fprintln(c.out, "Result: DAMAGED RECORDS")
		return fmt.Errorf("The site %s holds %s that cannot be read (the report lists them); restore it from a snapshot (etcdctl snapshot restore) or a backup.", r.Path, core.Plural(len(r.BadRecords), "record", "records"))
	}
	fmt.Fprintln(c.out, "Result: OK, no damage found in the records. The cluster's health: etcdctl endpoint health; the audit log's chain: provisio log verify.")
	return nil
}

// siteServersLine is check's report of the site's Provisio servers that
// are up (etcdstore.Leader.Servers), the one leading the run-once work
// first: a server that is down is missing from it.
func siteServersLine(st etcdstore.SiteStatus) string {
	switch {
	case st.LeaderProblem != "":
		return "Provisio servers up: unknown: " + st.LeaderProblem
	case len(st.Servers) == 0:
		return "Provisio servers up: none"
	}
	names := slices.Clone(st.Servers)
	names[0] += " (leads mail, log trim and backups)"
	return "Provisio servers up: " + strings.Join(names, ", ")
}

// formatLine is check's report of the data format number.
func formatLine(r *store.Report) string {
	switch {
	case r.Newer && r.FormatValue != "":
		return fmt.Sprintf("%q, not a number this Provisio knows (it reads data format %d and older)", r.FormatValue, store.FormatVersion)
	case r.Newer:
		return fmt.Sprintf("%d, newer than this Provisio reads (data format %d and older)", r.Format, store.FormatVersion)
	case r.Format == 0:
		return fmt.Sprintf("none recorded (last opened by a Provisio from before data format numbers; the next start records %d)", store.FormatVersion)
	}
	return strconv.Itoa(r.Format)
}

// createEmpty is the admin's explicit choice to start again where the
// data file is missing or empty; it never replaces a file holding data.
func (c *cli) createEmpty() error {
	path := filepath.Join(c.dataDir, store.FileName)
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return fmt.Errorf("The data file %s is not empty, so nothing was changed; to start again, move it aside first.", path)
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w", c.dataDir, err)
	}
	st, err := store.Open(c.dataDir, store.Options{CreateEmpty: true, Actor: commandLine})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%s is in use: %w", c.dataDir, store.ErrLocked)
	}
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Created an empty data file %s: it has no users yet.\n", path)
	return nil
}
