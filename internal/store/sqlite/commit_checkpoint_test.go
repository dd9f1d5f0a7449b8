package sqlite

import (
	"os"
	"testing"

	"github.com/posthorn/posthorn/internal/intake"
)

// walState returns the WAL's frames and how many of them are in the
// database file, from a PASSIVE checkpoint of a connection of its own.
func walState(t *testing.T, s *Store) (frames, copied int64) {
	t.Helper()
	var busy int64
	if err := s.ckpt.db.QueryRowContext(t.Context(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		t.Fatal(err)
	}
	return frames, copied
}

func TestCheckpointer(t *testing.T) {
	s := openTest(t, t.TempDir())
	u, err := s.AddUser(t.Context(), "ck@example.com", testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	in := intake.New(s, t.TempDir(), nil, nil)
	defer in.Close()
	// The writer no longer checkpoints by itself: after a commit, the WAL
	// holds frames until the checkpointer copies them.
	for range 3 {
		if err := deliver(t, s, in, u, []byte("Subject: x\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(s.path + "-wal")
	if err != nil || fi.Size() == 0 {
		t.Fatalf("WAL after commits: %v, %v", fi, err)
	}
	s.ckpt.checkpoint(t.Context())
	if frames, copied := walState(t, s); frames != copied {
		t.Errorf("after a passive checkpoint: %d frames, %d copied", frames, copied)
	}
	// Over the limit, the checkpoint empties the WAL file.
	if err := deliver(t, s, in, u, []byte("Subject: y\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	s.ckpt.limit.Store(1)
	s.ckpt.checkpoint(t.Context())
	if fi, err := os.Stat(s.path + "-wal"); err != nil || fi.Size() != 0 {
		t.Errorf("WAL after a truncating checkpoint: %d bytes, %v", fi.Size(), err)
	}
	mb, err := s.MailboxByName(t.Context(), u.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if ms, err := s.Messages(t.Context(), mb.ID); err != nil || len(ms) != 4 {
		t.Errorf("%d messages after the checkpoints, %v", len(ms), err)
	}
	// committed never blocks, also when nobody takes the signal at once.
	for range 10 {
		s.ckpt.committed()
	}
	var nilC *checkpointer
	nilC.committed()
	if err := nilC.close(); err != nil {
		t.Error(err)
	}
}
