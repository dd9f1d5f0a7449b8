package storetest

import (
	"slices"
	"testing"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/mailerr"
)

func wantReason(t *testing.T, what string, err error, r mailerr.Reason) {
	t.Helper()
	if !mailerr.Is(err, r) {
		t.Errorf("%s: error %v, want reason %v", what, err, r)
	}
}

func testUsers(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.s
	u := f.addUser("Alice@Example.COM")
	if u.ID == 0 || u.Address != "Alice@example.com" || u.Quota != 0 || u.Used != 0 {
		t.Errorf("AddUser returned %+v", u)
	}
	for _, addr := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", " Alice@example.com "} {
		got, err := s.UserByAddress(ctx, addr)
		if err != nil || got.ID != u.ID || got.Address != "Alice@example.com" {
			t.Errorf("UserByAddress(%q) = %+v, %v", addr, got, err)
		}
		if !got.Credentials.Verify("s3cret pass") {
			t.Errorf("stored credentials do not verify")
		}
		if got.Credentials.ScramIter != 4096 || len(got.Credentials.StoredKey) != 32 {
			t.Errorf("SCRAM credentials lost: %+v", got.Credentials)
		}
	}
	_, err := s.AddUser(ctx, "ALICE@example.com", testCred(t))
	wantReason(t, "AddUser duplicate", err, mailerr.Exists)

	wantBoxes := map[string]string{"INBOX": "", "Drafts": `\Drafts`, "Sent": `\Sent`,
		"Trash": `\Trash`, "Junk": `\Junk`, "Archive": `\Archive`}
	for name, use := range wantBoxes {
		mb, err := s.MailboxByName(ctx, u.ID, name)
		if err != nil {
			t.Errorf("mailbox %s: %v", name, err)
			continue
		}
		if mb.SpecialUse != use || mb.UIDValidity == 0 || mb.UIDNext != 1 || mb.UserID != u.ID || !mb.Subscribed {
			t.Errorf("mailbox %s = %+v", name, mb)
		}
	}
	if mb, err := s.MailboxByName(ctx, u.ID, "inbox"); err != nil || mb.Name != "INBOX" {
		t.Errorf("INBOX is case-insensitive: %+v, %v", mb, err)
	}
	_, err = s.MailboxByName(ctx, u.ID, "Nope")
	wantReason(t, "MailboxByName(Nope)", err, mailerr.NoSuchUser)

	c2, err := auth.NewCredentials("new pass")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCredentials(ctx, "alice@EXAMPLE.com", c2); err != nil {
		t.Fatal(err)
	}
	if got := f.user("alice@example.com"); !got.Credentials.Verify("new pass") || got.Credentials.Verify("s3cret pass") {
		t.Error("SetCredentials did not replace the password")
	}
	if err := s.SetQuota(ctx, "alice@example.com", 1<<20); err != nil {
		t.Fatal(err)
	}
	if got := f.user("alice@example.com"); got.Quota != 1<<20 {
		t.Errorf("quota %d", got.Quota)
	}

	f.addUser("bob@example.com")
	f.addUser("Aaron@example.org")
	us, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Address)
	}
	if want := []string{"Aaron@example.org", "Alice@example.com", "bob@example.com"}; !slices.Equal(names, want) {
		t.Errorf("Users() = %v, want %v", names, want)
	}
}

func testUserErrors(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.s
	_, err := s.UserByAddress(ctx, "ghost@example.com")
	wantReason(t, "UserByAddress(ghost)", err, mailerr.NoSuchUser)
	if !mailerr.IsPermanent(err) {
		t.Error("no such user should be permanent")
	}
	wantReason(t, "SetQuota(ghost)", s.SetQuota(ctx, "ghost@example.com", 1), mailerr.NoSuchUser)
	wantReason(t, "SetCredentials(ghost)", s.SetCredentials(ctx, "ghost@example.com", testCred(t)), mailerr.NoSuchUser)
	wantReason(t, "DeleteUser(ghost)", s.DeleteUser(ctx, "ghost@example.com", true), mailerr.NoSuchUser)
	for _, bad := range []string{"", "no-at-sign", "@example.com", "a b@example.com"} {
		_, err := s.AddUser(ctx, bad, testCred(t))
		wantReason(t, "AddUser("+bad+")", err, mailerr.BadInput)
	}
	_, err = s.AddUser(ctx, "nohash@example.com", auth.Credentials{})
	wantReason(t, "AddUser without hash", err, mailerr.BadInput)
	f.addUser("q@example.com")
	wantReason(t, "SetQuota(-1)", s.SetQuota(ctx, "q@example.com", -1), mailerr.BadInput)
	if us, err := s.Users(ctx); err != nil || len(us) != 1 {
		t.Errorf("failed adds left users: %v, %v", us, err)
	}
}

func testAliases(f *fixture) {
	t, ctx, s := f.t, f.ctx, f.s
	f.addUser("carol@example.com")
	if ts, err := s.AliasTargets(ctx, "info@example.com"); ts != nil || err != nil {
		t.Errorf("AliasTargets(not an alias) = %v, %v", ts, err)
	}
	if err := s.AddAlias(ctx, "Info@Example.com", []string{"carol@example.com", "dave@remote.example"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlias(ctx, "INFO@example.com", []string{"carol@example.com", "erin@Remote.Example"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"carol@example.com", "dave@remote.example", "erin@remote.example"}
	ts, err := s.AliasTargets(ctx, "info@EXAMPLE.com")
	if err != nil || !slices.Equal(ts, want) {
		t.Errorf("AliasTargets = %v, %v; want %v", ts, err, want)
	}
	if err := s.AddAlias(ctx, "abuse@example.com", []string{"carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	as, err := s.Aliases(ctx)
	if err != nil || len(as) != 2 || as[0].Address != "abuse@example.com" ||
		as[1].Address != "Info@example.com" || !slices.Equal(as[1].Targets, want) {
		t.Errorf("Aliases() = %+v, %v", as, err)
	}
	wantReason(t, "AddAlias(user's address)",
		s.AddAlias(ctx, "Carol@example.com", []string{"x@example.com"}), mailerr.Exists)
	_, err = s.AddUser(ctx, "info@example.com", testCred(t))
	wantReason(t, "AddUser(alias's address)", err, mailerr.Exists)
	wantReason(t, "AddAlias(no targets)", s.AddAlias(ctx, "x@example.com", nil), mailerr.BadInput)
	wantReason(t, "AddAlias(bad target)", s.AddAlias(ctx, "x@example.com", []string{"bad"}), mailerr.BadInput)
	wantReason(t, "AddAlias(self)", s.AddAlias(ctx, "x@example.com", []string{"X@example.com"}), mailerr.BadInput)

	if err := s.DeleteAlias(ctx, "INFO@example.com"); err != nil {
		t.Fatal(err)
	}
	if ts, err := s.AliasTargets(ctx, "info@example.com"); ts != nil || err != nil {
		t.Errorf("after delete: %v, %v", ts, err)
	}
	wantReason(t, "DeleteAlias(absent)", s.DeleteAlias(ctx, "info@example.com"), mailerr.NoSuchUser)
	if as, _ := s.Aliases(ctx); len(as) != 1 {
		t.Errorf("Aliases after delete: %+v", as)
	}
}
