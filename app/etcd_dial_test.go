package main

import (
	"net"
	"strings"
	"testing"
	"time"
)

// A command on an etcd site that cannot be reached gives up after the
// address's request-timeout, not a fixed 5 s (a closed port on
// 127.0.0.1; the bound tells 1 s from 5 s, it times nothing).
func TestCLI_EtcdConnectFollowsRequestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := ln.Addr().String()
	ln.Close()
	for _, args := range [][]string{{"user", "list"}, {"check"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			began := time.Now()
			code, _, errOut := runCLI(t, privateTempDir(t), append([]string{"--store", "etcd://" + nobody + "/office?request-timeout=1s"}, args...)...)
			took := time.Since(began)
			if code != exitError || !strings.Contains(errOut, "did not answer within 1 s") {
				t.Errorf("exit %d, stderr %q; want exit 1 and \"did not answer within 1 s\"", code, errOut)
			}
			if took > 4*time.Second {
				t.Errorf("gave up after %v with request-timeout=1s", took)
			}
		})
	}
}
