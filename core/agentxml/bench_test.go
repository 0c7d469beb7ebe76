package agentxml_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// Every benchmark runs GOMAXPROCS*benchParallelism clients over keep-alive
// HTTPS connections to 127.0.0.1. Allocation figures include the client
// side (the same for all), so compare them with BenchmarkBareTLS.
const benchParallelism = 4

var pingBody = agentxmltest.SASRequest("Version", "3.6", "Action", "ping")

// runPosts posts body(i) to url from parallel clients and checks each
// reply holds <Result>PASS</Result>.
func runPosts(b *testing.B, hc *http.Client, url string, body func(i int64) string) {
	b.Helper()
	pass := []byte("<Result>PASS</Result>")
	var next, fails atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 0, 4096)
		for pb.Next() {
			resp, err := hc.Post(url, "application/xml", strings.NewReader(body(next.Add(1)-1)))
			if err != nil {
				b.Error(err)
				return
			}
			w := bytes.NewBuffer(buf[:0])
			_, err = io.Copy(w, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(w.Bytes(), pass) {
				if fails.Add(1) == 1 {
					b.Errorf("HTTP %d %v: %.300s", resp.StatusCode, err, w.Bytes())
				}
			}
		}
	})
	b.StopTimer()
	if n := fails.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
}

func benchClient(b *testing.B, fp string) *http.Client {
	hc, err := agentxmltest.PinnedClient(fp)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(hc.CloseIdleConnections)
	return hc
}

// BenchmarkBareTLS is the baseline: a Go HTTPS server with the same TLS
// setup whose handler reads the body and writes a fixed small SASResponse.
func BenchmarkBareTLS(b *testing.B) {
	cert, fp, err := agentxmltest.SelfSignedCert()
	if err != nil {
		b.Fatal(err)
	}
	reply := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<SASResponse><Version>3.6</Version><Result>PASS</Result></SASResponse>\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		_, _ = w.Write(reply)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: agentxml.TLSConfigFor(cert)}
	go srv.Serve(tls.NewListener(ln, srv.TLSConfig))
	b.Cleanup(func() { srv.Close() })
	hc := benchClient(b, fp)
	runPosts(b, hc, "https://"+ln.Addr().String()+"/pinsafe/AgentXML", func(int64) string { return pingBody })
}

// benchOpts lift the per-source limits: every benchmark client is on
// 127.0.0.1, and the benchmarks measure throughput, not the limits.
var benchOpts = []agentxmltest.Option{agentxmltest.WithLimits(agentxmltest.NoLimits())}

func BenchmarkPing(b *testing.B) {
	e := newEnvWith(b, benchOpts)
	hc := benchClient(b, e.fp)
	runPosts(b, hc, e.srv.URL()+"/pinsafe/AgentXML", func(int64) string { return pingBody })
}

// BenchmarkProvision measures one provision request: a fresh user and code
// per iteration are prepared before the timer starts.
func BenchmarkProvision(b *testing.B) {
	e := newEnvWith(b, benchOpts)
	bodies := make([]string, b.N)
	for i := range bodies {
		name := fmt.Sprintf("user%06d", i)
		storetest.MustAddUser(b, e.svc, name, "1234")
		ic, err := e.svc.CreateProvisionCode(name)
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = agentxmltest.SASRequest("Version", "3.6", "Action", "provision", "Username", name,
			"ProvisionCode", ic.Code, "DeviceOS", "iOS 18")
	}
	hc := benchClient(b, e.fp)
	runPosts(b, hc, e.srv.URL()+"/proxy/AgentXML", func(i int64) string { return bodies[i] })
}

// BenchmarkSecurityStrings measures downloads of 100 new strings, spread
// over 16 provisioned devices.
func BenchmarkSecurityStrings(b *testing.B) {
	e := newEnvWith(b, benchOpts)
	var bodies []string
	for i := 0; i < 16; i++ {
		p := provisionDirect(b, e.svc, fmt.Sprintf("user%02d", i))
		bodies = append(bodies, agentxmltest.SASRequest("Version", "3.6", "Action", "securitystrings", "Id", p.DeviceID))
	}
	hc := benchClient(b, e.fp)
	runPosts(b, hc, e.srv.URL()+"/proxy/AgentXML", func(i int64) string { return bodies[i%int64(len(bodies))] })
}

