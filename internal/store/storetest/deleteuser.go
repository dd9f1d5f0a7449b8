package storetest

import (
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
)

func testDeleteUser(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.s
	a, b := f.addUser("del@example.com"), f.addUser("keep@example.com")
	f.addUser("empty@example.com")
	if err := s.DeleteUser(ctx, "EMPTY@example.com", false); err != nil {
		t.Errorf("deleting a user without messages: %v", err)
	}
	f.commit(f.msg([]byte("shared\r\n"), a, b), f.msg([]byte("mine\r\n"), a))
	if err := s.LockMaildrop(ctx, a.ID, "pop", 0); err != nil {
		t.Fatal(err)
	}
	err := s.DeleteUser(ctx, "del@example.com", false)
	wantReason(t, "DeleteUser without purge", err, mailerr.Policy)
	if err == nil || !strings.Contains(err.Error(), "user has 2 messages; use --purge") {
		t.Errorf("message: %v", err)
	}
	if _, err := s.UserByAddress(ctx, "del@example.com"); err != nil {
		t.Errorf("refused delete removed the user: %v", err)
	}
	if err := s.DeleteUser(ctx, "del@example.com", true); err != nil {
		t.Fatal(err)
	}
	_, err = s.UserByAddress(ctx, "del@example.com")
	wantReason(t, "deleted user", err, mailerr.NoSuchUser)
	_, err = s.MailboxByName(ctx, a.ID, "INBOX")
	wantReason(t, "deleted user's INBOX", err, mailerr.NoSuchUser)
	ms := f.messages(f.inbox(b))
	if len(ms) != 1 || string(f.read(ms[0].ID)) != string(prefix("sender@example.net", "keep@example.com"))+"shared\r\n" {
		t.Errorf("the other recipient's copy suffered: %v", ms)
	}
	if n, ok := f.bodies(); ok && n != 1 {
		t.Errorf("%d bodies after purge, want 1 (the shared one)", n)
	}
	// The address is free again.
	f.addUser("del@example.com")
}
