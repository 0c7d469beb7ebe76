package smtpcapture_test

import (
	"fmt"
	"os"
	"os/signal"

	"provisio/core/mailer/smtpcapture"
)

// A mailcatcher is New with Echo and a wait for Ctrl+C; point Provisio's
// mail settings at the printed address with Security "none".
func ExampleNew_mailcatcher() {
	s, err := smtpcapture.New(smtpcapture.Options{Addr: "127.0.0.1:2525", Echo: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("mailcatcher: SMTP on %s (host %s, port %d, security none); Ctrl+C stops\n", s.Addr(), s.Host(), s.Port())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	s.Close()
}
