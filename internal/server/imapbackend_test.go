package server

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/store/sqlite"
)

// imapFixture is a SQLite store with one user behind the IMAP adapter.
type imapFixture struct {
	t  testing.TB
	st *sqlite.Store
	in *intake.Service
	be *imapBackend
	u  store.User
}

func newIMAPFixture(t testing.TB) *imapFixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cred, err := auth.NewCredentials("pw")
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.AddUser(t.Context(), "u@example.com", cred)
	if err != nil {
		t.Fatal(err)
	}
	in := intake.New(st, t.TempDir(), nil, nil)
	t.Cleanup(func() { in.Close() })
	lg := &logins{store: st, throttle: auth.NewThrottle(3, time.Minute)}
	return &imapFixture{t: t, st: st, in: in, be: newIMAPBackend(st, lg), u: u}
}

func (f *imapFixture) deliver(body string) {
	f.t.Helper()
	sp := f.in.NewSpool()
	defer sp.Close()
	sp.Write([]byte(body))
	m := &intake.Message{ID: intake.NewID(), Body: sp, Local: []intake.LocalRecipient{{UserID: f.u.ID,
		Address: f.u.Address, Mailbox: "INBOX"}}}
	if err := f.st.CommitBatch(f.t.Context(), []*intake.Message{m}); err != nil {
		f.t.Fatal(err)
	}
}

var remote = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 1234}

func TestIMAPBackendLogin(t *testing.T) {
	f := newIMAPFixture(t)
	ctx := t.Context()
	tests := []struct {
		user, pass string
		want       mailerr.Reason // Unknown: success
		permanent  bool
	}{
		{"U@Example.com", "pw", mailerr.Unknown, false},
		{"u@example.com", "bad", mailerr.AuthFailed, true},
		{"nobody@example.com", "pw", mailerr.AuthFailed, true},
		{"u@example.com", "bad", mailerr.AuthFailed, true},
		// Three failures from one address: the throttle refuses even the
		// right password, as a temporary policy refusal.
		{"u@example.com", "pw", mailerr.Policy, false},
	}
	for i, tc := range tests {
		u, err := f.be.Login(ctx, tc.user, tc.pass, remote)
		if tc.want == mailerr.Unknown {
			if err != nil || u.Name() != "u@example.com" {
				t.Errorf("%d: login %s: %v", i, tc.user, err)
			}
			continue
		}
		if !mailerr.Is(err, tc.want) || mailerr.IsPermanent(err) != tc.permanent {
			t.Errorf("%d: login %s/%s: %v, want %v permanent=%v", i, tc.user, tc.pass, err, tc.want, tc.permanent)
		}
	}
}

