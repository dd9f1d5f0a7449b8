package storetest

import (
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

func testLocks(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.s
	u := f.addUser("pop@example.com")
	if err := s.LockMaildrop(ctx, u.ID, "one", time.Minute); err != nil {
		t.Fatal(err)
	}
	err := s.LockMaildrop(ctx, u.ID, "two", time.Minute)
	wantReason(t, "second owner", err, mailerr.InUse)
	if mailerr.IsPermanent(err) {
		t.Error("in use should be temporary")
	}
	if err := s.LockMaildrop(ctx, u.ID, "one", time.Minute); err != nil {
		t.Errorf("owner renewing: %v", err)
	}
	if err := s.UnlockMaildrop(ctx, u.ID, "two"); err != nil {
		t.Fatal(err)
	}
	wantReason(t, "after a stranger's unlock", s.LockMaildrop(ctx, u.ID, "two", time.Minute), mailerr.InUse)
	if err := s.UnlockMaildrop(ctx, u.ID, "one"); err != nil {
		t.Fatal(err)
	}
	if err := s.LockMaildrop(ctx, u.ID, "two", time.Minute); err != nil {
		t.Errorf("after unlock: %v", err)
	}
	if err := s.UnlockMaildrop(ctx, u.ID, "two"); err != nil {
		t.Fatal(err)
	}

	// Expiry: a lock that has run out is taken over by another owner.
	if err := s.LockMaildrop(ctx, u.ID, "crashed", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // outlive the 1 ms lock; not a timing assert
	if err := s.LockMaildrop(ctx, u.ID, "next", time.Minute); err != nil {
		t.Errorf("expired lock not taken over: %v", err)
	}
	v := f.addUser("pop2@example.com")
	if err := s.LockMaildrop(ctx, v.ID, "one", time.Minute); err != nil {
		t.Errorf("locks are per user: %v", err)
	}
	wantReason(t, "lock for no user", s.LockMaildrop(ctx, v.ID+1000, "x", time.Minute), mailerr.NoSuchUser)
}
