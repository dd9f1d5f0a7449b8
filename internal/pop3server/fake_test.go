package pop3server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// fakeBackend is an in-memory Backend: users with passwords and
// messages, forced errors, and a record of what the engine did.
type fakeBackend struct {
	mu        sync.Mutex
	pass      map[string]string
	msgs      map[string][]fakeMsg
	locked    map[string]bool
	loginErr  map[string]error // forced Login error by user
	commitErr error
	openErr   error
	readErr   error // returned by readers after their first Read

	logins  []string
	commits [][]int
	closes  int
	opened  int
	rclosed int   // readers closed
	read    int64 // octets read from readers
	closed  chan struct{}

	// closeDelay slows Close, widening the window in which a session
	// that answered before releasing would be caught.
	closeDelay time.Duration
}

type fakeMsg struct{ uid, body string }

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		pass:     map[string]string{"alice": "secret", "bob": "pass word"},
		msgs:     map[string][]fakeMsg{"alice": testMessages(), "bob": nil},
		locked:   map[string]bool{},
		loginErr: map[string]error{},
		closed:   make(chan struct{}, 16),
	}
}

const (
	msg1 = "Subject: a\r\n\r\nbody1\r\n"
	msg2 = "Subject: b\r\n\r\n.dot\r\nline2\r\n..two\r\n.\r\n"
	msg3 = "Subject: c\r\nX: y\r\n\r\nl1\r\nl2\r\nl3\r\n"
)

func testMessages() []fakeMsg {
	return []fakeMsg{{"uid-1", msg1}, {"uid-2", msg2}, {"uid-3", msg3}}
}

func (b *fakeBackend) Login(ctx context.Context, user, pass string, remote net.Addr) (Maildrop, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logins = append(b.logins, user)
	if err := b.loginErr[user]; err != nil {
		return nil, err
	}
	if p, ok := b.pass[user]; !ok || p != pass {
		return nil, mailerr.Permanent(mailerr.AuthFailed, "bad credentials", nil)
	}
	if b.locked[user] {
		return nil, mailerr.Temporary(mailerr.InUse, "locked", nil)
	}
	b.locked[user] = true
	return &fakeDrop{b: b, user: user, msgs: append([]fakeMsg(nil), b.msgs[user]...)}, nil
}

type fakeDrop struct {
	b    *fakeBackend
	user string
	msgs []fakeMsg
}

func (d *fakeDrop) Messages() []MessageInfo {
	out := make([]MessageInfo, len(d.msgs))
	for i, m := range d.msgs {
		out[i] = MessageInfo{UID: m.uid, Size: int64(len(m.body))}
	}
	return out
}

func (d *fakeDrop) Open(ctx context.Context, i int) (io.ReadCloser, error) {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	if d.b.openErr != nil {
		return nil, d.b.openErr
	}
	d.b.opened++
	return &fakeReader{b: d.b, r: strings.NewReader(d.msgs[i].body)}, nil
}

func (d *fakeDrop) Commit(ctx context.Context, deleted []int) error {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	d.b.commits = append(d.b.commits, deleted)
	if d.b.commitErr != nil {
		return d.b.commitErr
	}
	var keep []fakeMsg
	for i, m := range d.b.msgs[d.user] {
		if !containsInt(deleted, i) {
			keep = append(keep, m)
		}
	}
	d.b.msgs[d.user] = keep
	return nil
}

func (d *fakeDrop) Close() error {
	time.Sleep(d.b.closeDelay)
	d.b.mu.Lock()
	d.b.closes++
	d.b.locked[d.user] = false
	d.b.mu.Unlock()
	select {
	case d.b.closed <- struct{}{}:
	default:
	}
	return nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// fakeReader counts what the engine reads, and reads small chunks so
// that TOP's early stop is visible.
type fakeReader struct {
	b     *fakeBackend
	r     *strings.Reader
	reads int
}

func (r *fakeReader) Read(p []byte) (int, error) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.reads > 0 && r.b.readErr != nil {
		return 0, r.b.readErr
	}
	r.reads++
	n, err := r.r.Read(p)
	r.b.read += int64(n)
	return n, err
}

func (r *fakeReader) Close() error {
	r.b.mu.Lock()
	r.b.rclosed++
	r.b.mu.Unlock()
	return nil
}

// scriptConn is a net.Conn that reads a fixed input and records output;
// its reads end with io.EOF (a dropped connection) unless QUIT came first.
type scriptConn struct {
	r      io.Reader
	out    bytes.Buffer
	closed bool
}

func newScriptConn(in string) *scriptConn { return &scriptConn{r: strings.NewReader(in)} }

func (c *scriptConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *scriptConn) Close() error                { c.closed = true; return nil }
func (c *scriptConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 110} }
func (c *scriptConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// testLogger logs through t, so a failing test shows its session lines.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// newTestServer makes a Server whose recovered panics fail the test.
func newTestServer(t testing.TB, cfg Config, be Backend) *Server {
	s := New(cfg, be, testLogger(t), NewMetrics(nil))
	s.onPanic = func(v any) { t.Errorf("session panicked: %v", v) }
	return s
}

// runScript runs one session over input and returns everything sent.
func runScript(t testing.TB, cfg Config, be Backend, input string) string {
	t.Helper()
	s := newTestServer(t, cfg, be)
	c := newScriptConn(input)
	s.serveConn(context.Background(), c)
	if !c.closed {
		t.Errorf("connection not closed")
	}
	return c.out.String()
}

var errBoom = errors.New("boom")
