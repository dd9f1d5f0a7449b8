package storetest

import (
	"bytes"
	"context"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// QueueStore is the relay queue's part of the store contract (package
// queue's consumer interface is a subset of it, plus the admin commands').
type QueueStore interface {
	ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueEntry, error)
	QueueRenew(ctx context.Context, owner string, until time.Time) (int, error)
	QueueRelease(ctx context.Context, owner string, now time.Time) (int, error)
	QueueDelivered(ctx context.Context, ids []int64) error
	QueueDefer(ctx context.Context, ids []int64, next time.Time, lastErr string) error
	QueueFail(ctx context.Context, ids []int64, report *intake.Message) error
	QueueList(ctx context.Context) ([]store.QueueEntry, error)
	QueueGet(ctx context.Context, msgID string) ([]store.QueueEntry, error)
	QueueLen(ctx context.Context) (entries, messages int64, err error)
	QueueRetry(ctx context.Context, msgID string) (int, error)
	QueueDelete(ctx context.Context, msgID string) (int, error)
	OpenBody(ctx context.Context, bodyID int64) (io.ReadCloser, error)
}

func (f *fixture) queue() QueueStore {
	f.t.Helper()
	q, ok := f.s.(QueueStore)
	if !ok {
		f.t.Fatalf("%T does not implement storetest.QueueStore", f.s)
	}
	return q
}

// remoteMsg makes a message for remote recipients.
func (f *fixture) remoteMsg(body []byte, rcpts ...string) *intake.Message {
	m := f.msg(body)
	m.EnvID, m.Ret, m.SMTPUTF8 = "env-1", "HDRS", true
	for _, r := range rcpts {
		m.Remote = append(m.Remote, intake.RemoteRecipient{Address: r, ORCPT: "rfc822;" + r, Notify: "FAILURE,DELAY"})
	}
	return m
}

func ids(es []store.QueueEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func rcpts(es []store.QueueEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Rcpt
	}
	slices.Sort(out)
	return out
}

