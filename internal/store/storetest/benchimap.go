package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/store"
)

// BenchIMAPMailbox is the size of the mailbox BenchIMAP works on: what
// the "IMAP FETCH of a 10,000-message mailbox" reads.
const BenchIMAPMailbox = 10000

// BenchIMAP measures the IMAP methods on a mailbox of BenchIMAPMailbox
// 1 KB messages with 200-byte summaries: listing it (SELECT), reading
// every summary (FETCH 1:* ENVELOPE), flagging every message (STORE 1:*),
// appending one message, and a 1000-byte partial read of a 100 KB one.
// open returns a fresh store, which must be an IMAPStore.
func BenchIMAP(b *testing.B, open func(b *testing.B) Store) {
	s := open(b)
	is, ok := s.(IMAPStore)
	if !ok {
		b.Fatalf("%T is not an IMAPStore", s)
	}
	ctx := b.Context()
	u, err := s.AddUser(ctx, "imapbench@example.com", testCred(b))
	if err != nil {
		b.Fatal(err)
	}
	mb, err := s.MailboxByName(ctx, u.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	msg := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstu\r\n"), 32)[:1024]
	sum := bytes.Repeat([]byte("s"), 200)
	uids := make([]uint32, 0, BenchIMAPMailbox)
	for len(uids) < BenchIMAPMailbox {
		batch := make([]store.NewMessage, 1000)
		for i := range batch {
			batch[i] = store.NewMessage{Data: msg, Date: time.Unix(1700000000, 0)}
		}
		got, err := is.AppendBatch(ctx, mb.ID, batch)
		if err != nil {
			b.Fatal(err)
		}
		blobs := make(map[uint32][]byte, len(got))
		for _, u := range got {
			blobs[u] = sum
		}
		if err := is.SetSummaries(ctx, mb.ID, blobs); err != nil {
			b.Fatal(err)
		}
		uids = append(uids, got...)
	}
	big := bytes.Repeat(msg, 100)
	_, bigUID, err := is.AppendMessage(ctx, mb.ID, bytes.NewReader(big), int64(len(big)), nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	// Appends go to another mailbox, so the others see a fixed mailbox.
	drafts, err := s.MailboxByName(ctx, u.ID, "Drafts")
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("Messages%d", BenchIMAPMailbox), func(b *testing.B) {
		for b.Loop() {
			if ms, err := s.Messages(ctx, mb.ID); err != nil || len(ms) != len(uids)+1 {
				b.Fatalf("Messages: %d, %v", len(ms), err)
			}
		}
	})
	b.Run(fmt.Sprintf("Summaries%d", BenchIMAPMailbox), func(b *testing.B) {
		for b.Loop() {
			n := 0
			if err := is.Summaries(ctx, mb.ID, uids, func(uint32, []byte) error { n++; return nil }); err != nil || n != len(uids) {
				b.Fatalf("Summaries: %d, %v", n, err)
			}
		}
	})
	b.Run(fmt.Sprintf("SetFlags%d", BenchIMAPMailbox), func(b *testing.B) {
		op := store.FlagsAdd
		for b.Loop() {
			if _, err := is.SetFlags(ctx, mb.ID, nil, op, []string{`\Seen`}, 0); err != nil {
				b.Fatal(err)
			}
			op = store.FlagsAdd + store.FlagsRemove - op
		}
	})
	b.Run("Append1KB", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := is.AppendMessage(ctx, drafts.ID, bytes.NewReader(msg), int64(len(msg)), nil, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadAt1000of100KB", func(b *testing.B) {
		buf := make([]byte, 1000)
		for b.Loop() {
			m, err := is.OpenMessageUID(ctx, mb.ID, bigUID)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := m.ReadAt(buf, int64(len(big)/2)); n != len(buf) || err != nil {
				b.Fatalf("ReadAt: %d, %v", n, err)
			}
			m.Close()
		}
	})
}
