package storetest

import (
	"bytes"
	"context"
	"io"
	"slices"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/notify"
	"github.com/posthorn/posthorn/internal/store"
)

// IMAPStore is the IMAP part of the store contract: what
// internal/server's IMAP adapter uses.
type IMAPStore interface {
	MailboxByID(ctx context.Context, mailboxID int64) (store.Mailbox, error)
	Mailboxes(ctx context.Context, userID int64) ([]store.Mailbox, error)
	Subscriptions(ctx context.Context, userID int64) ([]string, error)
	CreateMailbox(ctx context.Context, userID int64, name, specialUse string) (store.Mailbox, error)
	DeleteMailbox(ctx context.Context, userID int64, name string) error
	RenameMailbox(ctx context.Context, userID int64, oldName, newName string) error
	SetSubscribed(ctx context.Context, userID int64, name string, on bool) error
	MailboxStatus(ctx context.Context, mailboxID int64) (store.MailboxStatus, error)
	AppendMessage(ctx context.Context, mailboxID int64, r io.Reader, size int64, flags []string, date time.Time) (uidValidity, uid uint32, err error)
	AppendBatch(ctx context.Context, mailboxID int64, msgs []store.NewMessage) ([]uint32, error)
	OpenMessageUID(ctx context.Context, mailboxID int64, uid uint32) (store.MessageReaderAt, error)
	Summaries(ctx context.Context, mailboxID int64, uids []uint32, fn func(uid uint32, blob []byte) error) error
	SetSummaries(ctx context.Context, mailboxID int64, blobs map[uint32][]byte) error
	SetFlags(ctx context.Context, mailboxID int64, uids []uint32, op store.FlagOp, flags []string, unchangedSince uint64) ([]uint32, error)
	ExpungeUIDs(ctx context.Context, mailboxID int64, uids []uint32) ([]uint32, error)
	CopyMessages(ctx context.Context, mailboxID int64, uids []uint32, destID int64, move bool) (store.CopyResult, error)
	Notifier() *notify.Hub
}

// imap returns the store as an IMAPStore. Every store serves IMAP, so
// one that does not implement it fails the IMAP tests rather than
// skipping them.
func (f *fixture) imap() IMAPStore {
	f.t.Helper()
	s, ok := f.s.(IMAPStore)
	if !ok {
		f.t.Fatalf("%T does not implement storetest.IMAPStore", f.s)
	}
	return s
}

func (f *fixture) mailbox(s IMAPStore, u store.User, name string) store.Mailbox {
	f.t.Helper()
	mb, err := f.s.MailboxByName(f.ctx, u.ID, name)
	if err != nil {
		f.t.Fatalf("MailboxByName(%s): %v", name, err)
	}
	return mb
}

func (f *fixture) appendMsg(s IMAPStore, mb store.Mailbox, data []byte, flags ...string) uint32 {
	f.t.Helper()
	uv, uid, err := s.AppendMessage(f.ctx, mb.ID, bytes.NewReader(data), int64(len(data)), flags, time.Unix(1700000000, 0))
	if err != nil || uv != mb.UIDValidity {
		f.t.Fatalf("AppendMessage: uidvalidity %d (want %d), %v", uv, mb.UIDValidity, err)
	}
	return uid
}

func names(mbs []store.Mailbox) []string {
	var out []string
	for _, m := range mbs {
		out = append(out, m.Name)
	}
	return out
}

