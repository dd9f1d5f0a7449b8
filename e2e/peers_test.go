package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Real peers for the relay tests (issue 4): Postfix from Debian's package
// (../shared/bench/postfix-peer.sh) as the MX of example.test, and dnsmasq
// as the DNS server whose MX records route posthorn's mail. Tests using
// them never call t.Parallel, so they never share the peer at one time.

// peerAddr is the loopback address of the Postfix peer of these tests. It
// is not the script's default 127.0.50.1: bench/smtp-compare.sh loads and
// reconfigures that one, and an e2e run beside a benchmark must not
// disturb it (or be disturbed).
const peerAddr = "127.0.50.20"

// relayDomain is posthorn's own domain in the relay tests: example.test
// belongs to the Postfix peer there.
const relayDomain = "posthorn.test"

// waitTimeout bounds every wait for a delivery, a bounce or a queue state.
const waitTimeout = 60 * time.Second

// waitFor polls cond until it reports true, failing the test after
// timeout with cond's last explanation.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last state: %s", what, timeout, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sharedBench returns ../shared/bench/NAME or skips (fails under CI).
func sharedBench(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(binary.root, "..", "shared", "bench", name)
	if _, err := os.Stat(p); err != nil {
		skipOrFail(t, "%s is absent (%v); it lives beside the repository in ../shared/bench", p, err)
	}
	return p
}

// run runs a command with a bounded time and returns its combined output.
func run(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*cliTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %v: %w", name, args, ctx.Err())
	}
	return string(out), err
}

// mustRun is run that must succeed.
func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := run(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// PostfixPeer is the Postfix instance on peerAddr:25.
type PostfixPeer struct {
	t   testing.TB
	Dir string // /var/tmp/postfix-peer-ADDR
	Log string // its maillog_file
}

// startPostfixPeer starts (or reconfigures) the Postfix peer with the
// script's main.cf plus extra postconf settings, and stops it again when
// the test ends. The script needs root (it adds the loopback address and
// installs postfix when missing).
func startPostfixPeer(t testing.TB, extra ...string) *PostfixPeer {
	t.Helper()
	script := sharedBench(t, "postfix-peer.sh")
	if os.Geteuid() != 0 {
		skipOrFail(t, "the Postfix peer needs root (postfix-peer.sh adds %s to lo)", peerAddr)
	}
	needTool(t, "postfix")
	p := &PostfixPeer{t: t, Dir: "/var/tmp/postfix-peer-" + peerAddr, Log: "/var/log/postfix-peer-" + peerAddr + ".log"}
	lockPeer(t)
	mustRun(t, "bash", script, "start", peerAddr)
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(p.Log); err == nil {
				t.Logf("postfix peer log tail (%s):\n%s", p.Log, tail(b, 4000))
			}
		}
		if out, err := run(t, "bash", script, "stop", peerAddr); err != nil {
			t.Logf("stop postfix peer: %v\n%s", err, out)
		}
	})
	// Every TLS session shows in the Received field it adds, and the
	// log names both directions' TLS.
	settings := append([]string{"smtpd_tls_received_header = yes", "smtpd_tls_loglevel = 1", "smtp_tls_loglevel = 1"}, extra...)
	p.Postconf(settings...)
	return p
}

