package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
)

func testCommitShared(f *fixture) {
	t := f.t
	a, b := f.addUser("a@example.com"), f.addUser("b@example.com")
	inboxBefore := f.inbox(a)
	body := []byte("Received: from x\r\nSubject: hi\r\n\r\nHello\r\n")
	m := f.msg(body, a, b)
	m.Remote = []intake.RemoteRecipient{{Address: "far@remote.example", ORCPT: "rfc822;far@remote.example"}}
	f.commit(m)
	if n, ok := f.bodies(); ok && n != 1 {
		t.Errorf("%d bodies stored for one message, want 1", n)
	}
	for _, u := range []struct {
		addr string
		mb   int64
	}{{"a@example.com", f.inbox(a).ID}, {"b@example.com", f.inbox(b).ID}} {
		ms, err := f.s.Messages(f.ctx, u.mb)
		if err != nil || len(ms) != 1 {
			t.Fatalf("%s: Messages = %v, %v", u.addr, ms, err)
		}
		want := append(prefix(m.From, u.addr), body...)
		if got := f.read(ms[0].ID); !bytes.Equal(got, want) {
			t.Errorf("%s: read %q, want %q", u.addr, got, want)
		}
		if ms[0].UID != 1 || ms[0].Size != int64(len(want)) || ms[0].ModSeq == 0 || len(ms[0].Flags) != 0 {
			t.Errorf("%s: %+v", u.addr, ms[0])
		}
		if got := f.user(u.addr).Used; got != int64(len(want)) {
			t.Errorf("%s: Used = %d, want %d", u.addr, got, len(want))
		}
	}
	after := f.inbox(a)
	if after.UIDNext != 2 || after.HighestModSeq <= inboxBefore.HighestModSeq || after.UIDValidity != inboxBefore.UIDValidity {
		t.Errorf("INBOX before %+v, after %+v", inboxBefore, after)
	}
	_, err := f.s.OpenMessage(f.ctx, 1<<40)
	wantReason(t, "OpenMessage(absent)", err, mailerr.NoSuchUser)
}

func testCommitMany(f *fixture) {
	t := f.t
	a := f.addUser("many@example.com")
	var bodies [][]byte
	for batch := range 10 {
		var msgs []*intake.Message
		for i := range 10 {
			body := fmt.Appendf(nil, "Subject: %d/%d\r\n\r\n%s\r\n", batch, i, bytes.Repeat([]byte("x"), batch*100+i))
			bodies = append(bodies, body)
			msgs = append(msgs, f.msg(body, a))
		}
		f.commit(msgs...)
	}
	ms := f.messages(f.inbox(a))
	if len(ms) != 100 {
		t.Fatalf("%d messages, want 100", len(ms))
	}
	var used int64
	for i, m := range ms {
		if m.UID != uint32(i+1) {
			t.Errorf("message %d has UID %d", i, m.UID)
		}
		if i > 0 && m.ModSeq <= ms[i-1].ModSeq {
			t.Errorf("modseq not increasing at %d: %d after %d", i, m.ModSeq, ms[i-1].ModSeq)
		}
		want := append(prefix("sender@example.net", "many@example.com"), bodies[i]...)
		if got := f.read(m.ID); !bytes.Equal(got, want) || m.Size != int64(len(want)) {
			t.Errorf("message %d: %d bytes (size %d), want %d", i, len(got), m.Size, len(want))
		}
		used += m.Size
	}
	if got := f.user("many@example.com").Used; got != used {
		t.Errorf("Used = %d, want %d", got, used)
	}
	if mb := f.inbox(a); mb.UIDNext != 101 {
		t.Errorf("UIDNext = %d", mb.UIDNext)
	}
}

func testCommitLarge(f *fixture) {
	t := f.t
	a, b := f.addUser("big@example.com"), f.addUser("big2@example.com")
	for _, size := range []int{5 << 20, 64 << 10, 64<<10 + 1, 0} {
		body := randomBody(t, size)
		m := f.msg(body, a, b)
		if size > 256<<10 && m.Body.Bytes() != nil {
			t.Errorf("a %d-byte body is still in memory; the file path is untested", size)
		}
		f.commit(m)
		ms := f.messages(f.inbox(b))
		last := ms[len(ms)-1]
		want := append(prefix(m.From, "big2@example.com"), body...)
		if got := f.read(last.ID); !bytes.Equal(got, want) {
			t.Errorf("%d-byte body read back as %d bytes (differs)", size, len(got))
		}
		if last.Size != int64(len(want)) {
			t.Errorf("size %d, want %d", last.Size, len(want))
		}
	}
}

func testCommitAtomic(f *fixture) {
	t := f.t
	a := f.addUser("atomic@example.com")
	good := f.msg([]byte("good\r\n"), a)
	bad := f.msg([]byte("bad\r\n"), a)
	bad.Local[0].UserID = a.ID + 1000 // no such user's mailbox
	err := f.s.CommitBatch(f.ctx, []*intake.Message{good, bad})
	wantReason(t, "CommitBatch(bad recipient)", err, mailerr.NoSuchUser)
	if ms := f.messages(f.inbox(a)); len(ms) != 0 {
		t.Errorf("a failed batch stored %d messages", len(ms))
	}
	if u := f.user("atomic@example.com"); u.Used != 0 {
		t.Errorf("a failed batch counted %d bytes", u.Used)
	}
	if n, ok := f.bodies(); ok && n != 0 {
		t.Errorf("a failed batch left %d bodies", n)
	}
	if mb := f.inbox(a); mb.UIDNext != 1 {
		t.Errorf("a failed batch moved UIDNext to %d", mb.UIDNext)
	}
	box := f.msg([]byte("to Sent\r\n"), a)
	box.Local[0].Mailbox = "Sent"
	f.commit(good, box)
	sent, err := f.s.MailboxByName(f.ctx, a.ID, "Sent")
	if err != nil || len(f.messages(sent)) != 1 || len(f.messages(f.inbox(a))) != 1 {
		t.Errorf("delivery to INBOX and Sent went wrong (%v)", err)
	}
}

