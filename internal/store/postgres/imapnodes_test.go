package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/notify"
	"github.com/posthorn/posthorn/internal/store"
)

// The IMAP guarantees across nodes: two stores ("nodes") on one schema.

// TestIMAPWritesAcrossNodes appends, batch-appends, copies and delivers
// into one mailbox from two nodes at once while readers on both list it:
// a reader always sees UIDs 1..n without a gap (so a UID never appears
// after a higher one was seen), MODSEQs never fall along the UIDs, and
// the mailbox's UIDNEXT and HIGHESTMODSEQ never go down.
func TestIMAPWritesAcrossNodes(t *testing.T) {
	cfg := testSchema(t)
	nodes := []*Store{openNode(t, cfg), openNode(t, cfg)}
	u := addUser(t, nodes[0], "imap@example.com")
	mb := inbox(t, nodes[1], u)
	drafts, err := nodes[0].MailboxByName(t.Context(), u.ID, "Drafts")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[0].AppendBatch(t.Context(), drafts.ID, []store.NewMessage{
		{Data: []byte("Subject: d1\r\n\r\n1\r\n")}, {Data: []byte("Subject: d2\r\n\r\n2\r\n")}}); err != nil {
		t.Fatal(err)
	}
	const rounds = 8 // per writer; each round adds 1+2+2+1 messages
	var done atomic.Bool
	var readers, writers sync.WaitGroup
	for _, s := range nodes {
		readers.Go(func() { watchMailbox(t, s, mb.ID, &done) })
		for w := range 2 {
			in := newIntake(t, s)
			writers.Go(func() {
				if err := writeRounds(t.Context(), s, in, u, mb.ID, drafts.ID, w, rounds); err != nil {
					t.Error(err)
				}
			})
		}
	}
	writers.Wait()
	done.Store(true)
	readers.Wait()
	ms, err := nodes[0].Messages(t.Context(), mb.ID)
	want := len(nodes) * 2 * rounds * 6
	if err != nil || len(ms) != want {
		t.Fatalf("%d messages (%v), want %d", len(ms), err, want)
	}
	got, _ := nodes[1].MailboxByID(t.Context(), mb.ID)
	if got.UIDNext != uint32(want+1) || got.HighestModSeq < ms[len(ms)-1].ModSeq {
		t.Errorf("INBOX after: %+v; last message %+v", got, ms[len(ms)-1])
	}
}

// writeRounds is one writer: every kind of IMAP write that adds messages.
func writeRounds(ctx context.Context, s *Store, in *intake.Service, u store.User, mbID, draftsID int64, w, rounds int) error {
	for r := range rounds {
		body := fmt.Appendf(nil, "Subject: w%d r%d\r\n\r\nx\r\n", w, r)
		if _, _, err := s.AppendMessage(ctx, mbID, bytes.NewReader(body), int64(len(body)), []string{`\Seen`}, time.Now()); err != nil {
			return fmt.Errorf("append: %w", err)
		}
		if _, err := s.AppendBatch(ctx, mbID, []store.NewMessage{{Data: body}, {Data: body}}); err != nil {
			return fmt.Errorf("append batch: %w", err)
		}
		if _, err := s.CopyMessages(ctx, draftsID, []uint32{1, 2}, mbID, false); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		m := newMsg(in, body, u)
		err := in.Submit(ctx, m)
		m.Body.Close()
		if err != nil {
			return fmt.Errorf("deliver: %w", err)
		}
	}
	return nil
}

// watchMailbox lists a mailbox until done, checking what a client could
// see.
func watchMailbox(t *testing.T, s *Store, id int64, done *atomic.Bool) {
	var lastNext uint32
	var lastMod uint64
	seen := 0
	for !done.Load() {
		mb, err := s.MailboxByID(t.Context(), id)
		if err != nil {
			t.Errorf("MailboxByID: %v", err)
			return
		}
		if mb.UIDNext < lastNext || mb.HighestModSeq < lastMod {
			t.Errorf("mailbox went back: UIDNEXT %d -> %d, HIGHESTMODSEQ %d -> %d", lastNext, mb.UIDNext, lastMod, mb.HighestModSeq)
			return
		}
		lastNext, lastMod = mb.UIDNext, mb.HighestModSeq
		ms, err := s.Messages(t.Context(), id)
		if err != nil {
			t.Errorf("Messages: %v", err)
			return
		}
		if len(ms) < seen {
			t.Errorf("saw %d messages, then %d", seen, len(ms))
			return
		}
		seen = len(ms)
		for i, m := range ms {
			if m.UID != uint32(i+1) || (i > 0 && m.ModSeq < ms[i-1].ModSeq) {
				t.Errorf("saw UID %d (modseq %d) at position %d", m.UID, m.ModSeq, i)
				return
			}
		}
	}
}

// waitSignal waits for a signal on sub (true) or its closing (false),
// and fails the test after a generous bound (no timing assertion: the
// latency is only logged).
func waitSignal(t *testing.T, what string, sub *notify.Sub) bool {
	t.Helper()
	start := time.Now()
	select {
	case _, ok := <-sub.C():
		t.Logf("%s: signalled after %v", what, time.Since(start).Round(time.Microsecond))
		return ok
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no signal", what)
	case <-t.Context().Done():
		t.Fatalf("%s: test ended", what)
	}
	return false
}

