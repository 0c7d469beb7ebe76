// Command mailcatcher is a stand-in mail server for trying Provisio by
// hand: it accepts every message on 127.0.0.1:2525 and prints it to
// standard output until Ctrl+C. Point the mail settings at it with
// Security "none" and no user name.
//
//	make mailcatcher
//	go run ./core/mailer/smtpcapture/mailcatcher -addr 127.0.0.1:2526
//
// It is smtpcapture with Echo; nothing is kept after it stops.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"provisio/core/mailer/smtpcapture"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2525", "listen address, host:port")
	flag.Parse()

	s, err := smtpcapture.New(smtpcapture.Options{Addr: *addr, Echo: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mailcatcher:", err)
		os.Exit(1)
	}
	fmt.Printf("mailcatcher: SMTP on %s (host %s, port %d, security none); Ctrl+C stops\n", s.Addr(), s.Host(), s.Port())

	// SIGTERM too, so `kill` and IDE stop buttons end it as cleanly as
	// Ctrl+C.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "mailcatcher:", err)
		os.Exit(1)
	}
}