func testIMAPMailboxes(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.imap()
	u := f.addUser("mb@example.com")
	mbs, err := s.Mailboxes(ctx, u.ID)
	if err != nil || !slices.Equal(names(mbs), []string{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}) {
		t.Fatalf("new user's mailboxes: %v, %v", names(mbs), err)
	}
	for _, m := range mbs {
		if m.Name == "Sent" && m.SpecialUse != `\Sent` {
			t.Errorf("Sent has special use %q", m.SpecialUse)
		}
	}
	c, err := s.CreateMailbox(ctx, u.ID, "a/b/c", "")
	if err != nil || c.Name != "a/b/c" || c.UIDNext != 1 || c.UIDValidity == 0 {
		t.Fatalf("CreateMailbox(a/b/c): %+v, %v", c, err)
	}
	_, err = s.CreateMailbox(ctx, u.ID, "a/b/c", "")
	wantReason(t, "create twice", err, mailerr.Exists)
	_, err = s.CreateMailbox(ctx, u.ID, "inbox", "")
	wantReason(t, "create inbox", err, mailerr.Exists)
	mbs, _ = s.Mailboxes(ctx, u.ID)
	if !slices.Contains(names(mbs), "a") || !slices.Contains(names(mbs), "a/b") {
		t.Errorf("parents of a/b/c not made: %v", names(mbs))
	}
	// Subscriptions: a name that is not a mailbox stays listed; deleting a
	// subscribed mailbox keeps its name subscribed.
	for _, n := range []string{"ghost", "a/b/c"} {
		if err := s.SetSubscribed(ctx, u.ID, n, true); err != nil {
			t.Fatalf("subscribe %s: %v", n, err)
		}
	}
	if subs, err := s.Subscriptions(ctx, u.ID); err != nil || !slices.Equal(subs, []string{"ghost"}) {
		t.Errorf("Subscriptions: %v, %v", subs, err)
	}
	if err := s.DeleteMailbox(ctx, u.ID, "a/b/c"); err != nil {
		t.Fatal(err)
	}
	if subs, _ := s.Subscriptions(ctx, u.ID); !slices.Equal(subs, []string{"a/b/c", "ghost"}) {
		t.Errorf("after deleting a subscribed mailbox: %v", subs)
	}
	c2, err := s.CreateMailbox(ctx, u.ID, "a/b/c", "")
	if err != nil || c2.UIDValidity == c.UIDValidity || !c2.Subscribed {
		t.Errorf("re-created a/b/c: %+v (old UIDVALIDITY %d), %v", c2, c.UIDValidity, err)
	}
	if err := s.SetSubscribed(ctx, u.ID, "ghost", false); err != nil {
		t.Fatal(err)
	}
	if subs, _ := s.Subscriptions(ctx, u.ID); len(subs) != 0 {
		t.Errorf("after unsubscribing: %v", subs)
	}
	wantReason(t, "delete INBOX", s.DeleteMailbox(ctx, u.ID, "INBOX"), mailerr.Policy)
	wantReason(t, "delete absent", s.DeleteMailbox(ctx, u.ID, "nope"), mailerr.NoSuchUser)

	// Rename moves children and keeps UIDVALIDITY.
	if err := s.RenameMailbox(ctx, u.ID, "a", "x/y"); err != nil {
		t.Fatal(err)
	}
	mbs, _ = s.Mailboxes(ctx, u.ID)
	for _, n := range []string{"x/y", "x/y/b", "x/y/b/c"} {
		if !slices.Contains(names(mbs), n) {
			t.Errorf("after rename a -> x/y: %v lacks %s", names(mbs), n)
		}
	}
	if slices.Contains(names(mbs), "a/b") {
		t.Errorf("after rename a -> x/y: a/b still there: %v", names(mbs))
	}
	if moved := f.mailbox(s, u, "x/y/b/c"); moved.UIDValidity != c2.UIDValidity || moved.ID != c2.ID {
		t.Errorf("renamed mailbox %+v, was %+v", moved, c2)
	}
	wantReason(t, "rename onto existing", s.RenameMailbox(ctx, u.ID, "Sent", "Trash"), mailerr.Exists)
	wantReason(t, "rename absent", s.RenameMailbox(ctx, u.ID, "nope", "n2"), mailerr.NoSuchUser)

	// Renaming INBOX moves its messages, with their UIDs, to a new
	// mailbox; INBOX stays, empty, with UIDNEXT kept.
	f.commit(f.msg([]byte("Subject: 1\r\n\r\n1\r\n"), u), f.msg([]byte("Subject: 2\r\n\r\n2\r\n"), u))
	if err := s.RenameMailbox(ctx, u.ID, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	old, inbox := f.mailbox(s, u, "Old"), f.inbox(u)
	if ms := f.messages(old); len(ms) != 2 || ms[0].UID != 1 || ms[1].UID != 2 || old.UIDNext != 3 {
		t.Errorf("Old after renaming INBOX: %+v %+v", old, ms)
	}
	if ms := f.messages(inbox); len(ms) != 0 || inbox.UIDNext != 3 {
		t.Errorf("INBOX after renaming it: %+v %+v", inbox, ms)
	}
	// Deleting a mailbox frees its messages' bytes.
	used := f.user(u.Address).Used
	if used == 0 {
		t.Fatal("no bytes used after two deliveries")
	}
	if err := s.DeleteMailbox(ctx, u.ID, "Old"); err != nil {
		t.Fatal(err)
	}
	if got := f.user(u.Address).Used; got != 0 {
		t.Errorf("Used after deleting the mailbox with every message: %d", got)
	}
	if n, ok := f.bodies(); ok && n != 0 {
		t.Errorf("%d bodies left after deleting their only mailbox", n)
	}
	_, err = s.MailboxByID(ctx, old.ID)
	wantReason(t, "MailboxByID(deleted)", err, mailerr.NoSuchUser)
}

func testIMAPFlags(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.imap()
	u := f.addUser("flags@example.com")
	mb := f.inbox(u)
	for i := range 5 {
		f.appendMsg(s, mb, []byte("Subject: m\r\n\r\n"+string(rune('a'+i))+"\r\n"))
	}
	before, _ := s.MailboxByID(ctx, mb.ID)
	failed, err := s.SetFlags(ctx, mb.ID, []uint32{1, 2, 3, 99}, store.FlagsAdd, []string{`\Seen`, "$Work"}, 0)
	if err != nil || len(failed) != 0 {
		t.Fatalf("SetFlags add: %v %v", failed, err)
	}
	after, _ := s.MailboxByID(ctx, mb.ID)
	if after.HighestModSeq <= before.HighestModSeq {
		t.Errorf("HIGHESTMODSEQ %d -> %d after STORE", before.HighestModSeq, after.HighestModSeq)
	}
	ms := f.messages(mb)
	want := [][]string{{`\Seen`, "$Work"}, {`\Seen`, "$Work"}, {`\Seen`, "$Work"}, nil, nil}
	for i, m := range ms {
		if !slices.Equal(m.Flags, want[i]) {
			t.Errorf("uid %d flags %q, want %q", m.UID, m.Flags, want[i])
		}
		if want[i] != nil && m.ModSeq != after.HighestModSeq {
			t.Errorf("uid %d modseq %d, want %d", m.UID, m.ModSeq, after.HighestModSeq)
		}
	}
	// Removing compares case-insensitively; an unchanged message keeps
	// its modseq.
	mod4 := ms[3].ModSeq
	if _, err := s.SetFlags(ctx, mb.ID, []uint32{1, 4}, store.FlagsRemove, []string{"$WORK"}, 0); err != nil {
		t.Fatal(err)
	}
	ms = f.messages(mb)
	if !slices.Equal(ms[0].Flags, []string{`\Seen`}) || ms[3].ModSeq != mod4 || ms[0].ModSeq <= after.HighestModSeq {
		t.Errorf("after -FLAGS: %+v, %+v (uid 4 had modseq %d)", ms[0], ms[3], mod4)
	}
	// UNCHANGEDSINCE: uid 2 changed after the given modseq, uid 5 did not.
	failed, err = s.SetFlags(ctx, mb.ID, []uint32{2, 5}, store.FlagsReplace, []string{`\Deleted`}, before.HighestModSeq)
	if err != nil || !slices.Equal(failed, []uint32{2}) {
		t.Errorf("conditional STORE failed %v, %v; want [2]", failed, err)
	}
	if _, err := s.SetFlags(ctx, mb.ID, []uint32{1}, store.FlagsAdd, []string{"bad flag"}, 0); !mailerr.Is(err, mailerr.BadInput) {
		t.Errorf("flag with a space: %v", err)
	}
	st, err := s.MailboxStatus(ctx, mb.ID)
	if err != nil || st.Messages != 5 || st.Unseen != 2 || st.Deleted != 1 || st.UIDNext != 6 ||
		st.UIDValidity != mb.UIDValidity || st.Size != f.user(u.Address).Used {
		t.Errorf("status %+v, %v (used %d)", st, err, f.user(u.Address).Used)
	}
	s.SetFlags(ctx, mb.ID, []uint32{3}, store.FlagsAdd, []string{`\Deleted`}, 0)
	gone, err := s.ExpungeUIDs(ctx, mb.ID, []uint32{1, 5})
	if err != nil || !slices.Equal(gone, []uint32{5}) {
		t.Errorf("UID EXPUNGE 1,5: %v %v; want [5]", gone, err)
	}
	gone, err = s.ExpungeUIDs(ctx, mb.ID, nil)
	if err != nil || !slices.Equal(gone, []uint32{3}) {
		t.Errorf("EXPUNGE: %v %v; want [3]", gone, err)
	}
	if ms := f.messages(mb); len(ms) != 3 {
		t.Errorf("%d messages left, want 3", len(ms))
	}
	if st, _ := s.MailboxStatus(ctx, mb.ID); st.Size != f.user(u.Address).Used {
		t.Errorf("used %d after expunge, mailbox size %d", f.user(u.Address).Used, st.Size)
	}
}

func testIMAPAppendCopy(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.imap()
	u := f.addUser("copy@example.com")
	inbox, trash := f.inbox(u), f.mailbox(s, u, "Trash")
	big := randomBody(t, 200_000)
	uid := f.appendMsg(s, inbox, big, `\Flagged`)
	f.commit(f.msg([]byte("Subject: delivered\r\n\r\nhi\r\n"), u))
	delivered := append(prefix("sender@example.net", u.Address), "Subject: delivered\r\n\r\nhi\r\n"...)
	for _, c := range []struct {
		uid  uint32
		want []byte
	}{{uid, big}, {2, delivered}} {
		m, err := s.OpenMessageUID(ctx, inbox.ID, c.uid)
		if err != nil {
			t.Fatal(err)
		}
		if m.Size() != int64(len(c.want)) {
			t.Errorf("uid %d: Size %d, want %d", c.uid, m.Size(), len(c.want))
		}
		// Reads at offsets across the prefix and the chunk boundaries.
		for _, off := range []int64{0, 10, 40, 65535, 65536, 131000, int64(len(c.want)) - 3} {
			if off < 0 || off >= int64(len(c.want)) {
				continue
			}
			buf := make([]byte, 1000)
			n, err := m.ReadAt(buf, off)
			end := min(off+1000, int64(len(c.want)))
			if !bytes.Equal(buf[:n], c.want[off:end]) || (err != nil && err != io.EOF) {
				t.Errorf("uid %d: ReadAt(%d) = %d bytes, %v", c.uid, off, n, err)
			}
		}
		m.Close()
	}
	_, err := s.OpenMessageUID(ctx, inbox.ID, 77)
	wantReason(t, "OpenMessageUID(absent)", err, mailerr.NoSuchUser)
	if err := s.SetSummaries(ctx, inbox.ID, map[uint32][]byte{uid: []byte("summary-1")}); err != nil {
		t.Fatal(err)
	}
	used := f.user(u.Address).Used
	res, err := s.CopyMessages(ctx, inbox.ID, []uint32{2, uid, 50}, trash.ID, false)
	if err != nil || res.DestUIDValidity != trash.UIDValidity || !slices.Equal(res.Source, []uint32{1, 2}) ||
		!slices.Equal(res.Dest, []uint32{1, 2}) {
		t.Fatalf("copy: %+v, %v", res, err)
	}
	if n, ok := f.bodies(); ok && n != 2 {
		t.Errorf("%d bodies after a copy, want 2 (shared)", n)
	}
	if got := f.user(u.Address).Used; got != 2*used {
		t.Errorf("used %d after copying everything, want %d", got, 2*used)
	}
	tm := f.messages(trash)
	if len(tm) != 2 || !slices.Equal(tm[0].Flags, []string{`\Flagged`}) || tm[0].InternalDate.Unix() != 1700000000 {
		t.Errorf("copied messages: %+v", tm)
	}
	var sums []string
	s.Summaries(ctx, trash.ID, []uint32{2, 1}, func(uid uint32, b []byte) error {
		sums = append(sums, string(rune('0'+uid))+":"+string(b))
		return nil
	})
	if !slices.Equal(sums, []string{"2:", "1:summary-1"}) {
		t.Errorf("summaries after copy: %q", sums)
	}
	// Quota: a copy or an append over it fails; a move does not count.
	if err := f.s.SetQuota(ctx, u.Address, 2*used+10); err != nil {
		t.Fatal(err)
	}
	_, err = s.CopyMessages(ctx, inbox.ID, []uint32{1}, trash.ID, false)
	wantReason(t, "copy over quota", err, mailerr.OverQuota)
	_, _, err = s.AppendMessage(ctx, inbox.ID, bytes.NewReader(big[:100]), 100, nil, time.Now())
	wantReason(t, "append over quota", err, mailerr.OverQuota)
	res, err = s.CopyMessages(ctx, inbox.ID, []uint32{1, 2}, trash.ID, true)
	if err != nil || !slices.Equal(res.Dest, []uint32{3, 4}) {
		t.Fatalf("move: %+v, %v", res, err)
	}
	if ms := f.messages(inbox); len(ms) != 0 {
		t.Errorf("INBOX after move: %+v", ms)
	}
	sums = nil
	s.Summaries(ctx, trash.ID, []uint32{3}, func(uid uint32, b []byte) error { sums = append(sums, string(b)); return nil })
	if !slices.Equal(sums, []string{"summary-1"}) {
		t.Errorf("summary after move: %q", sums)
	}
	if got := f.user(u.Address).Used; got != 2*used {
		t.Errorf("used %d after a move, want %d", got, 2*used)
	}
	other := f.addUser("other@example.com")
	_, err = s.CopyMessages(ctx, trash.ID, []uint32{1}, f.inbox(other).ID, false)
	wantReason(t, "copy to another user's mailbox", err, mailerr.NoSuchUser)
	_, _, err = s.AppendMessage(ctx, inbox.ID, bytes.NewReader(big[:10]), 100, nil, time.Now())
	if err == nil {
		t.Error("append of a reader shorter than its size succeeded")
	}
}

func testIMAPNotify(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.imap()
	u := f.addUser("notify@example.com")
	inbox, sent := f.inbox(u), f.mailbox(s, u, "Sent")
	h := s.Notifier()
	sub, subSent := h.Subscribe(inbox.ID), h.Subscribe(sent.ID)
	defer sub.Close()
	defer subSent.Close()
	signalled := func(what string, ch <-chan struct{}, want bool) {
		t.Helper()
		got := false
		select {
		case _, ok := <-ch:
			got = ok
		default:
		}
		if got != want {
			t.Errorf("%s: signalled %v, want %v", what, got, want)
		}
	}
	f.commit(f.msg([]byte("Subject: n\r\n\r\nn\r\n"), u))
	signalled("delivery", sub.C(), true)
	signalled("delivery, other mailbox", subSent.C(), false)
	s.SetFlags(ctx, inbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Deleted`}, 0)
	signalled("flags", sub.C(), true)
	s.SetFlags(ctx, inbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Deleted`}, 0)
	signalled("flags unchanged", sub.C(), false)
	s.CopyMessages(ctx, inbox.ID, []uint32{1}, sent.ID, false)
	signalled("copy, destination", subSent.C(), true)
	s.ExpungeUIDs(ctx, inbox.ID, nil)
	signalled("expunge", sub.C(), true)
	f.appendMsg(s, inbox, []byte("Subject: a\r\n\r\na\r\n"))
	signalled("append", sub.C(), true)
	if err := f.s.Expunge(ctx, inbox.ID, []int64{f.messages(inbox)[0].ID}); err != nil {
		t.Fatal(err)
	}
	signalled("POP3 expunge", sub.C(), true)
	if err := s.DeleteMailbox(ctx, u.ID, "Sent"); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-subSent.C():
		if ok {
			t.Error("delete: a signal instead of a closed channel")
		}
	default:
		t.Error("delete: the channel is not closed")
	}
}