func testQueueClaim(f *fixture) {
	t, ctx, q := f.t, f.ctx, f.queue()
	body := []byte("Subject: q\r\n\r\nqueued\r\n")
	m := f.remoteMsg(body, "a@one.example", "b@two.example")
	f.commit(m)
	now := time.Now().Add(time.Second)
	es, err := q.ClaimDue(ctx, "node-a", now, time.Minute, 10)
	if err != nil || len(es) != 2 {
		t.Fatalf("ClaimDue = %v, %v; want 2 entries", es, err)
	}
	e := es[0]
	if e.MsgID != m.ID || e.Sender != m.From || e.EnvID != "env-1" || e.Ret != "HDRS" || !e.SMTPUTF8 ||
		e.BodyType != "8BITMIME" || e.Notify != "FAILURE,DELAY" || e.ORCPT != "rfc822;"+e.Rcpt ||
		e.Attempts != 0 || e.Size != int64(len(body)) || e.LeaseOwner != "node-a" ||
		e.LeaseUntil.Unix() != now.Add(time.Minute).Unix() || e.Created.IsZero() {
		t.Errorf("claimed %+v", e)
	}
	if got := rcpts(es); !slices.Equal(got, []string{"a@one.example", "b@two.example"}) {
		t.Errorf("recipients %v", got)
	}
	if again, err := q.ClaimDue(ctx, "node-b", now, time.Minute, 10); err != nil || len(again) != 0 {
		t.Errorf("second claim while leased = %v, %v; want none", again, err)
	}
	// The lease runs out (the runner died): another node takes over.
	later := now.Add(time.Minute + time.Second)
	taken, err := q.ClaimDue(ctx, "node-b", later, time.Minute, 1)
	if err != nil || len(taken) != 1 || taken[0].LeaseOwner != "node-b" {
		t.Fatalf("claim after expiry = %+v, %v; want 1 entry for node-b", taken, err)
	}
	// Renewal keeps node-b's entry away from node-c.
	if n, err := q.QueueRenew(ctx, "node-b", later.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("QueueRenew = %d, %v; want 1", n, err)
	}
	rest, err := q.ClaimDue(ctx, "node-c", later.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(rest) != 1 || rest[0].ID == taken[0].ID {
		t.Errorf("claim beside a renewed lease = %+v, %v; want only the other entry", rest, err)
	}
	if n, err := q.QueueRelease(ctx, "node-b", later); err != nil || n != 1 {
		t.Errorf("QueueRelease(node-b) = %d, %v; want 1", n, err)
	}
	if n, err := q.QueueRelease(ctx, "", later); err != nil || n != 1 {
		t.Errorf("QueueRelease(all) = %d, %v; want 1 (node-c's)", n, err)
	}
	all, err := q.ClaimDue(ctx, "node-d", later, time.Minute, 10)
	if err != nil || len(all) != 2 {
		t.Errorf("claim after release = %d entries, %v; want 2", len(all), err)
	}
	if _, err := q.ClaimDue(ctx, "", now, time.Minute, 1); !mailerr.Is(err, mailerr.BadInput) {
		t.Errorf("claim without owner: %v", err)
	}
}

func testQueueDefer(f *fixture) {
	t, ctx, q := f.t, f.ctx, f.queue()
	f.commit(f.remoteMsg([]byte("Subject: d\r\n\r\nx\r\n"), "a@far.example", "b@far.example"))
	now := time.Now().Add(time.Second)
	es, err := q.ClaimDue(ctx, "n", now, time.Minute, 10)
	if err != nil || len(es) != 2 {
		t.Fatalf("ClaimDue = %d, %v", len(es), err)
	}
	next := now.Add(5 * time.Minute)
	if err := q.QueueDefer(ctx, ids(es), next, "451 4.3.0 try later"); err != nil {
		t.Fatal(err)
	}
	got, err := q.QueueGet(ctx, es[0].MsgID)
	if err != nil || len(got) != 2 {
		t.Fatalf("QueueGet = %v, %v", got, err)
	}
	for _, e := range got {
		if e.Attempts != 1 || e.NextAttempt.Unix() != next.Unix() || e.LastError != "451 4.3.0 try later" ||
			e.LeaseOwner != "" || !e.LeaseUntil.IsZero() {
			t.Errorf("after defer: %+v", e)
		}
	}
	if es, _ := q.ClaimDue(ctx, "n", next.Add(-time.Second), time.Minute, 10); len(es) != 0 {
		t.Errorf("claimed %d entries before their next attempt", len(es))
	}
	// An operator's retry makes them due now (the store's clock).
	if n, err := q.QueueRetry(ctx, ""); err != nil || n != 2 {
		t.Errorf("QueueRetry(all) = %d, %v; want 2", n, err)
	}
	es, err = q.ClaimDue(ctx, "n", time.Now().Add(time.Second), time.Minute, 10)
	if err != nil || len(es) != 2 {
		t.Fatalf("claim after retry = %d, %v", len(es), err)
	}
	// In flight: retry must not make them claimable by another runner.
	if n, err := q.QueueRetry(ctx, es[0].MsgID); err != nil || n != 0 {
		t.Errorf("QueueRetry of leased entries = %d, %v; want 0", n, err)
	}
	if err := q.QueueDefer(ctx, ids(es), next, "again"); err != nil {
		t.Fatal(err)
	}
	if got, _ := q.QueueGet(ctx, es[0].MsgID); len(got) != 2 || got[0].Attempts != 2 {
		t.Errorf("second defer: %+v", got)
	}
	_, err = q.QueueRetry(ctx, "NOSUCHID")
	wantReason(t, "QueueRetry(absent)", err, mailerr.NoSuchUser)
}

func testQueueDelivered(f *fixture) {
	t, ctx, q := f.t, f.ctx, f.queue()
	u := f.addUser("local@example.com")
	body := randomBody(t, 200<<10) // several chunks
	m := f.remoteMsg(body, "r1@far.example", "r2@far.example")
	m.Local = f.msg(body, u).Local
	f.commit(m)
	es, err := q.QueueGet(ctx, m.ID)
	if err != nil || len(es) != 2 {
		t.Fatalf("QueueGet = %d, %v", len(es), err)
	}
	rc, err := q.OpenBody(ctx, es[0].BodyID)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, err = io.CopyBuffer(&got, onlyReader{rc}, make([]byte, 1000))
	rc.Close()
	if err != nil || !bytes.Equal(got.Bytes(), body) {
		t.Fatalf("OpenBody read %d bytes (%v), want the %d of the body", got.Len(), err, len(body))
	}
	if n, msgs, err := q.QueueLen(ctx); err != nil || n != 2 || msgs != 1 {
		t.Errorf("QueueLen = %d, %d, %v; want 2, 1", n, msgs, err)
	}
	if err := q.QueueDelivered(ctx, ids(es)); err != nil {
		t.Fatal(err)
	}
	if err := q.QueueDelivered(ctx, ids(es)); err != nil {
		t.Errorf("delivering again: %v", err)
	}
	_, err = q.QueueGet(ctx, m.ID)
	wantReason(t, "QueueGet(delivered)", err, mailerr.NoSuchUser)
	if n, ok := f.bodies(); ok && n != 1 {
		t.Errorf("%d bodies after the queue let go, want 1 (the local copy keeps it)", n)
	}
	mb := f.inbox(u)
	if err := f.s.Expunge(ctx, mb.ID, []int64{f.messages(mb)[0].ID}); err != nil {
		t.Fatal(err)
	}
	if n, ok := f.bodies(); ok && n != 0 {
		t.Errorf("%d bodies after the last reference went, want 0", n)
	}
	if _, err := q.OpenBody(ctx, es[0].BodyID); !mailerr.Is(err, mailerr.NoSuchUser) {
		t.Errorf("OpenBody of a freed body: %v", err)
	}
}

func testQueueFail(f *fixture) {
	t, ctx, q := f.t, f.ctx, f.queue()
	sender := f.addUser("sender@example.com")
	m := f.remoteMsg([]byte("Subject: f\r\n\r\nx\r\n"), "gone@far.example", "other@far.example")
	m.From = sender.Address
	f.commit(m)
	es, _ := q.QueueGet(ctx, m.ID)
	bounceBody := []byte("From: MAILER-DAEMON@example.com\r\nSubject: bounce\r\n\r\nsorry\r\n")
	bad := f.msg(bounceBody)
	bad.From = ""
	bad.Local = []intake.LocalRecipient{{UserID: 1 << 40, Address: "nobody@example.com", Mailbox: "INBOX"}}
	if err := q.QueueFail(ctx, ids(es[:1]), bad); err == nil {
		t.Fatal("QueueFail with an undeliverable report succeeded")
	}
	if got, _ := q.QueueGet(ctx, m.ID); len(got) != 2 {
		t.Fatalf("a failed QueueFail removed entries: %d left", len(got))
	}
	bounce := f.msg(bounceBody, sender)
	bounce.From = ""
	if err := q.QueueFail(ctx, ids(es[:1]), bounce); err != nil {
		t.Fatal(err)
	}
	left, err := q.QueueGet(ctx, m.ID)
	if err != nil || len(left) != 1 || left[0].ID != es[1].ID {
		t.Fatalf("after QueueFail: %+v, %v", left, err)
	}
	ms := f.messages(f.inbox(sender))
	if len(ms) != 1 {
		t.Fatalf("sender has %d messages, want the bounce", len(ms))
	}
	if got := f.read(ms[0].ID); !bytes.HasSuffix(got, bounceBody) {
		t.Errorf("bounce reads %q", got)
	}
	// Again for the same (gone) entry: no second bounce.
	if err := q.QueueFail(ctx, ids(es[:1]), f.msg(bounceBody, sender)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.messages(f.inbox(sender))); n != 1 {
		t.Errorf("a report for removed entries was committed: %d messages", n)
	}
	if n, err := q.QueueDelete(ctx, m.ID); err != nil || n != 1 {
		t.Errorf("QueueDelete = %d, %v; want 1", n, err)
	}
	_, err = q.QueueDelete(ctx, m.ID)
	wantReason(t, "QueueDelete(again)", err, mailerr.NoSuchUser)
	if n, ok := f.bodies(); ok && n != 1 {
		t.Errorf("%d bodies, want 1 (the bounce)", n)
	}
}

func testQueueList(f *fixture) {
	t, ctx, q := f.t, f.ctx, f.queue()
	if l, err := q.QueueList(ctx); err != nil || len(l) != 0 {
		t.Fatalf("empty QueueList = %v, %v", l, err)
	}
	a := f.remoteMsg([]byte("a\r\n"), "x@far.example", "y@far.example")
	b := f.remoteMsg([]byte("bb\r\n"), "z@far.example")
	f.commit(a, b)
	l, err := q.QueueList(ctx)
	if err != nil || len(l) != 3 {
		t.Fatalf("QueueList = %d entries, %v", len(l), err)
	}
	byMsg := map[string][]string{}
	for _, e := range l {
		byMsg[e.MsgID] = append(byMsg[e.MsgID], e.Rcpt)
	}
	if len(byMsg[a.ID]) != 2 || len(byMsg[b.ID]) != 1 {
		t.Errorf("QueueList grouped %v", byMsg)
	}
	if n, err := q.QueueDelete(ctx, a.ID); err != nil || n != 2 {
		t.Errorf("QueueDelete = %d, %v", n, err)
	}
	if l, _ := q.QueueList(ctx); len(l) != 1 || l[0].MsgID != b.ID {
		t.Errorf("after delete: %+v", l)
	}
}

// testQueueClaimRace claims from several owners at once: every entry is
// handed out exactly once.
func testQueueClaimRace(f *fixture) {
	t, ctx, q := f.t, f.ctx, f.queue()
	const n = 60
	for i := range n / 3 {
		f.commit(f.remoteMsg([]byte{byte('a' + i%26), '\r', '\n'}, "1@far.example", "2@far.example", "3@near.example"))
	}
	now := time.Now().Add(time.Second)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		owner := string(rune('a' + w))
		wg.Go(func() {
			for {
				es, err := q.ClaimDue(ctx, owner, now, time.Minute, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(es) == 0 {
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
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d entries claimed, want %d", len(seen), n)
	}
}

// BenchQueueClaim measures claiming due work beside a large backlog that
// is not due (a dead destination): the cost must not grow with it.
func BenchQueueClaim(b *testing.B, open func(b *testing.B) Store, backlog int) {
	s := open(b)
	q, ok := s.(QueueStore)
	if !ok {
		b.Skipf("%T has no queue", s)
	}
	in := intake.New(s, b.TempDir(), nil, nil)
	defer in.Close()
	ctx := b.Context()
	mk := func(n int, rcpt string) {
		var msgs []*intake.Message
		for range n {
			sp := in.NewSpool()
			sp.Write([]byte("Subject: b\r\n\r\nb\r\n"))
			defer sp.Close()
			msgs = append(msgs, &intake.Message{ID: intake.NewID(), From: "s@example.com", Body: sp,
				Remote: []intake.RemoteRecipient{{Address: rcpt}}})
		}
		if err := s.CommitBatch(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
	for done := 0; done < backlog; done += 500 {
		mk(min(500, backlog-done), "r@dead.example")
	}
	if backlog > 0 {
		now := time.Now().Add(time.Second)
		es, err := q.ClaimDue(ctx, "bench", now, time.Minute, backlog)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(es); i += 1000 {
			if err := q.QueueDefer(ctx, ids(es[i:min(i+1000, len(es))]), now.Add(time.Hour), "dead"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		mk(1, "r@live.example")
		b.StartTimer()
		es, err := q.ClaimDue(ctx, "bench", time.Now().Add(time.Second), time.Minute, 100)
		if err != nil || len(es) != 1 {
			b.Fatalf("ClaimDue = %d, %v", len(es), err)
		}
		if err := q.QueueDelivered(ctx, ids(es)); err != nil {
			b.Fatal(err)
		}
	}
}
