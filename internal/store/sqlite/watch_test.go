package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A commit by another process (a second Store on the same file) wakes the
// subscribers of the first store's Notifier.
func TestWatchOtherWriters(t *testing.T) {
	dir := t.TempDir()
	s1, s2 := openTest(t, dir), openTest(t, dir)
	u, err := s1.AddUser(t.Context(), "w@example.com", testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s1.MailboxByName(t.Context(), u.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	sub := s1.Notifier().Subscribe(mb.ID)
	defer sub.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s1.WatchOtherWriters(ctx, 10*time.Millisecond) }()
	// The other process appends until the watcher (which may not have
	// read its first data_version yet) signals; bounded, no timing assert.
	got := false
	for i := 0; i < 600 && !got; i++ {
		if _, _, err := s2.AppendMessage(t.Context(), mb.ID, strings.NewReader("Subject: x\r\n\r\nx\r\n"), 17, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sub.C():
			got = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !got {
		t.Error("no signal after another process's commits")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("WatchOtherWriters: %v", err)
	}
}