// lockPeer holds an exclusive lock on the peer until the test ends: two
// test binaries (another `go test ./...` in the same tree) would otherwise
// reconfigure and stop each other's Postfix. The wait is bounded.
func lockPeer(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile("/var/tmp/postfix-peer-"+peerAddr+".e2e-lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("peer lock: %v", err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("the Postfix peer on %s stays locked by another test run: %v", peerAddr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Cleanups run last-in first-out: registered first, this one
	// unlocks after the peer has been stopped.
	t.Cleanup(func() { f.Close() })
}

// Postconf sets main.cf parameters and reloads the peer.
func (p *PostfixPeer) Postconf(settings ...string) {
	p.t.Helper()
	for _, s := range settings {
		mustRun(p.t, "postconf", "-c", p.Dir+"/etc", "-e", s)
	}
	mustRun(p.t, "postfix", "-c", p.Dir+"/etc", "reload")
}

// Maildir is the new/ directory of a mailbox of the peer.
func (p *PostfixPeer) Maildir(user string) string {
	return filepath.Join(p.Dir, "mail", "example.test", user, "new")
}

// WaitMail waits until user's Maildir holds a message containing tag and
// returns it (LF line ends, as Postfix stores it). Mail of earlier runs
// stays there: the tag is unique per run.
func (p *PostfixPeer) WaitMail(user, tag string) []byte {
	p.t.Helper()
	var found []byte
	waitFor(p.t, waitTimeout, "message "+tag+" in the Postfix peer's Maildir of "+user, func() (bool, string) {
		files, _ := filepath.Glob(filepath.Join(p.Maildir(user), "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil && bytes.Contains(b, []byte(tag)) {
				found = b
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d files in %s", len(files), p.Maildir(user))
	})
	return found
}

// CountMail counts the messages in user's Maildir that contain tag.
func (p *PostfixPeer) CountMail(user, tag string) int {
	files, _ := filepath.Glob(filepath.Join(p.Maildir(user), "*"))
	n := 0
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(tag)) {
			n++
		}
	}
	return n
}

// LogSince returns what the peer logged after offset (from LogSize).
func (p *PostfixPeer) LogSince(off int64) string {
	b, err := os.ReadFile(p.Log)
	if err != nil || int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}

// LogSize is the current length of the peer's log.
func (p *PostfixPeer) LogSize() int64 {
	fi, err := os.Stat(p.Log)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// startDnsmasq runs dnsmasq in the foreground on 127.0.0.1 at a free
// port with only the records given as options (no /etc/resolv.conf, no
// /etc/hosts, no config file), waits until it answers an MX query for
// probe, and stops it when the test ends. It returns "127.0.0.1:PORT".
func startDnsmasq(t testing.TB, probe string, records ...string) string {
	t.Helper()
	bin := needTool(t, "dnsmasq")
	// freeAddr checks TCP; dnsmasq needs the UDP port too, and fails at
	// once when it is taken, so a few tries settle it.
	for try := range 5 {
		addr := freeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		args := append([]string{"--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
			"--pid-file=" + filepath.Join(t.TempDir(), "dnsmasq.pid"), "--bind-interfaces", "--listen-address=127.0.0.1", "--port=" + port,
			"--log-queries", "--log-facility=-", "--user=root"}, records...)
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("start dnsmasq: %v", err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		stop := func() {
			cancel()
			select {
			case <-done:
			case <-time.After(stopTimeout):
				t.Errorf("dnsmasq did not exit after SIGKILL")
			}
		}
		if err := waitDNS(addr, probe, done); err != nil {
			stop()
			t.Logf("dnsmasq try %d on %s: %v\n%s", try, addr, err, out.String())
			continue
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("dnsmasq output:\n%s", tail(out.Bytes(), 4000))
			}
		})
		return addr
	}
	t.Fatal("dnsmasq did not come up in 5 tries")
	return ""
}

// waitDNS waits until the server at addr answers an MX query for name
// with at least one MX record, or the process ends.
func waitDNS(addr, name string, exited <-chan error) error {
	c := &dns.Client{Timeout: time.Second}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeMX)
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("dnsmasq exited: %v", err)
		default:
		}
		r, _, err := c.Exchange(q, addr)
		if err == nil && len(r.Answer) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no MX answer for %s after %v (last: %v %v)", name, startTimeout, r, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newRelayServer prepares a posthorn server whose own domain is
// posthorn.test (hostname mx.posthorn.test) instead of the harness's
// example.test, which the relay tests give to the Postfix peer; then it
// starts it.
func newRelayServer(t testing.TB, o Options) *Server {
	t.Helper()
	s := NewServer(t, o)
	b, err := os.ReadFile(s.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), fmt.Sprintf("domains = [%q]", Domain), fmt.Sprintf("domains = [%q]", relayDomain), 1)
	cfg = strings.Replace(cfg, fmt.Sprintf("hostname = %q", Hostname), fmt.Sprintf("hostname = %q", "mx."+relayDomain), 1)
	if !strings.Contains(cfg, relayDomain) {
		t.Fatalf("could not rewrite the harness config for %s:\n%s", relayDomain, b)
	}
	if err := os.WriteFile(s.ConfigPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Start()
	return s
}

// runTag is a tag unique to this test run, so mail left in the peer's
// Maildirs by earlier runs never counts.
func runTag(t testing.TB, what string) string {
	return fmt.Sprintf("%s-%d-%s", what, time.Now().UnixNano(), strconv.Itoa(os.Getpid()))
}

// submit sends msg over the STARTTLS submission listener as user, with
// MAIL FROM parameters params (e.g. " BODY=8BITMIME"), and asserts 250.
func submit(t testing.TB, s *Server, user, pass, params string, to []string, msg []byte) {
	t.Helper()
	c := dialAuthed(t, s, false, user, pass)
	mustCmd(t, c, "MAIL FROM:<"+user+">"+params, "250")
	for _, r := range to {
		mustCmd(t, c, "RCPT TO:<"+r+">", "250")
	}
	mustCmd(t, c, "DATA", "354")
	if err := c.Write(string(dotStuff(msg))); err != nil {
		t.Fatal(err)
	}
	if r, err := c.ReadReply(); err != nil || r.Code != 250 {
		t.Fatalf("submission end of data: want 250, got %v (%v)", r, err)
	}
	_, _ = c.Cmd("QUIT")
}

// queueList runs `posthorn queue list`, which must succeed.
func queueList(t testing.TB, s *Server) string {
	t.Helper()
	return s.MustCLI("", "queue", "list").Stdout
}

// waitQueueEmpty waits until `posthorn queue list` says the queue is empty.
func waitQueueEmpty(t testing.TB, s *Server) {
	t.Helper()
	waitFor(t, waitTimeout, "empty queue", func() (bool, string) {
		out := queueList(t, s)
		return strings.Contains(out, "queue is empty"), out
	})
}