func testIMAPAppendBatch(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.imap()
	u := f.addUser("batch@example.com")
	mb := f.inbox(u)
	date := time.Unix(1600000000, 0)
	msgs := []store.NewMessage{
		{Data: []byte("Subject: a\r\n\r\na\r\n"), Flags: []string{`\Seen`}, Date: date},
		{Data: randomBody(t, 70_000), Date: date},
	}
	uids, err := s.AppendBatch(ctx, mb.ID, msgs)
	if err != nil || !slices.Equal(uids, []uint32{1, 2}) {
		t.Fatalf("AppendBatch: %v, %v", uids, err)
	}
	ms := f.messages(mb)
	if len(ms) != 2 || !slices.Equal(ms[0].Flags, []string{`\Seen`}) || !ms[1].InternalDate.Equal(date) ||
		ms[1].Size != 70_000 {
		t.Errorf("batch-appended messages: %+v", ms)
	}
	if got := f.read(ms[1].ID); !bytes.Equal(got, msgs[1].Data) {
		t.Error("second message's bytes differ")
	}
	if got := f.user(u.Address).Used; got != int64(len(msgs[0].Data)+len(msgs[1].Data)) {
		t.Errorf("used %d after batch", got)
	}
	f.s.SetQuota(ctx, u.Address, 80_000)
	_, err = s.AppendBatch(ctx, mb.ID, msgs)
	wantReason(t, "batch over quota", err, mailerr.OverQuota)
	if ms := f.messages(mb); len(ms) != 2 {
		t.Errorf("a refused batch left %d messages, want 2", len(ms))
	}
	_, err = s.AppendBatch(ctx, mb.ID, []store.NewMessage{{Data: nil}})
	wantReason(t, "empty message", err, mailerr.BadInput)
}
