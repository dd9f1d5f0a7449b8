package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// IMAPServer is a test server with imap and imaps listeners.
type IMAPServer struct {
	*Server
	IMAP, IMAPS string // host:port
}

// StartIMAPServer starts a server that also listens for IMAP. The
// listeners go into the config's [listen] table through Options.Extra, so
// o must not set limits (they would open a [limits] table before it).
func StartIMAPServer(t testing.TB, o Options) *IMAPServer {
	t.Helper()
	if o.MaxMessageSize != 0 || o.MaxRecipients != 0 || o.MaxConnections != 0 {
		t.Fatal("StartIMAPServer: limits must go in Options.Extra as a [limits] table")
	}
	s := &IMAPServer{IMAP: freeAddr(t), IMAPS: freeAddr(t)}
	o.Extra = fmt.Sprintf("imap = [%q]\nimaps = [%q]\n", s.IMAP, s.IMAPS) + o.Extra
	s.Server = StartServer(t, o)
	for _, a := range []string{s.IMAP, s.IMAPS} {
		deadline := time.Now().Add(startTimeout)
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no IMAP listener on %s; log:\n%s", a, s.LogTail(4096))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return s
}

// IMAPConn is a raw IMAP connection: exact lines, for the responses and
// commands (IDLE, SASL-IR) that imaplib cannot show or send.
type IMAPConn struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

// DialIMAP connects and reads the greeting.
func DialIMAP(t testing.TB, addr string, implicitTLS bool) *IMAPConn {
	t.Helper()
	var c net.Conn
	var err error
	if implicitTLS {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.DialTimeout("tcp", addr, ioTimeout)
	}
	if err != nil {
		t.Fatalf("dial IMAP %s: %v", addr, err)
	}
	ic := &IMAPConn{t: t, c: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	if g := ic.Line(); !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("IMAP greeting %q", g)
	}
	return ic
}

// Line reads one line without CRLF, failing after ioTimeout.
func (ic *IMAPConn) Line() string {
	ic.t.Helper()
	ic.c.SetReadDeadline(time.Now().Add(ioTimeout))
	l, err := ic.r.ReadString('\n')
	if err != nil {
		ic.t.Fatalf("IMAP read: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// Send writes one line (CRLF added).
func (ic *IMAPConn) Send(line string) {
	ic.t.Helper()
	ic.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := ic.c.Write([]byte(line + "\r\n")); err != nil {
		ic.t.Fatalf("IMAP write: %v", err)
	}
}

var literalEnd = regexp.MustCompile(`\{(\d+)\}$`)

// Cmd sends a tagged command and returns the untagged lines (a literal is
// kept inline) and the tagged completion without its tag.
func (ic *IMAPConn) Cmd(format string, a ...any) (untagged []string, done string) {
	ic.t.Helper()
	ic.tag++
	tag := "t" + strconv.Itoa(ic.tag)
	ic.Send(tag + " " + fmt.Sprintf(format, a...))
	return ic.Until(tag)
}

// Until reads to the completion of tag.
func (ic *IMAPConn) Until(tag string) (untagged []string, done string) {
	ic.t.Helper()
	for {
		l := ic.Line()
		for {
			m := literalEnd.FindStringSubmatch(l)
			if m == nil {
				break
			}
			n, _ := strconv.Atoi(m[1])
			buf := make([]byte, n)
			if _, err := ioReadFull(ic, buf); err != nil {
				ic.t.Fatalf("IMAP literal: %v", err)
			}
			l += "\r\n" + string(buf) + ic.Line()
		}
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			return untagged, rest
		}
		untagged = append(untagged, l)
	}
}

func ioReadFull(ic *IMAPConn, buf []byte) (int, error) {
	ic.c.SetReadDeadline(time.Now().Add(ioTimeout))
	n := 0
	for n < len(buf) {
		k, err := ic.r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// MustOK runs a command that must complete OK.
func (ic *IMAPConn) MustOK(format string, a ...any) []string {
	ic.t.Helper()
	u, done := ic.Cmd(format, a...)
	if !strings.HasPrefix(done, "OK") {
		ic.t.Fatalf("%s: %s (untagged %q)", fmt.Sprintf(format, a...), done, u)
	}
	return u
}

// Expect reads lines until one equals want (other untagged lines may come
// first: they are returned), failing after ioTimeout.
func (ic *IMAPConn) Expect(want string) []string {
	ic.t.Helper()
	var seen []string
	for {
		l := ic.Line()
		if l == want {
			return seen
		}
		seen = append(seen, l)
	}
}

// IMAPLibResult is py/imap_ops.py's answer; bytes are latin-1 strings.
type IMAPLibResult struct {
	Capabilities []string `json:"capabilities"`
	Login        IMAPOp   `json:"login"`
	Results      []IMAPOp `json:"results"`
}

// IMAPOp is one imaplib call.
type IMAPOp struct {
	Op       []any          `json:"op"`
	Typ      string         `json:"typ"`
	Data     any            `json:"data"`
	Untagged map[string]any `json:"untagged"`
	Error    string         `json:"error"`
}

// Strings flattens Data (lists of strings and literal pairs) in order.
func (o IMAPOp) Strings() []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(o.Data)
	return out
}

// Joined is Strings joined by newlines, for Contains checks.
func (o IMAPOp) Joined() string { return strings.Join(o.Strings(), "\n") }

// Octets turns a latin-1 string from the script back into bytes.
func Octets(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// imaplibRun runs one imaplib session; mode is plain, starttls or ssl.
func imaplibRun(t testing.TB, addr, mode, user, pass string, ops ...[]any) IMAPLibResult {
	t.Helper()
	host, port := splitHostPort(t, addr)
	if ops == nil {
		ops = [][]any{}
	}
	var out IMAPLibResult
	runPython(t, "imap_ops.py", map[string]any{"host": host, "port": port, "mode": mode,
		"user": user, "pass": pass, "ops": ops}, &out)
	if len(out.Results) != len(ops) && out.Login.Typ == "OK" {
		t.Fatalf("imap_ops.py ran %d ops, want %d", len(out.Results), len(ops))
	}
	return out
}
