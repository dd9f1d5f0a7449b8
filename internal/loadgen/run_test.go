package loadgen

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/loadgen/loadgentest"
)

// seqOf reads the sequence number from a Subject "TAG 0000000012".
func seqOf(t *testing.T, subject string) int {
	t.Helper()
	f := strings.Fields(subject)
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		t.Fatalf("subject %q: %v", subject, err)
	}
	return n
}

// checkDelivered asserts the sink got messages 1..n exactly once, each of
// the right size and tag.
func checkDelivered(t *testing.T, st loadgentest.Stats, n, size int, tag string) {
	t.Helper()
	if len(st.Messages) != n {
		t.Fatalf("sink got %d messages, want %d", len(st.Messages), n)
	}
	var seqs []int
	for _, m := range st.Messages {
		if m.Size != size {
			t.Errorf("message %q is %d bytes, want %d", m.Subject, m.Size, size)
		}
		if !strings.HasPrefix(m.Subject, tag+" ") {
			t.Errorf("subject %q lacks tag %q", m.Subject, tag)
		}
		seqs = append(seqs, seqOf(t, m.Subject))
	}
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != i+1 {
			t.Fatalf("sequence numbers %v, want 1..%d once each", seqs, n)
		}
	}
}

func TestRunModes(t *testing.T) {
	const n, conc, size = 40, 4, 3000
	tests := []struct {
		name       string
		announce   bool // sink announces PIPELINING
		pipelining bool
		reuse      bool
		check      func(t *testing.T, st loadgentest.Stats, res *Result)
	}{
		{"lockstep", true, false, false, func(t *testing.T, st loadgentest.Stats, res *Result) {
			if st.Connections != n || st.PipelinedMail != 0 || st.Rsets != 0 {
				t.Errorf("connections %d, pipelined MAIL %d, RSET %d; want %d, 0, 0", st.Connections, st.PipelinedMail, st.Rsets, n)
			}
		}},
		{"lockstep reuse", true, false, true, func(t *testing.T, st loadgentest.Stats, res *Result) {
			if st.Connections > conc || st.PipelinedMail != 0 {
				t.Errorf("connections %d (want <= %d), pipelined MAIL %d", st.Connections, conc, st.PipelinedMail)
			}
			if st.Rsets != n-st.Connections {
				t.Errorf("RSET %d times, want one between messages: %d", st.Rsets, n-st.Connections)
			}
		}},
		{"pipelining", true, true, false, func(t *testing.T, st loadgentest.Stats, res *Result) {
			if st.Connections != n || st.PipelinedMail != n || res.Pipelined != n {
				t.Errorf("connections %d, pipelined MAIL %d, pipelined conns %d; want %d each", st.Connections, st.PipelinedMail, res.Pipelined, n)
			}
		}},
		{"pipelining reuse", true, true, true, func(t *testing.T, st loadgentest.Stats, res *Result) {
			if st.Connections > conc || st.PipelinedMail != n || st.Rsets != 0 {
				t.Errorf("connections %d (want <= %d), pipelined MAIL %d (want %d), RSET %d", st.Connections, conc, st.PipelinedMail, n, st.Rsets)
			}
			if st.MailAfterDot != n-st.Connections {
				t.Errorf("MAIL behind the dot %d times, want %d", st.MailAfterDot, n-st.Connections)
			}
		}},
		{"pipelining not announced", false, true, true, func(t *testing.T, st loadgentest.Stats, res *Result) {
			if st.PipelinedMail != 0 || res.Pipelined != 0 || st.MailAfterDot != 0 {
				t.Errorf("pipelined without the server's PIPELINING: MAIL %d, conns %d, after dot %d", st.PipelinedMail, res.Pipelined, st.MailAfterDot)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := loadgentest.Start(t, loadgentest.Options{Pipelining: tt.announce})
			res, err := Run(context.Background(), Config{
				Target: sink.Addr, Messages: n, Size: size, Concurrency: conc,
				Pipelining: tt.pipelining, Reuse: tt.reuse, Tag: "modes",
				To: []string{"a@x.test", "b@x.test"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != n || res.OK != n || res.FailedTotal() != 0 || res.Size != size {
				t.Fatalf("result %+v", res)
			}
			st := sink.Stats()
			checkDelivered(t, st, n, size, "modes")
			if res.Connections != st.Connections {
				t.Errorf("result says %d connections, sink saw %d", res.Connections, st.Connections)
			}
			if !slices.Equal(st.Messages[0].To, []string{"a@x.test", "b@x.test"}) {
				t.Errorf("recipients %q", st.Messages[0].To)
			}
			if res.Latency.Max <= 0 || res.Latency.P50 > res.Latency.P90 || res.Latency.P90 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
				t.Errorf("latency %+v", res.Latency)
			}
			tt.check(t, st, res)
			var report strings.Builder
			if err := res.WriteText(&report); err != nil {
				t.Fatal(err)
			}
			t.Logf("report:\n%s", report.String())
			if !strings.Contains(report.String(), fmt.Sprintf("%d sent, %d ok, 0 failed", n, n)) {
				t.Errorf("report lacks the counts:\n%s", report.String())
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	const n = 24
	every4th := func(subject string) int {
		if seqOfSubject(subject)%4 == 0 {
			return 451
		}
		return 0
	}
	always := func(code int) func(string) int { return func(string) int { return code } }
	rejectB := func(to string) int {
		if strings.HasPrefix(to, "b@") {
			return 550
		}
		return 0
	}
	tests := []struct {
		name   string
		opts   loadgentest.Options
		to     []string
		ok     int
		failed map[int]int
	}{
		{"final 451 every 4th", loadgentest.Options{FinalCode: every4th}, nil, n * 3 / 4, map[int]int{451: n / 4}},
		{"MAIL refused", loadgentest.Options{MailCode: always(550)}, nil, 0, map[int]int{550: n}},
		{"MAIL deferred", loadgentest.Options{MailCode: always(452)}, nil, 0, map[int]int{452: n}},
		{"one RCPT of two refused", loadgentest.Options{RcptCode: rejectB}, []string{"a@x.test", "b@x.test"}, n, nil},
		{"every RCPT refused", loadgentest.Options{RcptCode: always(550)}, nil, 0, map[int]int{550: n}},
		{"421 at end of data", loadgentest.Options{FinalCode: always(421)}, nil, 0, map[int]int{421: n}},
	}
	for _, tt := range tests {
		for _, mode := range []struct{ pipe, reuse bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
			name := fmt.Sprintf("%s/pipelining=%v,reuse=%v", tt.name, mode.pipe, mode.reuse)
			t.Run(name, func(t *testing.T) {
				o := tt.opts
				o.Pipelining = true
				sink := loadgentest.Start(t, o)
				res, err := Run(context.Background(), Config{
					Target: sink.Addr, Messages: n, Size: 1000, Concurrency: 3,
					Pipelining: mode.pipe, Reuse: mode.reuse, To: tt.to,
				})
				if err != nil {
					t.Fatal(err)
				}
				if res.Sent != n || res.OK != tt.ok || !mapsEqual(res.Failed, tt.failed) {
					t.Errorf("sent %d ok %d failed %v, want %d %d %v (first error %q)",
						res.Sent, res.OK, res.Failed, n, tt.ok, tt.failed, res.FirstError)
				}
				if (len(tt.failed) > 0) != (res.FirstError != "") {
					t.Errorf("first error %q", res.FirstError)
				}
			})
		}
	}
}

func seqOfSubject(subject string) int {
	f := strings.Fields(subject)
	n, _ := strconv.Atoi(f[len(f)-1])
	return n
}

func mapsEqual(a, b map[int]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRunTLSAndAuth(t *testing.T) {
	serverTLS, pool := loadgentest.SelfSigned(t)
	tests := []struct {
		name     string
		opts     loadgentest.Options
		mode     TLSMode
		user     string
		password string
		ok       int
		failed   map[int]int
		tls      int // connections the sink saw TLS on
		auths    int
	}{
		{"starttls", loadgentest.Options{TLS: serverTLS}, TLSStartTLS, "", "", 6, nil, 6, 0},
		{"implicit", loadgentest.Options{TLS: serverTLS, Implicit: true}, TLSImplicit, "", "", 6, nil, 6, 0},
		{"starttls auth", loadgentest.Options{TLS: serverTLS, User: "u@x.test", Password: "pw"}, TLSStartTLS, "u@x.test", "pw", 6, nil, 6, 6},
		{"plain auth on loopback", loadgentest.Options{User: "u@x.test", Password: "pw"}, TLSNone, "u@x.test", "pw", 6, nil, 0, 6},
		{"wrong password", loadgentest.Options{User: "u@x.test", Password: "pw"}, TLSNone, "u@x.test", "nope", 0, map[int]int{535: 6}, 0, 0},
		{"no auth given", loadgentest.Options{User: "u@x.test", Password: "pw"}, TLSNone, "", "", 0, map[int]int{530: 6}, 0, 0},
		{"starttls not offered", loadgentest.Options{}, TLSStartTLS, "", "", 0, map[int]int{0: 6}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := loadgentest.Start(t, tt.opts)
			res, err := Run(context.Background(), Config{
				Target: sink.Addr, Messages: 6, Size: 500, Concurrency: 2,
				TLS: tt.mode, TLSConfig: &tls.Config{RootCAs: pool},
				User: tt.user, Password: tt.password,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != tt.ok || !mapsEqual(res.Failed, tt.failed) {
				t.Fatalf("ok %d failed %v, want %d %v (first error %q)", res.OK, res.Failed, tt.ok, tt.failed, res.FirstError)
			}
			st := sink.Stats()
			if st.TLSConnections != tt.tls || st.Auths != tt.auths {
				t.Errorf("sink saw %d TLS connections and %d logins, want %d and %d", st.TLSConnections, st.Auths, tt.tls, tt.auths)
			}
		})
	}
}

func TestRunUntrustedCertificate(t *testing.T) {
	serverTLS, _ := loadgentest.SelfSigned(t)
	sink := loadgentest.Start(t, loadgentest.Options{TLS: serverTLS, Implicit: true})
	for _, insecure := range []bool{false, true} {
		res, err := Run(context.Background(), Config{
			Target: sink.Addr, Messages: 2, Concurrency: 1, TLS: TLSImplicit, Insecure: insecure,
		})
		if err != nil {
			t.Fatal(err)
		}
		if insecure && res.OK != 2 {
			t.Errorf("--insecure: ok %d, first error %q", res.OK, res.FirstError)
		}
		if !insecure && (res.Failed[0] != 2 || !strings.Contains(res.FirstError, "certificate")) {
			t.Errorf("untrusted certificate: failed %v, first error %q", res.Failed, res.FirstError)
		}
	}
}

func TestRunConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, err := Run(context.Background(), Config{Target: addr, Messages: 5, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 5 || res.Failed[0] != 5 || res.FirstError == "" || res.Connections != 0 {
		t.Errorf("result %+v", res)
	}
}

func TestRunCanceled(t *testing.T) {
	sink := loadgentest.Start(t, loadgentest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, Config{Target: sink.Addr, Messages: 5})
	if err == nil || res == nil || res.Sent != 0 {
		t.Fatalf("canceled run: %+v, %v", res, err)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"no port", Config{Target: "localhost"}, false},
		{"negative messages", Config{Messages: -1}, false},
		{"too many messages", Config{Messages: MaxMessages + 1}, false},
		{"too big", Config{Size: MaxSize + 1}, false},
		{"too many workers", Config{Concurrency: MaxConcurrency + 1}, false},
		{"CRLF in from", Config{From: "a@b\r\nRCPT TO:<x@y>"}, false},
		{"space in to", Config{To: []string{"a @b"}}, false},
		{"no at", Config{To: []string{"postmaster"}}, false},
		{"bracket", Config{From: "<a@b>"}, false},
		{"CR in tag", Config{Tag: "x\ry"}, false},
		{"non-ASCII tag", Config{Tag: "caf\u00e9"}, false},
		{"space in helo", Config{Helo: "a b"}, false},
		{"user without password", Config{User: "u"}, false},
		{"bad TLS mode", Config{TLS: 7}, false},
		{"too many recipients", Config{To: slices.Repeat([]string{"a@b"}, MaxRecipients+1)}, false},
		{"all set", Config{Target: "[::1]:25", Messages: 5, Size: 10, Concurrency: 2, From: "a@b", To: []string{"c@d"}, User: "u", Password: "p", Tag: "t t"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.withDefaults()
			if (err == nil) != tt.ok {
				t.Errorf("withDefaults() error %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestParseTLSMode(t *testing.T) {
	for _, m := range []TLSMode{TLSNone, TLSStartTLS, TLSImplicit} {
		got, err := ParseTLSMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseTLSMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseTLSMode("ssl"); err == nil {
		t.Error("ParseTLSMode(ssl) must fail")
	}
}
