package server

import (
	"bytes"
	"testing"
)

func TestSummaryCache(t *testing.T) {
	blob := func(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }
	// Budget for three 100-byte summaries with their overhead.
	c := newSummaryCache(3 * (100 + summaryOverhead))
	a := c.box(1, 7)
	c.add(a, map[uint32][]byte{1: blob(100), 2: blob(100)})
	out := make([][]byte, 3)
	if missing := a.lookup([]uint32{1, 2, 3}, out); len(missing) != 1 || missing[0] != 2 || len(out[0]) != 100 {
		t.Fatalf("lookup: missing %v, out %d", missing, len(out[0]))
	}
	if c.box(1, 8) == a {
		t.Fatal("a new UIDVALIDITY must not share the old summaries")
	}
	// Mailbox 2 needs room: the least recently used other mailbox goes.
	c.box(1, 8) // used after a, so a is the oldest
	b := c.box(2, 1)
	c.add(b, map[uint32][]byte{5: blob(100), 6: blob(100)})
	if c.boxes[summaryKey{1, 7}] != nil || !a.gone {
		t.Fatal("mailbox 1 was not dropped for room")
	}
	if c.used != 2*(100+summaryOverhead) {
		t.Fatalf("used %d", c.used)
	}
	c.add(a, map[uint32][]byte{9: blob(10)}) // dropped: adds nothing
	if c.used != 2*(100+summaryOverhead) {
		t.Fatalf("a dropped mailbox grew the cache: used %d", c.used)
	}
	// More than the whole budget for one mailbox: not kept.
	c.add(b, map[uint32][]byte{7: blob(1000)})
	if missing := b.lookup([]uint32{5, 7}, make([][]byte, 2)); len(missing) != 1 || c.used > c.budget {
		t.Fatalf("missing %v, used %d of %d", missing, c.used, c.budget)
	}
}

func TestSummaryCacheBoxLimit(t *testing.T) {
	c := newSummaryCache(1 << 20)
	for i := range maxSummaryBoxes + 10 {
		c.box(int64(i), 1)
	}
	if len(c.boxes) > maxSummaryBoxes {
		t.Fatalf("%d boxes tracked", len(c.boxes))
	}
}

// A second FETCH of the same summaries is served from memory, the same
// bytes as the first; a re-created mailbox (new UIDVALIDITY) does not see
// the old ones.
func TestIMAPSummariesFromCache(t *testing.T) {
	f := newIMAPFixture(t)
	ctx := t.Context()
	serveIMAP(t, f, 20)
	u, err := f.be.Login(ctx, "u@example.com", "pw", remote)
	if err != nil {
		t.Fatal(err)
	}
	m, err := u.Select(ctx, "INBOX", true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	uids := []uint32{1, 5, 20, 99}
	read := func() map[uint32]string {
		got := map[uint32]string{}
		if err := m.Summaries(ctx, uids, func(uid uint32, b []byte) error {
			got[uid] = string(b)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := read()
	if len(first) != 3 || first[1] == "" || first[99] != "" {
		t.Fatalf("first read: %d summaries", len(first))
	}
	used := f.be.sums.used
	if used == 0 {
		t.Fatal("nothing cached")
	}
	second := read()
	for _, u := range uids[:3] {
		if second[u] != first[u] {
			t.Errorf("uid %d: cached summary differs", u)
		}
	}
	if f.be.sums.used != used {
		t.Errorf("second read added to the cache: %d, was %d", f.be.sums.used, used)
	}
	mm := m.(*imapMailbox)
	if f.be.sums.box(mm.id, mm.uidv+1).blobs[1] != nil {
		t.Error("another UIDVALIDITY sees the summaries")
	}
}
