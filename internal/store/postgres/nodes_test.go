package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// These tests run several "nodes" (stores with their own pools) on one
// schema: the guarantees the cluster relies on.

var (
	credOnce sync.Once
	cred     auth.Credentials
)

func testCred(t testing.TB) auth.Credentials {
	credOnce.Do(func() {
		var err error
		if cred, err = auth.NewCredentials("pw"); err != nil {
			t.Fatal(err)
		}
	})
	return cred
}

func addUser(t testing.TB, s *Store, addr string) store.User {
	t.Helper()
	u, err := s.AddUser(t.Context(), addr, testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func inbox(t testing.TB, s *Store, u store.User) store.Mailbox {
	t.Helper()
	mb, err := s.MailboxByName(t.Context(), u.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// newMsg makes a message with body for the users' INBOXes.
func newMsg(in *intake.Service, body []byte, to ...store.User) *intake.Message {
	sp := in.NewSpool()
	sp.Write(body)
	m := &intake.Message{ID: intake.NewID(), From: "s@example.net", Body: sp}
	for _, u := range to {
		m.Local = append(m.Local, intake.LocalRecipient{UserID: u.ID, Address: u.Address, Mailbox: "INBOX",
			Prefix: []byte("Delivered-To: " + u.Address + "\r\n")})
	}
	return m
}

func newIntake(t testing.TB, s *Store) *intake.Service {
	in := intake.New(s, t.TempDir(), nil, nil)
	t.Cleanup(func() { in.Close() })
	return in
}

func TestMigrateConcurrent(t *testing.T) {
	cfg := testSchema(t)
	const nodes = 6
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = open(t.Context(), cfg.Copy(), nil) })
	}
	wg.Wait()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open: %v", i, err)
		}
		defer stores[i].Close()
	}
	var rows int
	if err := stores[0].pool.QueryRow(t.Context(), "SELECT count(*) FROM schema_version").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("schema_version has %d rows (%v), want 1", rows, err)
	}
	for i, s := range stores {
		if v, err := s.SchemaVersion(t.Context()); err != nil || v != len(ms) {
			t.Errorf("node %d: SchemaVersion = %d, %v; want %d", i, v, err, len(ms))
		}
	}
	// A database from a newer posthorn is refused, not touched.
	if _, err := stores[0].pool.Exec(t.Context(), "UPDATE schema_version SET version = 999"); err != nil {
		t.Fatal(err)
	}
	_, err = open(t.Context(), cfg.Copy(), nil)
	if err == nil || !mailerr.IsPermanent(err) {
		t.Errorf("Open of a newer schema: %v, want a permanent error", err)
	}
}