// TestNotifyAcrossNodes: every kind of change committed through node A
// wakes a watcher of node B (an IMAP IDLE there); B's watcher resyncs
// after its connection is cut; a deletion closes B's subscription.
func TestNotifyAcrossNodes(t *testing.T) {
	cfg := testSchema(t)
	a, b := openNode(t, cfg), openNode(t, cfg)
	u := addUser(t, a, "idle@example.com")
	mb, err := b.MailboxByName(t.Context(), u.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	trash, err := b.MailboxByName(t.Context(), u.ID, "Trash")
	if err != nil {
		t.Fatal(err)
	}
	sub, subTrash := b.Notifier().Subscribe(mb.ID), b.Notifier().Subscribe(trash.ID)
	defer sub.Close()
	defer subTrash.Close()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := b.WatchOtherWriters(ctx, time.Second); err != nil {
			t.Errorf("WatchOtherWriters: %v", err)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	waitSignal(t, "listening (resync)", sub) // from here on nothing is missed
	<-subTrash.C()
	in := newIntake(t, a)
	m := newMsg(in, []byte("Subject: hi\r\n\r\nhi\r\n"), u)
	if err := in.Submit(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	m.Body.Close()
	waitSignal(t, "delivery on A", sub)
	steps := []struct {
		what string
		do   func() error
		sub  *notify.Sub
	}{
		{"flags on A", func() error {
			_, err := a.SetFlags(t.Context(), mb.ID, []uint32{1}, store.FlagsAdd, []string{`\Deleted`}, 0)
			return err
		}, sub},
		{"copy on A", func() error { _, err := a.CopyMessages(t.Context(), mb.ID, nil, trash.ID, false); return err }, subTrash},
		{"expunge on A", func() error { _, err := a.ExpungeUIDs(t.Context(), mb.ID, nil); return err }, sub},
		{"append on A", func() error {
			_, _, err := a.AppendMessage(t.Context(), mb.ID, bytes.NewReader([]byte("x\r\n")), 3, nil, time.Now())
			return err
		}, sub},
		{"rename INBOX on A", func() error { return a.RenameMailbox(t.Context(), u.ID, "INBOX", "Old") }, sub},
		{"connection cut", func() error {
			if n := terminate(t, a, "LISTEN %"+b.channel+"%"); n != 1 {
				return fmt.Errorf("terminated %d listening sessions, want 1", n)
			}
			return nil
		}, sub},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if !waitSignal(t, st.what, st.sub) {
			t.Fatalf("%s: subscription closed", st.what)
		}
	}
	if err := a.DeleteMailbox(t.Context(), u.ID, "Trash"); err != nil {
		t.Fatal(err)
	}
	// Drain signals (the resync after the cut may come late) until the
	// channel closes.
	for waitSignal(t, "delete on A", subTrash) {
	}
}

// TestPartialReadStreams appends a 25 MB message from a stream that
// cannot seek (so it is streamed in, never held), reads a kilobyte near
// its end through OpenMessageUID, which must fetch one chunk, and reads
// it whole back through OpenMessage.
func TestPartialReadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("25 MB message")
	}
	s := openTest(t)
	u := addUser(t, s, "big@example.com")
	mb := inbox(t, s, u)
	const size = 25 << 20
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	gen := func() io.Reader { return io.LimitReader(rand.NewChaCha8(key), size) }
	want := sha256.New()
	io.Copy(want, gen())
	_, uid, err := s.AppendMessage(t.Context(), mb.ID, io.MultiReader(gen()), size, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.OpenMessageUID(t.Context(), mb.ID, uid)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	off := int64(size - 5000)
	buf := make([]byte, 1000)
	if n, err := m.ReadAt(buf, off); n != len(buf) || err != nil {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	tail := make([]byte, off+1000)
	io.ReadFull(gen(), tail)
	if !bytes.Equal(buf, tail[off:]) {
		t.Error("ReadAt near the end returned other bytes")
	}
	if f := m.(*store.ChunkedMessage).Fetches(); f != 1 {
		t.Errorf("a 1000-byte read fetched %d chunks, want 1", f)
	}
	ms, err := s.Messages(t.Context(), mb.ID)
	if err != nil || len(ms) != 1 || ms[0].Size != size {
		t.Fatalf("Messages: %+v, %v", ms, err)
	}
	rc, err := s.OpenMessage(t.Context(), ms[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := sha256.New()
	if _, err := io.Copy(got, rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Error("the message read back differs")
	}
}

// TestCreated: the node that makes the schema says so; the next does not.
func TestCreated(t *testing.T) {
	cfg := testSchema(t)
	if a := openNode(t, cfg); !a.Created() {
		t.Error("first Open of an empty schema: Created() false")
	}
	if b := openNode(t, cfg); b.Created() {
		t.Error("second Open: Created() true")
	}
}