// BenchmarkLogin measures successful agent logins, each a durable commit
// (the spent index, the user's counters and the log line). Every user's
// 100 codes are computed from their strings beforehand; a client takes a
// user and spends its codes in order, since an older index fails.
func BenchmarkLogin(b *testing.B) {
	e := newEnvWith(b, benchOpts)
	const pin = "7391"
	clients := runtime.GOMAXPROCS(0) * benchParallelism // RunParallel's goroutines
	users := b.N/core.StringsPerDownload + clients + 1
	queue := make(chan []string, users)
	for u := 0; u < users; u++ {
		name := fmt.Sprintf("user%05d", u)
		p := provisionDirectPIN(b, e.svc, name, pin)
		d, err := e.svc.SecurityStrings(p.DeviceID)
		if err != nil {
			b.Fatal(err)
		}
		bodies := make([]string, 0, core.StringsPerDownload)
		for i, s := range strings.Split(d.Strings, ";") {
			var ss [10]byte
			copy(ss[:], s)
			code := core.MobileCode(core.ExtractOTC(ss, pin), i)
			bodies = append(bodies, agentxmltest.SASRequest("Version", "3.6", "Secret", agentSecret,
				"Action", "login", "Username", name, "OTC", code))
		}
		queue <- bodies
	}
	hc := benchClient(b, e.fp)
	url := e.srv.URL() + "/pinsafe/AgentXML"
	pass := []byte("<Result>PASS</Result>")
	var fails atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []string
		buf := make([]byte, 0, 4096)
		for pb.Next() {
			if len(mine) == 0 {
				mine = <-queue
			}
			body := mine[0]
			mine = mine[1:]
			resp, err := hc.Post(url, "application/xml", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			w := bytes.NewBuffer(buf[:0])
			_, err = io.Copy(w, resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Contains(w.Bytes(), pass) {
				if fails.Add(1) == 1 {
					b.Errorf("login: %v %.300s", err, w.Bytes())
				}
			}
		}
	})
	b.StopTimer()
	if n := fails.Load(); n > 0 {
		b.Fatalf("%d of %d logins failed", n, b.N)
	}
}

func provisionDirect(b *testing.B, svc *core.Service, name string) core.Provisioned {
	return provisionDirectPIN(b, svc, name, "1234")
}

// provisionDirectPIN sets a user up through the service, skipping HTTPS,
// to keep benchmark preparation short.
func provisionDirectPIN(b *testing.B, svc *core.Service, name, pin string) core.Provisioned {
	b.Helper()
	storetest.MustAddUser(b, svc, name, pin)
	ic, err := svc.CreateProvisionCode(name)
	if err != nil {
		b.Fatal(err)
	}
	p, err := svc.Provision("127.0.0.1", name, ic.Code, "iOS")
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkAdminCreate100 measures one AdminRequest that creates 100
// users (PIN, email, group and an attribute each) from one admin client:
// the parse, 100 validations, one durable commit with 100 log lines, and
// a 100-result reply. Request bodies are built before the timer starts.
func BenchmarkAdminCreate100(b *testing.B) {
	e := newEnvWith(b, benchOpts)
	if err := e.svc.PutAgent(core.Agent{Name: "hr", Host: "127.0.0.1", Secret: "hr-secret-1234", Repository: true}); err != nil {
		b.Fatal(err)
	}
	bodies := make([]string, b.N)
	for i := range bodies {
		var sb strings.Builder
		sb.WriteString(`<AdminRequest secret="hr-secret-1234" version="3.6"><Create>`)
		for u := 0; u < 100; u++ {
			fmt.Fprintf(&sb, `<User name="b%05du%03d"><Credentials pin="%04d"/><Transports><Transport type="alert">b%05du%03d@example.org</Transport></Transports>`+
				`<Groups><Group name="staff"/></Groups><Attributes><Attribute name="employee">E%05d%03d</Attribute></Attributes></User>`, i, u, 1000+u, i, u, i, u)
		}
		sb.WriteString(`</Create></AdminRequest>`)
		bodies[i] = sb.String()
	}
	hc := benchClient(b, e.fp)
	url := e.srv.URL() + "/pinsafe/AdminXML"
	pass := []byte("<Result>PASS</Result><Create><Result>PASS</Result>")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := hc.Post(url, "application/xml", strings.NewReader(bodies[i]))
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Contains(body, pass) {
			b.Fatalf("create: %v %.300s", err, body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/user")
}
