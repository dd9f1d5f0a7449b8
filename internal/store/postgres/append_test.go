package postgres

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// TestAppendShort: a reader that ends before its stated size fails the
// append with a permanent BadInput, inline or streamed, and leaves the
// mailbox, the user's used bytes and the bodies as they were.
func TestAppendShort(t *testing.T) {
	s := openTest(t)
	u := addUser(t, s, "short@example.com")
	mb := inbox(t, s, u)
	for _, tc := range []struct {
		name       string
		size, have int64
	}{
		{"inline", 1000, 999},
		{"streamed, short in the first chunk", 2 << 20, 100},
		{"streamed, short in a later chunk", 2 << 20, 2<<20 - 1},
	} {
		r := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("x"), int(tc.have))))
		_, _, err := s.AppendMessage(t.Context(), mb.ID, r, tc.size, nil, time.Now())
		if !mailerr.Is(err, mailerr.BadInput) || !mailerr.IsPermanent(err) {
			t.Errorf("%s: %v, want permanent BadInput", tc.name, err)
		}
	}
	after := inbox(t, s, u)
	n, _, _ := s.BodyCount(t.Context())
	if after.UIDNext != mb.UIDNext || after.HighestModSeq != mb.HighestModSeq || n != 0 {
		t.Errorf("after failed appends: %+v (was %+v), %d bodies", after, mb, n)
	}
	if got, _ := s.UserByAddress(t.Context(), u.Address); got.Used != 0 {
		t.Errorf("used %d after failed appends", got.Used)
	}
}

// TestCrossedMoves moves messages between two mailboxes in opposite
// directions from two nodes while a third flags them: the locks are
// taken in one order, so nothing deadlocks for good (a deadlock
// PostgreSQL reports is retried), no message is lost or doubled, and the
// user's used bytes do not change.
func TestCrossedMoves(t *testing.T) {
	cfg := testSchema(t)
	nodes := []*Store{openNode(t, cfg), openNode(t, cfg), openNode(t, cfg)}
	u := addUser(t, nodes[0], "mover@example.com")
	a := inbox(t, nodes[0], u)
	b, err := nodes[0].MailboxByName(t.Context(), u.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []store.NewMessage
	for i := range 20 {
		msgs = append(msgs, store.NewMessage{Data: fmt.Appendf(nil, "Subject: %d\r\n\r\n%d\r\n", i, i)})
	}
	for _, mb := range []store.Mailbox{a, b} {
		if _, err := nodes[0].AppendBatch(t.Context(), mb.ID, msgs); err != nil {
			t.Fatal(err)
		}
	}
	used := func() int64 {
		got, err := nodes[0].UserByAddress(t.Context(), u.Address)
		if err != nil {
			t.Fatal(err)
		}
		return got.Used
	}
	before := used()
	const rounds = 15
	var wg sync.WaitGroup
	for i, dir := range [][2]store.Mailbox{{a, b}, {b, a}} {
		s := nodes[i]
		wg.Go(func() {
			for r := range rounds {
				// Moves take everything; copies a few UIDs (present or not),
				// so the mailboxes stay small.
				var uids []uint32
				if r%2 == 1 {
					uids = []uint32{1, 2, 3, uint32(20 * r), uint32(20*r + 1)}
				}
				if _, err := s.CopyMessages(t.Context(), dir[0].ID, uids, dir[1].ID, uids == nil); err != nil {
					t.Errorf("move/copy %d: %v", r, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for r := range rounds {
			for _, mb := range []store.Mailbox{a, b} {
				if _, err := nodes[2].SetFlags(t.Context(), mb.ID, nil, store.FlagsReplace, []string{fmt.Sprint("$r", r)}, 0); err != nil {
					t.Errorf("flags %d: %v", r, err)
					return
				}
			}
		}
	})
	wg.Wait()
	total, size := 0, int64(0)
	for _, mb := range []store.Mailbox{a, b} {
		ms, err := nodes[0].Messages(t.Context(), mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range ms {
			if i > 0 && m.UID <= ms[i-1].UID {
				t.Errorf("mailbox %d: UID %d after %d", mb.ID, m.UID, ms[i-1].UID)
			}
			size += m.Size
		}
		total += len(ms)
	}
	if got := used(); got != size || total < 40 {
		t.Errorf("%d messages of %d bytes, used %d (was %d before)", total, size, got, before)
	}
}
