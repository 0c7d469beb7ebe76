package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"provisio/app/internal/supervisor"
	"provisio/core"
	"provisio/core/agentxml"
)

var serveCommand = command{
	usage: "serve [--listen ADDR]",
	setup: func(fs *flag.FlagSet) action {
		listenFlag := fs.String("listen", "", "HTTPS listen address (default: setting server.listen)")
		return func(c *cli, _ []string) error { return c.serve(*listenFlag) }
	},
}

func (c *cli) serve(listen string) error {
	agentxml.TuneGC()
	agentxml.TuneProcs()
	// Headless, no console acts: the server's own lines name the server.
	return c.withEnvAs(core.ServerActor, func(e *env) error {
		if listen == "" {
			listen = e.svc.Settings().Listen
		}
		srv, err := e.sup.Open(listen)
		if p := core.ListenProblem(err); p != "" {
			return errors.New("the server could not start: " + p)
		}
		if err != nil {
			return err
		}
		defer srv.Close()
		// Phones are told the port the server really listens on.
		listen = srv.Addr().String()
		e.svc.SetListening(listen)
		defer e.startMail()()
		defer e.startWorkers(c.errOut)()
		defer e.startBackups()()
		defer e.startAdmin(c.errOut)()
		set := e.svc.Settings()
		fmt.Fprintf(c.out, "Provisio server listening on %s\n", srv.Addr())
		for _, u := range supervisor.URLs(e.svc, listen) {
			fmt.Fprintf(c.out, "  %s\n", u)
		}
		fmt.Fprintf(c.out, "Site ID: %s\nCertificate SHA-256: %s\nPress Ctrl+C to stop.\n", set.SiteID, e.sup.Fingerprint())
		// The audit log goes to stdout too, so a service manager's journal
		// has it, each line ending with who acted. Entries never hold
		// secrets.
		events, cancel := e.svc.Events().Subscribe()
		defer cancel()
		go func() {
			for ev := range events {
				// Lines another server wrote (etcd, #16) are in its journal.
				if ev.Kind == core.EventLog && ev.Node == "" {
					by := ""
					if ev.Log.Actor != "" {
						by = " [by " + ev.Log.Actor + "]"
					}
					fmt.Fprintf(c.out, "%s %-5s %s%s\n", ev.Log.Time.Local().Format("2006-01-02 15:04:05"), ev.Log.Level, ev.Log.Message, by)
				}
			}
		}()
		if c.started != nil {
			c.started <- srv.Addr().String()
		}
		if c.stop != nil {
			<-c.stop
		} else {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			<-sig
		}
		fmt.Fprintln(c.out, "Stopping.")
		return nil
	})
}
