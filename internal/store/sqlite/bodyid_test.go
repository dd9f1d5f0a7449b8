package sqlite

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
)

// TestBodyIDsNotReused: the newest body deleted, the next one (by
// delivery or by APPEND) gets a new id, so a reader still streaming the
// deleted body by id can never be served another message's chunks.
func TestBodyIDsNotReused(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := t.Context()
	in := intake.New(s, t.TempDir(), nil, nil)
	defer in.Close()
	u, err := s.AddUser(ctx, "a@example.com", testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.MailboxByName(ctx, u.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	lastBody := func() (msgID, bodyID int64) {
		t.Helper()
		if err := s.r.QueryRowContext(ctx, "SELECT id, body_id FROM messages ORDER BY id DESC LIMIT 1").
			Scan(&msgID, &bodyID); err != nil {
			t.Fatal(err)
		}
		return
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*chunkSize/16) // three chunks
	if err := deliver(t, s, in, u, big); err != nil {
		t.Fatal(err)
	}
	oldMsg, oldBody := lastBody()
	// A reader has the first chunk when the message is expunged.
	rc, err := s.OpenMessage(ctx, oldMsg)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.Expunge(ctx, mb.ID, []int64{oldMsg}); err != nil {
		t.Fatal(err)
	}
	for i, add := range []func() error{
		func() error { return deliver(t, s, in, u, bytes.Repeat([]byte("x"), len(big))) },
		func() error {
			_, _, err := s.AppendMessage(ctx, mb.ID, bytes.NewReader(big), int64(len(big)), nil, time.Now())
			return err
		},
	} {
		if err := add(); err != nil {
			t.Fatal(err)
		}
		msg, body := lastBody()
		if body <= oldBody {
			t.Fatalf("case %d: new body id %d, want above the deleted %d", i, body, oldBody)
		}
		if err := s.Expunge(ctx, mb.ID, []int64{msg}); err != nil {
			t.Fatal(err)
		}
		oldBody = body
	}
	// The old reader fails; it never reads the new bodies' octets.
	rest, err := io.ReadAll(rc)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading the expunged message: %d more octets, err %v; want ErrUnexpectedEOF", len(rest), err)
	}
	if bytes.Contains(rest, []byte("xxxx")) {
		t.Error("the expunged message's reader returned another message's octets")
	}
}