// Sessions share one snapshot per mailbox version; a delivery signals
// them and makes a new one; summaries are written in batches.
func TestIMAPBackendSnapshots(t *testing.T) {
	f := newIMAPFixture(t)
	ctx := t.Context()
	f.deliver("Subject: one\r\n\r\n1\r\n")
	u, err := f.be.Login(ctx, "u@example.com", "pw", remote)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := u.Select(ctx, "INBOX", false)
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := u.Select(ctx, "INBOX", true)
	s1, err := m1.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s2, _ := m2.Snapshot(ctx); s2 != s1 || len(s1.Messages) != 1 {
		t.Fatalf("two sessions: snapshots %p %p, %d messages", s1, s2, len(s1.Messages))
	}
	if again, _ := m1.Snapshot(ctx); again != s1 {
		t.Error("unchanged mailbox: a new snapshot")
	}
	f.deliver("Subject: two\r\n\r\n2\r\n")
	for i, m := range []imapserver.Mailbox{m1, m2} {
		select {
		case <-m.Changes():
		default:
			t.Errorf("session %d: no change signal after delivery", i)
		}
	}
	s3, _ := m2.Snapshot(ctx)
	if s3 == s1 || len(s3.Messages) != 2 || s3.UIDNext != 3 || s3.HighestModSeq <= s1.HighestModSeq {
		t.Errorf("after delivery: %+v", s3)
	}
	if _, err := m1.Store(ctx, []uint32{1, 2}, imapserver.FlagsAdd, []string{imapserver.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	s4, _ := m1.Snapshot(ctx)
	if &s4.Messages[0].Flags[0] != &s4.Messages[1].Flags[0] {
		t.Error("equal flag lists are not shared")
	}
	// Summaries: one the engine set is visible before it is written; a
	// missing one is built by the adapter and shared with the other
	// session; both are written at the next Snapshot.
	m1.SetSummary(ctx, 1, []byte("blob-1"))
	var got [][]byte
	m1.Summaries(ctx, []uint32{2, 1}, func(uid uint32, b []byte) error { got = append(got, b); return nil })
	if len(got) != 2 || len(got[0]) == 0 || string(got[1]) != "blob-1" {
		t.Fatalf("summaries with one set: %q", got)
	}
	built := got[0]
	got = nil
	m2.Summaries(ctx, []uint32{2}, func(uid uint32, b []byte) error { got = append(got, b); return nil })
	if len(got) != 1 || &got[0][0] != &built[0] {
		t.Errorf("second session did not share the built summary: %q", got)
	}
	m1.Snapshot(ctx)
	got = nil
	f.st.Summaries(ctx, m1.(*imapMailbox).id, []uint32{1, 2}, func(uid uint32, b []byte) error { got = append(got, b); return nil })
	if len(got) != 2 || string(got[0]) != "blob-1" || string(got[1]) != string(built) {
		t.Errorf("stored summaries: %q", got)
	}
	msg, err := m2.Open(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(io.NewSectionReader(msg, 0, msg.Size()))
	if string(b) != "Subject: two\r\n\r\n2\r\n" {
		t.Errorf("Open: %q", b)
	}
	msg.Close()
	m1.Close()
	m2.Close()
	if n, idle := len(f.be.snaps.m), len(f.be.snaps.idle); n != 1 || idle != 1 {
		t.Errorf("%d snapshot entries (%d idle) after every session closed, want 1 kept idle", n, idle)
	}
	m3, _ := u.Select(ctx, "INBOX", true)
	if s5, _ := m3.Snapshot(ctx); s5 != s4 {
		t.Error("re-select of an unchanged mailbox: a new snapshot")
	}
	m3.Close()
	for id := int64(1000); id < 1000+maxIdleSnaps+5; id++ {
		f.be.snaps.release(f.be.snaps.acquire(id))
	}
	if n := len(f.be.snaps.m); n != maxIdleSnaps {
		t.Errorf("%d snapshot entries kept, want at most %d", n, maxIdleSnaps)
	}
	// Deleting a selected mailbox closes its change channel; its
	// snapshot is gone.
	tr, err := u.Select(ctx, "Trash", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Delete(ctx, "Trash"); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-tr.Changes(); ok {
		t.Error("deleted mailbox: change channel not closed")
	}
	if _, err := tr.Snapshot(ctx); !mailerr.Is(err, mailerr.NoSuchUser) {
		t.Errorf("snapshot of a deleted mailbox: %v", err)
	}
	tr.Close()
}

// Sessions fetching summaries at the same time get the same blobs, each
// built once and then stored.
func TestIMAPBackendConcurrentSummaries(t *testing.T) {
	f := newIMAPFixture(t)
	ctx := t.Context()
	serveIMAP(t, f, 600)
	uids := make([]uint32, 600)
	for i := range uids {
		uids[i] = uint32(i + 1)
	}
	u, err := f.be.Login(ctx, "u@example.com", "pw", remote)
	if err != nil {
		t.Fatal(err)
	}
	const sessions = 4
	results := make([][][]byte, sessions)
	errs := make(chan error, sessions)
	for s := range sessions {
		go func() {
			m, err := u.Select(ctx, "INBOX", true)
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < len(uids); i += 256 {
				err := m.Summaries(ctx, uids[i:min(i+256, len(uids))], func(uid uint32, b []byte) error {
					results[s] = append(results[s], b)
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- m.Close() // writes what is left to store
		}()
	}
	for range sessions {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for s := range sessions {
		if len(results[s]) != len(uids) {
			t.Fatalf("session %d: %d summaries", s, len(results[s]))
		}
		for i, b := range results[s] {
			if len(b) == 0 || string(b) != string(results[0][i]) {
				t.Fatalf("session %d uid %d: summary differs or is missing", s, i+1)
			}
		}
	}
	mb, _ := f.st.MailboxByName(ctx, f.u.ID, "INBOX")
	n := 0
	f.st.Summaries(ctx, mb.ID, uids, func(uid uint32, b []byte) error {
		if b != nil {
			n++
		}
		return nil
	})
	if n != len(uids) {
		t.Errorf("%d of %d summaries stored after every session closed", n, len(uids))
	}
}
