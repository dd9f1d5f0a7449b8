package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGracefulStop: SIGTERM while a client is inside DATA lets that
// transaction finish with 250, keeps the mail accepted before, and the
// server exits 0; after a restart both messages are there.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	const user = "grace@example.test"
	s.AddUser(user, "pw")
	before := taggedMessage("before-term", 3000)
	mustSend(t, s.SMTP, "sender@remote.test", []string{user}, before)

	during := taggedMessage("during-term", 50000)
	c := dialT(t, s.SMTP)
	for _, st := range []struct {
		line string
		code int
	}{{"EHLO client.example.org", 250}, {"MAIL FROM:<sender@remote.test>", 250}, {"RCPT TO:<" + user + ">", 250}, {"DATA", 354}} {
		if r, err := c.Cmd(st.line); err != nil || r.Code != st.code {
			t.Fatalf("%s: want %d, got %v (%v)", st.line, st.code, r, err)
		}
	}
	data := dotStuff(during)
	half := len(data) / 2
	if err := c.Write(string(data[:half])); err != nil {
		t.Fatal(err)
	}

	s.Signal(syscall.SIGTERM)
	// Wait (bounded) until the server stops accepting, so the signal is
	// known to have arrived while our transaction is open.
	stopped := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		nc, err := net.DialTimeout("tcp", s.SMTP, time.Second)
		if err != nil {
			stopped = true
			break
		}
		nc.Close()
	}
	t.Logf("listener closed after SIGTERM: %v", stopped)

	if err := c.Write(string(data[half:])); err != nil {
		t.Fatalf("finishing DATA after SIGTERM: %v", err)
	}
	r, err := c.ReadReply()
	if err != nil || r.Code != 250 {
		t.Errorf("final dot after SIGTERM: want 250 (the current transaction finishes), got %v (%v)", r, err)
	}
	accepted := err == nil && r.Code == 250
	if r, err := c.Cmd("QUIT"); err == nil && r.Code != 221 && r.Code != 421 {
		t.Errorf("QUIT while stopping: want 221 or 421, got %v", r)
	}
	code, err := s.Wait(stopTimeout)
	if err != nil {
		t.Fatalf("after SIGTERM: %v; log:\n%s", err, s.LogTail(4000))
	}
	if code != 0 {
		t.Errorf("after SIGTERM the server exited %d, want 0", code)
	}

	s.Restart()
	got := tally(t, mustFetch(t, s.POP3, user, "pw", false), func(tag string) int {
		if tag == "before-term" {
			return 3000
		}
		return 50000
	})
	if got["before-term"] != 1 {
		t.Errorf("mail accepted before SIGTERM is stored %d times, want 1", got["before-term"])
	}
	if accepted && got["during-term"] != 1 {
		t.Errorf("mail accepted during shutdown is stored %d times, want 1", got["during-term"])
	}
	if !accepted && got["during-term"] > 1 {
		t.Errorf("mail refused during shutdown is stored %d times", got["during-term"])
	}
}

// TestHTTPHealthAndMetrics: /healthz and Prometheus /metrics.
func TestHTTPHealthAndMetrics(t *testing.T) {
	t.Parallel()
	s := StartServer(t, Options{})
	s.AddUser("m@example.test", "pw")
	mustSend(t, s.SMTP, "sender@remote.test", []string{"m@example.test"}, []byte("Subject: m\r\n\r\nm\r\n"))
	mustFetch(t, s.POP3, "m@example.test", "pw", false)

	get := func(path string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.HTTP+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %q, want 200", code, body)
	}
	code, body := get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d, want 200", code)
	}
	var names []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "posthorn_") {
			names = append(names, strings.FieldsFunc(l, func(r rune) bool { return r == '{' || r == ' ' })[0])
		}
	}
	if len(names) == 0 {
		t.Fatalf("/metrics has no posthorn_ metric:\n%s", head([]byte(body), 2000))
	}
	var smtp, pop3 bool
	for _, n := range names {
		smtp = smtp || strings.Contains(n, "smtp")
		pop3 = pop3 || strings.Contains(n, "pop3")
	}
	// Metric names are not part of the contract: log, do not fail.
	t.Logf("posthorn_ metrics: %d series; smtp ones: %v, pop3 ones: %v", len(names), smtp, pop3)
	if code, _ := get("/debug/pprof/"); code == http.StatusOK {
		t.Errorf("/debug/pprof/ is open without a token")
	}
}
