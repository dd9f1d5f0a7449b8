package queue

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/store/sqlite"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// call is one Deliver seen by the fake deliverer.
type call struct {
	domain string
	env    Envelope
	body   string
}

// fakeDeliverer answers with fn and records every call.
type fakeDeliverer struct {
	mu    sync.Mutex
	calls []call
	fn    func(ctx context.Context, domain string, env *Envelope) Result
}

func (f *fakeDeliverer) Deliver(ctx context.Context, domain string, env *Envelope, body Body) Result {
	var b strings.Builder
	if rc, err := body.Open(); err == nil {
		io.Copy(&b, rc)
		rc.Close()
	}
	f.mu.Lock()
	f.calls = append(f.calls, call{domain, *env, b.String()})
	f.mu.Unlock()
	return f.fn(ctx, domain, env)
}

func (f *fakeDeliverer) seen() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// all makes a result giving every recipient of env rr.
func all(env *Envelope, rr RcptResult) Result {
	res := Result{Rcpts: make([]RcptResult, len(env.Rcpts))}
	for i, r := range env.Rcpts {
		res.Rcpts[i] = rr
		res.Rcpts[i].Rcpt = r.Addr
	}
	return res
}

var (
	ok250   = RcptResult{Delivered: true, Code: 250, Enhanced: "2.0.0", Text: "ok queued as X", Host: "mx.far.test"}
	temp451 = RcptResult{Code: 451, Enhanced: "4.3.0", Text: "try again later", Host: "mx.far.test"}
	perm550 = RcptResult{Permanent: true, Code: 550, Enhanced: "5.1.1", Text: "User unknown", Host: "mx.far.test"}
)

// storeResolver resolves like the server's adapter: local.test users by
// address, anything else remote.
type storeResolver struct{ st *sqlite.Store }

func (r storeResolver) Resolve(ctx context.Context, addr string) ([]LocalTarget, bool, error) {
	if domainOf(addr) != "local.test" {
		return nil, true, nil
	}
	u, err := r.st.UserByAddress(ctx, addr)
	if err != nil {
		return nil, false, err
	}
	return []LocalTarget{{UserID: u.ID, Address: u.Address}}, false, nil
}

// env is one test's store, intake and clock.
type env struct {
	t      testing.TB
	ctx    context.Context
	st     *sqlite.Store
	in     *intake.Service
	clock  *clock
	sender store.User
}

var (
	credOnce sync.Once
	cred     auth.Credentials
)

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	in := intake.New(st, t.TempDir(), nil, nil)
	t.Cleanup(func() { in.Close() })
	credOnce.Do(func() { cred, err = auth.NewCredentials("pw") })
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.AddUser(t.Context(), "sender@local.test", cred)
	if err != nil {
		t.Fatal(err)
	}
	// A minute ahead of the store's clock, so that what it commits is due.
	return &env{t: t, ctx: t.Context(), st: st, in: in, clock: &clock{t: time.Now().Add(time.Minute)}, sender: u}
}

func (e *env) config(owner string) Config {
	return Config{Owner: owner, Hostname: "mx.local.test", NewSpool: e.in.NewSpool,
		FirstRetry: 5 * time.Minute, MaxInterval: time.Hour, MaxAge: 5 * 24 * time.Hour,
		ScanInterval: 20 * time.Millisecond, DrainGrace: time.Second,
		Now: e.clock.Now, Jitter: func(time.Duration) time.Duration { return 0 }}
}

// start runs a runner until the test ends.
func (e *env) start(cfg Config, d Deliverer) *Runner {
	e.t.Helper()
	r, err := New(cfg, e.st, d, storeResolver{e.st}, nil, NewMetrics(nil))
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			e.t.Errorf("Run: %v", err)
		}
	}()
	e.t.Cleanup(func() { cancel(); <-done })
	return r
}

// queue commits a message from from to remote recipients, each with
// notify, and returns its queue id.
func (e *env) queue(from, body, notify string, rcpts ...string) string {
	e.t.Helper()
	sp := e.in.NewSpool()
	defer sp.Close()
	sp.Write([]byte(body))
	m := &intake.Message{ID: intake.NewID(), From: from, BodyType: "8BITMIME", Body: sp}
	for _, r := range rcpts {
		m.Remote = append(m.Remote, intake.RemoteRecipient{Address: r, ORCPT: "rfc822;" + r, Notify: notify})
	}
	if err := e.in.Submit(e.ctx, m); err != nil {
		e.t.Fatal(err)
	}
	return m.ID
}

// waitFor polls cond until it holds; the deadline only stops a hung test.
func (e *env) waitFor(what string, r *Runner, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		if r != nil {
			r.Kick()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) entries() []store.QueueEntry {
	e.t.Helper()
	l, err := e.st.QueueList(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) queueEmpty() bool { return len(e.entries()) == 0 }

// inbox returns the messages in a local user's INBOX.
func (e *env) inbox(u store.User) [][]byte {
	e.t.Helper()
	mb, err := e.st.MailboxByName(e.ctx, u.ID, "INBOX")
	if err != nil {
		e.t.Fatal(err)
	}
	ms, err := e.st.Messages(e.ctx, mb.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out [][]byte
	for _, m := range ms {
		rc, err := e.st.OpenMessage(e.ctx, m.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