// TestUIDsVisibleInOrder delivers to one mailbox from two nodes at once
// while readers on both watch it: what a reader sees is always UIDs 1..n
// with no gap, so a UID never appears after a higher one was seen, and
// MODSEQs rise with UIDs.
func TestUIDsVisibleInOrder(t *testing.T) {
	cfg := testSchema(t)
	a, b := openNode(t, cfg), openNode(t, cfg)
	u := addUser(t, a, "busy@example.com")
	mb := inbox(t, b, u)
	const perNode, writers = 40, 3
	var done atomic.Bool
	var readers, wg sync.WaitGroup
	for _, s := range []*Store{a, b} {
		readers.Go(func() {
			for !done.Load() {
				ms, err := s.Messages(t.Context(), mb.ID)
				if err != nil {
					t.Errorf("Messages: %v", err)
					return
				}
				for i, m := range ms {
					if m.UID != uint32(i+1) || (i > 0 && m.ModSeq <= ms[i-1].ModSeq) {
						t.Errorf("reader saw UID %d (modseq %d) at position %d", m.UID, m.ModSeq, i)
						return
					}
				}
			}
		})
		for w := range writers {
			in := newIntake(t, s)
			wg.Go(func() {
				for i := range perNode / writers {
					if err := in.Submit(t.Context(), newMsg(in, fmt.Appendf(nil, "w%d m%d\r\n", w, i), u)); err != nil {
						t.Errorf("Submit: %v", err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	done.Store(true)
	readers.Wait()
	ms, err := a.Messages(t.Context(), mb.ID)
	want := 2 * writers * (perNode / writers)
	if err != nil || len(ms) != want {
		t.Fatalf("%d messages (%v), want %d", len(ms), err, want)
	}
	if got := inbox(t, a, u); got.UIDNext != uint32(want+1) || got.HighestModSeq != ms[len(ms)-1].ModSeq {
		t.Errorf("INBOX after: %+v; last message %+v", got, ms[len(ms)-1])
	}
}

// TestCrossedBatches commits batches for two users in opposite orders
// from two nodes: the lock order (mailboxes, then users, by id) means no
// deadlock, and any that PostgreSQL still reports is retried, so every
// batch succeeds.
func TestCrossedBatches(t *testing.T) {
	cfg := testSchema(t)
	a, b := openNode(t, cfg), openNode(t, cfg)
	x, y := addUser(t, a, "x@example.com"), addUser(t, a, "y@example.com")
	const rounds = 30
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		in := newIntake(t, s)
		first, second := x, y
		if i == 1 {
			first, second = y, x
		}
		wg.Go(func() {
			for r := range rounds {
				m1 := newMsg(in, fmt.Appendf(nil, "%d-%d\r\n", i, r), first)
				m2 := newMsg(in, fmt.Appendf(nil, "%d-%d\r\n", i, r), second)
				m2.Local[0].Mailbox = "Sent"
				err := s.CommitBatch(t.Context(), []*intake.Message{m1, m2})
				m1.Body.Close()
				m2.Body.Close()
				if err != nil {
					t.Errorf("node %d round %d: %v", i, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, u := range []store.User{x, y} {
		n := 0
		for _, name := range []string{"INBOX", "Sent"} {
			mb, err := a.MailboxByName(t.Context(), u.ID, name)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := a.Messages(t.Context(), mb.ID)
			if err != nil {
				t.Fatal(err)
			}
			n += len(ms)
		}
		if n != 2*rounds {
			t.Errorf("%s has %d messages, want %d", u.Address, n, 2*rounds)
		}
	}
}

// TestLargeBatchStreamed commits a batch of in-memory bodies too large to
// send inline, so it goes by COPY, and reads every one back.
func TestLargeBatchStreamed(t *testing.T) {
	s := openTest(t)
	in := newIntake(t, s)
	u := addUser(t, s, "big@example.com")
	var msgs []*intake.Message
	var bodies [][]byte
	for i := range 20 {
		body := bytes.Repeat([]byte{byte('a' + i)}, 100<<10+i)
		m := newMsg(in, body, u)
		if i%3 == 0 {
			m.Head = []byte("X-Head: yes\r\n")
			body = append(append([]byte{}, m.Head...), body...)
		}
		defer m.Body.Close()
		msgs, bodies = append(msgs, m), append(bodies, body)
	}
	p := newPlan(msgs)
	p.bodyIDs = make([]int64, len(msgs))
	if p.inlineChunks() {
		t.Fatal("a 2 MB batch was planned inline")
	}
	if err := s.CommitBatch(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Messages(t.Context(), inbox(t, s, u).ID)
	if err != nil || len(ms) != len(msgs) {
		t.Fatalf("%d messages, %v", len(ms), err)
	}
	for i, m := range ms {
		rc, err := s.OpenMessage(t.Context(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		want := append([]byte("Delivered-To: big@example.com\r\n"), bodies[i]...)
		if err != nil || !bytes.Equal(got, want) || m.Size != int64(len(want)) {
			t.Errorf("message %d: %d bytes (%v), size %d; want %d", i, len(got), err, m.Size, len(want))
		}
	}
}

func TestMaildropLockAcrossNodes(t *testing.T) {
	cfg := testSchema(t)
	a, b := openNode(t, cfg), openNode(t, cfg)
	u := addUser(t, a, "pop@example.com")
	if err := a.LockMaildrop(t.Context(), u.ID, "node-a/1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.LockMaildrop(t.Context(), u.ID, "node-b/1", time.Minute); !mailerr.Is(err, mailerr.InUse) {
		t.Errorf("second node's lock: %v, want InUse", err)
	}
	// A dead node's lock: expired on the database's clock, taken over.
	if _, err := a.pool.Exec(t.Context(), "UPDATE pop3_locks SET expires_ms = 0"); err != nil {
		t.Fatal(err)
	}
	if err := b.LockMaildrop(t.Context(), u.ID, "node-b/1", time.Minute); err != nil {
		t.Errorf("taking over an expired lock: %v", err)
	}
	if err := a.LockMaildrop(t.Context(), u.ID, "node-a/1", time.Minute); !mailerr.Is(err, mailerr.InUse) {
		t.Errorf("the old owner renewing a lock it lost: %v, want InUse", err)
	}
}

// TestQueueClaimAcrossNodes: runners on two nodes claim one queue at once;
// every entry goes to exactly one of them.
func TestQueueClaimAcrossNodes(t *testing.T) {
	cfg := testSchema(t)
	nodes := []*Store{openNode(t, cfg), openNode(t, cfg)}
	in := newIntake(t, nodes[0])
	const n = 90
	for i := range n / 3 {
		m := newMsg(in, fmt.Appendf(nil, "q%d\r\n", i))
		m.Remote = []intake.RemoteRecipient{{Address: "1@far.example"}, {Address: "2@far.example"}, {Address: "3@far.example"}}
		if err := nodes[0].CommitBatch(t.Context(), []*intake.Message{m}); err != nil {
			t.Fatal(err)
		}
		m.Body.Close()
	}
	now := time.Now().Add(time.Second)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for i, s := range nodes {
		for w := range 3 {
			owner := fmt.Sprintf("node%d/%d", i, w)
			wg.Go(func() {
				for {
					es, err := s.ClaimDue(t.Context(), owner, now, time.Minute, 4)
					if err != nil || len(es) == 0 {
						if err != nil {
							t.Error(err)
						}
						return
					}
					mu.Lock()
					for _, e := range es {
						if prev, dup := seen[e.ID]; dup {
							t.Errorf("entry %d claimed by %s and %s", e.ID, prev, owner)
						}
						seen[e.ID] = owner
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d entries claimed, want %d", len(seen), n)
	}
}

// TestListen: a delivery and an expunge committed through one node wake
// a listener on another with the mailbox's id, in commit order.
func TestListen(t *testing.T) {
	cfg := testSchema(t)
	a, b := openNode(t, cfg), openNode(t, cfg)
	u, other := addUser(t, a, "idle@example.com"), addUser(t, a, "other@example.com")
	mb, otherBox := inbox(t, a, u), inbox(t, a, other)
	got := make(chan int64, 16)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		err := b.Listen(ctx, func(id int64) { got <- id })
		if ctx.Err() == nil {
			t.Errorf("Listen returned early: %v", err)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	if id := <-got; id != 0 {
		t.Fatalf("first callback for mailbox %d, want 0 (listening)", id)
	}
	in := newIntake(t, a)
	for _, to := range []store.User{other, u} {
		m := newMsg(in, []byte("wake up\r\n"), to)
		if err := a.CommitBatch(t.Context(), []*intake.Message{m}); err != nil {
			t.Fatal(err)
		}
		m.Body.Close()
	}
	for _, want := range []int64{otherBox.ID, mb.ID} {
		if id := <-got; id != want {
			t.Errorf("notified mailbox %d, want %d", id, want)
		}
	}
	ms, err := a.Messages(t.Context(), mb.ID)
	if err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	}
	if err := a.Expunge(t.Context(), mb.ID, []int64{ms[0].ID}); err != nil {
		t.Fatal(err)
	}
	if id := <-got; id != mb.ID {
		t.Errorf("expunge notified mailbox %d, want %d", id, mb.ID)
	}
	// A failed commit notifies nobody: the next notification is the next
	// successful commit's.
	bad := newMsg(in, []byte("x\r\n"), u)
	bad.Local[0].Mailbox = "Nope"
	if err := a.CommitBatch(t.Context(), []*intake.Message{newMsg(in, []byte("y\r\n"), other), bad}); err == nil {
		t.Fatal("commit to a missing mailbox succeeded")
	}
	m := newMsg(in, []byte("z\r\n"), u)
	if err := a.CommitBatch(t.Context(), []*intake.Message{m}); err != nil {
		t.Fatal(err)
	}
	if id := <-got; id != mb.ID {
		t.Errorf("after a failed commit: notified mailbox %d, want %d", id, mb.ID)
	}
}

// terminate kills the server sessions whose current query matches like
// (in this test's schema only: the caller's pattern names it), as a
// database restart or a network cut would.
func terminate(t *testing.T, s *Store, like string) int {
	t.Helper()
	var n int
	err := s.pool.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND query LIKE $1`, like).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestListenReconnects: the listener's connection is killed; Listen
// reconnects by itself, says so with fn(0), and the next change arrives.
func TestListenReconnects(t *testing.T) {
	cfg := testSchema(t)
	a, b := openNode(t, cfg), openNode(t, cfg)
	u := addUser(t, a, "idle@example.com")
	mb := inbox(t, a, u)
	got := make(chan int64, 16)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { b.Listen(ctx, func(id int64) { got <- id }) })
	defer func() { cancel(); wg.Wait() }()
	if id := <-got; id != 0 {
		t.Fatalf("first callback %d, want 0", id)
	}
	if n := terminate(t, a, "LISTEN %"+b.channel+"%"); n != 1 {
		t.Fatalf("terminated %d listening sessions, want 1", n)
	}
	if id := <-got; id != 0 {
		t.Fatalf("callback after the cut: %d, want 0 (resync)", id)
	}
	in := newIntake(t, a)
	m := newMsg(in, []byte("after\r\n"), u)
	if err := a.CommitBatch(t.Context(), []*intake.Message{m}); err != nil {
		t.Fatal(err)
	}
	m.Body.Close()
	if id := <-got; id != mb.ID {
		t.Errorf("after reconnecting: mailbox %d, want %d", id, mb.ID)
	}
}

// TestRecoversFromLostConnections: every pooled connection of a node is
// killed (as a database restart would). A transaction whose BEGIN meets a
// dead connection is run again on a new one, so no commit fails (and any
// failure would have to be a temporary Unavailable); the node works on
// without being reopened.
func TestRecoversFromLostConnections(t *testing.T) {
	cfg := testSchema(t)
	app := "posthorn-test-" + cfg.ConnConfig.RuntimeParams["search_path"]
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	a, killer := openNode(t, cfg), openTest(t)
	u := addUser(t, a, "r@example.com")
	in := newIntake(t, a)
	// Fill the pool with a few connections, so that several die.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { a.pool.Exec(t.Context(), "SELECT pg_sleep(0.05)") })
	}
	wg.Wait()
	var n int
	err := killer.pool.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1`, app).Scan(&n)
	if err != nil || n == 0 {
		t.Fatalf("terminated %d sessions (%v), want some", n, err)
	}
	ok := 0
	for i := range 20 {
		m := newMsg(in, fmt.Appendf(nil, "m%d\r\n", i), u)
		err := a.CommitBatch(t.Context(), []*intake.Message{m})
		m.Body.Close()
		if err == nil {
			ok++
		} else if !mailerr.Is(err, mailerr.Unavailable) || mailerr.IsPermanent(err) {
			t.Errorf("commit %d: %v, want success or temporary Unavailable", i, err)
		}
	}
	t.Logf("killed %d sessions; %d of 20 commits then succeeded", n, ok)
	if ok != 20 {
		t.Errorf("%d of 20 commits failed after the connections died", 20-ok)
	}
	if ms, err := a.Messages(t.Context(), inbox(t, a, u).ID); err != nil || len(ms) != ok {
		t.Errorf("after recovery: %d messages (%v), want %d", len(ms), err, ok)
	}
}

// TestSessionSettings: Open's defaults reach the server, and a DSN's own
// value wins.
func TestSessionSettings(t *testing.T) {
	cfg := testSchema(t)
	var got, app string
	s := openNode(t, cfg)
	err := s.pool.QueryRow(t.Context(), "SELECT current_setting('idle_in_transaction_session_timeout'), "+
		"current_setting('application_name')").Scan(&got, &app)
	if err != nil || got != "1min" || app != "posthorn" {
		t.Errorf("session: idle_in_transaction_session_timeout %q, application_name %q (%v)", got, app, err)
	}
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "5s"
	s2 := openNode(t, cfg)
	if err := s2.pool.QueryRow(t.Context(), "SHOW idle_in_transaction_session_timeout").Scan(&got); err != nil || got != "5s" {
		t.Errorf("DSN's value: %q (%v), want 5s", got, err)
	}
}

// TestListenIdlePing: a listener that hears nothing for a while pings its
// connection and keeps it (no resync), and still hears the next change.
func TestListenIdlePing(t *testing.T) {
	cfg := testSchema(t)
	a, b := openNode(t, cfg), openNode(t, cfg)
	b.listenIdle = 2 * time.Millisecond
	u := addUser(t, a, "quiet@example.com")
	mb := inbox(t, a, u)
	got := make(chan int64, 16)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { b.Listen(ctx, func(id int64) { got <- id }) })
	defer func() { cancel(); wg.Wait() }()
	if id := <-got; id != 0 {
		t.Fatalf("first callback %d, want 0", id)
	}
	// Many idle periods pass while the next commit is made.
	time.Sleep(50 * time.Millisecond)
	in := newIntake(t, a)
	m := newMsg(in, []byte("after the quiet\r\n"), u)
	if err := a.CommitBatch(t.Context(), []*intake.Message{m}); err != nil {
		t.Fatal(err)
	}
	m.Body.Close()
	if id := <-got; id != mb.ID {
		t.Errorf("after idle pings: callback %d, want mailbox %d (0 would mean a reconnection)", id, mb.ID)
	}
}