// testCommitThroughIntake runs the group committer over the store: one bad
// message in a batch fails alone.
func testCommitThroughIntake(f *fixture) {
	t := f.t
	a := f.addUser("intake@example.com")
	const n = 30
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		m := f.msg(fmt.Appendf(nil, "message %d\r\n", i), a)
		if i == 7 {
			m.Local[0].Mailbox = "No such mailbox"
		}
		wg.Go(func() { errs[i] = f.in.Submit(f.ctx, m) })
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			wantReason(t, "bad message through intake", err, mailerr.NoSuchUser)
			if !mailerr.IsPermanent(err) {
				t.Errorf("no such mailbox should be permanent: %v", err)
			}
		} else if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	if ms := f.messages(f.inbox(a)); len(ms) != n-1 {
		t.Errorf("%d messages stored, want %d", len(ms), n-1)
	}
}

func testExpunge(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.s
	a, b := f.addUser("x1@example.com"), f.addUser("x2@example.com")
	shared := f.msg(randomBody(t, 200<<10), a, b)
	own := f.msg([]byte("only a's\r\n"), a)
	f.commit(shared, own)
	n0, counting := f.bodies()
	if counting && n0 != 2 {
		t.Fatalf("%d bodies, want 2", n0)
	}
	ia, ib := f.inbox(a), f.inbox(b)
	ma, mb := f.messages(ia), f.messages(ib)
	if err := s.Expunge(ctx, ia.ID, []int64{ma[0].ID}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.bodies(); counting && n != 2 {
		t.Errorf("expunging one of two copies freed the body (%d bodies)", n)
	}
	if got := f.read(mb[0].ID); len(got) != int(mb[0].Size) {
		t.Errorf("b's copy: %d bytes, want %d", len(got), mb[0].Size)
	}
	_, err := s.OpenMessage(ctx, ma[0].ID)
	wantReason(t, "OpenMessage(expunged)", err, mailerr.NoSuchUser)
	if err := s.Expunge(ctx, ia.ID, []int64{ma[0].ID}); err != nil {
		t.Errorf("repeated expunge: %v", err)
	}
	// b's message ID in a's mailbox is not a's to expunge.
	if err := s.Expunge(ctx, ia.ID, []int64{mb[0].ID}); err != nil {
		t.Fatal(err)
	}
	if len(f.messages(ib)) != 1 {
		t.Error("Expunge removed a message from another mailbox")
	}
	if err := s.Expunge(ctx, ib.ID, []int64{mb[0].ID}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.bodies(); counting && n != 1 {
		t.Errorf("after expunging both copies: %d bodies, want 1", n)
	}
	if err := s.Expunge(ctx, ia.ID, []int64{ma[1].ID}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.bodies(); counting && n != 0 {
		t.Errorf("after expunging all: %d bodies, want 0", n)
	}
	for _, addr := range []string{"x1@example.com", "x2@example.com"} {
		if u := f.user(addr); u.Used != 0 {
			t.Errorf("%s: Used = %d after expunging all", addr, u.Used)
		}
	}
	if after := f.inbox(a); after.HighestModSeq <= ia.HighestModSeq || after.UIDNext != ia.UIDNext {
		t.Errorf("INBOX before %+v, after expunge %+v", ia, after)
	}
	wantReason(t, "Expunge(no mailbox)", s.Expunge(ctx, 1<<40, []int64{1}), mailerr.NoSuchUser)
}

func testQuota(f *fixture) {
	t := f.t
	a := f.addUser("quota@example.com")
	if err := f.s.SetQuota(f.ctx, "quota@example.com", 1000); err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for i := range 3 {
		f.commit(f.msg(bytes.Repeat([]byte("q"), 100*(i+1)), a))
	}
	for _, m := range f.messages(f.inbox(a)) {
		sizes = append(sizes, m.Size)
	}
	u := f.user("quota@example.com")
	var sum int64
	for _, s := range sizes {
		sum += s
	}
	if u.Used != sum || u.Quota != 1000 {
		t.Errorf("Used %d (want %d), Quota %d", u.Used, sum, u.Quota)
	}
	if !slices.IsSorted(sizes) || len(sizes) != 3 {
		t.Errorf("sizes %v", sizes)
	}
}

// testCommitHead: Head is stored in front of the body in every copy, for
// small (in-memory) and large (spooled) bodies alike.
func testCommitHead(f *fixture) {
	u := f.addUser("head@example.test")
	mb := f.inbox(u)
	head := []byte("DKIM-Signature: v=1; a=rsa-sha256; d=example.test\r\n")
	for _, n := range []int{10, 300 << 10} {
		body := randomBody(f.t, n)
		m := f.msg(body, u)
		m.Head = head
		f.commit(m)
		ms := f.messages(mb)
		last := ms[len(ms)-1]
		want := append(append(prefix(m.From, u.Address), head...), body...)
		if got := f.read(last.ID); !bytes.Equal(got, want) {
			f.t.Errorf("body of %d bytes with head: got %d bytes, want %d", n, len(got), len(want))
		}
		if last.Size != int64(len(want)) {
			f.t.Errorf("size %d, want %d", last.Size, len(want))
		}
	}
}
