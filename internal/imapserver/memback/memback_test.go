package memback

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// Sessions on one mailbox share one snapshot per version; a change makes
// a new one and signals every watcher.
func TestSnapshotSharingAndChanges(t *testing.T) {
	ctx := context.Background()
	b := New()
	b.AddUser("alice", "pw")
	if _, err := b.Login(ctx, "alice", "bad", nil); !mailerr.Is(err, mailerr.AuthFailed) {
		t.Fatalf("bad password: %v", err)
	}
	u, err := b.Login(ctx, "ALICE", "pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := u.Select(ctx, "INBOX", false)
	m2, _ := u.Select(ctx, "INBOX", true)
	s1, _ := m1.Snapshot(ctx)
	s2, _ := m2.Snapshot(ctx)
	if s1 != s2 {
		t.Error("two sessions got different snapshots of one version")
	}
	uid, err := b.Deliver("alice", "INBOX", []byte("Subject: x\r\n\r\nhi\r\n"), nil, time.Now())
	if err != nil || uid != 1 {
		t.Fatalf("deliver: %d %v", uid, err)
	}
	for _, m := range []imapserver.Mailbox{m1, m2} {
		select {
		case <-m.Changes():
		default:
			t.Error("no change signal")
		}
	}
	s3, _ := m1.Snapshot(ctx)
	if s3 == s1 || len(s3.Messages) != 1 || s3.UIDNext != 2 || len(s1.Messages) != 0 {
		t.Errorf("snapshot after delivery: %+v (old %+v)", s3, s1)
	}
	failed, err := m1.Store(ctx, []uint32{1}, imapserver.FlagsAdd, []string{imapserver.FlagDeleted}, s3.HighestModSeq-1)
	if err != nil || len(failed) != 1 {
		t.Errorf("conditional store: %v %v", failed, err)
	}
	m1.Store(ctx, []uint32{1}, imapserver.FlagsAdd, []string{imapserver.FlagDeleted}, 0)
	msg, _ := m1.Open(ctx, 1)
	data, _ := io.ReadAll(io.NewSectionReader(msg, 0, msg.Size()))
	if string(data) != "Subject: x\r\n\r\nhi\r\n" {
		t.Errorf("open: %q", data)
	}
	gone, _ := m1.Expunge(ctx, nil)
	if len(gone) != 1 {
		t.Errorf("expunge: %v", gone)
	}
	if _, err := m1.Open(ctx, 1); !mailerr.Is(err, mailerr.NoSuchUser) {
		t.Errorf("open expunged: %v", err)
	}
	s4, _ := m2.Snapshot(ctx)
	if len(s4.Messages) != 0 || s4.UIDNext != 2 || s4.HighestModSeq <= s3.HighestModSeq {
		t.Errorf("after expunge: %+v", s4)
	}
	m1.Close()
	m2.Close()
}
