package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/store/storetest"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t, t.TempDir()) })
}

func BenchmarkCommitBatch(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.Store { return openTest(b, b.TempDir()) })
}

var (
	credOnce sync.Once
	cred     auth.Credentials
)

func testCred(t *testing.T) auth.Credentials {
	credOnce.Do(func() {
		var err error
		if cred, err = auth.NewCredentials("pw"); err != nil {
			t.Fatal(err)
		}
	})
	return cred
}

// deliver commits one message with body to u's INBOX through in's spools.
func deliver(t *testing.T, s *Store, in *intake.Service, u store.User, body []byte) error {
	t.Helper()
	sp := in.NewSpool()
	defer sp.Close()
	sp.Write(body)
	return s.CommitBatch(t.Context(), []*intake.Message{{ID: intake.NewID(), Body: sp,
		Local: []intake.LocalRecipient{{UserID: u.ID, Address: u.Address, Mailbox: "INBOX",
			Prefix: []byte("Delivered-To: " + u.Address + "\r\n")}}}})
}

func readAll(t *testing.T, s *Store, id int64) []byte {
	t.Helper()
	rc, err := s.OpenMessage(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "posthorn")
	s := openTest(t, dir)
	if !s.Created() {
		t.Error("first Open did not report Created")
	}
	for path, mode := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v (%v)", path, fi.Mode(), mode, err)
		}
	}
	var mode, sync string
	s.w.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode)
	s.w.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync)
	if mode != "wal" || sync != "2" {
		t.Errorf("journal_mode %q synchronous %q, want wal and 2 (FULL)", mode, sync)
	}
	if _, err := s.r.ExecContext(t.Context(), "DELETE FROM users"); err == nil {
		t.Error("a reader connection could write")
	}
	// The newest migration, whatever its number (0003 is IMAP's).
	ms, _ := migrations()
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != len(ms) || v < 3 {
		t.Errorf("schema version %d, %v; want %d", v, err, len(ms))
	}
	// A second open (an admin command while the server runs) sees the
	// same database, does not re-create it, and migrating again is a no-op.
	s2 := openTest(t, dir)
	if s2.Created() {
		t.Error("second Open reported Created")
	}
	if err := s2.Migrate(t.Context()); err != nil {
		t.Error(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.w.ExecContext(t.Context(), "UPDATE schema_version SET version = 99"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), dir, nil); err == nil || !mailerr.IsPermanent(err) {
		t.Errorf("opening a newer schema: %v", err)
	}
}

// TestTwoProcesses writes through two stores on one file, as the server
// and an admin command do: both succeed and see each other's writes.
func TestTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	server, admin := openTest(t, dir), openTest(t, dir)
	in := intake.New(server, t.TempDir(), nil, nil)
	defer in.Close()
	u, err := admin.AddUser(t.Context(), "shared@example.com", testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 50 {
			if err := deliver(t, server, in, u, fmt.Appendf(nil, "m%d\r\n", i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range 20 {
			if _, err := admin.AddUser(t.Context(), fmt.Sprintf("u%d@example.com", i), testCred(t)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	us, err := server.Users(t.Context())
	if err != nil || len(us) != 21 {
		t.Errorf("server sees %d users (%v)", len(us), err)
	}
	mb, _ := admin.MailboxByName(t.Context(), u.ID, "INBOX")
	if ms, err := admin.Messages(t.Context(), mb.ID); err != nil || len(ms) != 50 {
		t.Errorf("admin sees %d messages (%v)", len(ms), err)
	}
}

// TestCrashCopy copies the database files while the store is open, as a
// power cut would leave them (the WAL not checkpointed, no clean close),
// and checks that everything committed is there.
func TestCrashCopy(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	in := intake.New(s, t.TempDir(), nil, nil)
	defer in.Close()
	u, err := s.AddUser(t.Context(), "crash@example.com", testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("durable\r\n"), 20000)
	for range 5 {
		if err := deliver(t, s, in, u, body); err != nil {
			t.Fatal(err)
		}
	}
	crashed := t.TempDir()
	for _, name := range []string{FileName, FileName + "-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == FileName+"-wal" && len(b) == 0 {
			t.Log("WAL already checkpointed; the copy still tests reopening")
		}
		if err := os.WriteFile(filepath.Join(crashed, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := openTest(t, crashed)
	ru, err := r.UserByAddress(t.Context(), "crash@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := r.MailboxByName(t.Context(), ru.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := r.Messages(t.Context(), mb.ID)
	if err != nil || len(ms) != 5 {
		t.Fatalf("after the crash: %d messages, %v", len(ms), err)
	}
	want := append([]byte("Delivered-To: crash@example.com\r\n"), body...)
	for _, m := range ms {
		if got := readAll(t, r, m.ID); !bytes.Equal(got, want) {
			t.Errorf("message %d: %d bytes, want %d", m.UID, len(got), len(want))
		}
	}
	var check string
	r.r.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check)
	if check != "ok" {
		t.Errorf("integrity_check: %s", check)
	}
}

// TestDiskFull fills the database (max_page_count stands in for a full
// disk: SQLite answers SQLITE_FULL either way) and checks that nothing is
// half-stored and that the store works once space returns.
func TestDiskFull(t *testing.T) {
	s := openTest(t, t.TempDir())
	in := intake.New(s, t.TempDir(), nil, nil)
	defer in.Close()
	u, err := s.AddUser(t.Context(), "full@example.com", testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var pages int64
	s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages)
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+20)); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 2<<20)
	err = deliver(t, s, in, u, big)
	if !mailerr.Is(err, mailerr.DiskFull) || mailerr.IsPermanent(err) {
		t.Fatalf("commit into a full database: %v, want temporary DiskFull", err)
	}
	if n, _, _ := s.BodyCount(ctx); n != 0 {
		t.Errorf("%d bodies left by the failed commit", n)
	}
	if got, _ := s.UserByAddress(ctx, "full@example.com"); got.Used != 0 {
		t.Errorf("Used = %d after the failed commit", got.Used)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	if err := deliver(t, s, in, u, big); err != nil {
		t.Fatalf("after space returned: %v", err)
	}
	mb, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	ms, _ := s.Messages(ctx, mb.ID)
	if len(ms) != 1 || ms[0].UID != 1 {
		t.Errorf("after recovery: %+v", ms)
	}
}

func TestBackup(t *testing.T) {
	s := openTest(t, t.TempDir())
	in := intake.New(s, t.TempDir(), nil, nil)
	defer in.Close()
	u, err := s.AddUser(t.Context(), "backup@example.com", testCred(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := deliver(t, s, in, u, []byte("keep me\r\n")); err != nil {
		t.Fatal(err)
	}
	bdir := t.TempDir()
	path := filepath.Join(bdir, FileName)
	if err := s.Backup(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v, %v", fi, err)
	}
	err = s.Backup(t.Context(), path)
	if !mailerr.Is(err, mailerr.Exists) {
		t.Errorf("backup over an existing file: %v", err)
	}
	b := openTest(t, bdir)
	bu, err := b.UserByAddress(t.Context(), "backup@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := b.MailboxByName(t.Context(), bu.ID, "INBOX")
	ms, _ := b.Messages(t.Context(), mb.ID)
	if len(ms) != 1 || string(readAll(t, b, ms[0].ID)) != "Delivered-To: backup@example.com\r\nkeep me\r\n" {
		t.Errorf("backup holds %+v", ms)
	}
}

func TestDBError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want mailerr.Reason
	}{
		{&os.PathError{Op: "write", Err: syscall.ENOSPC}, mailerr.DiskFull},
		{context.Canceled, mailerr.Unavailable},
		{errors.New("odd"), mailerr.Unknown},
		{mailerr.Permanent(mailerr.Exists, "x", nil), mailerr.Exists},
	} {
		err := dbError("test", tc.err)
		if !mailerr.Is(err, tc.want) || !errors.Is(err, tc.err) {
			t.Errorf("dbError(%v) = %v, want reason %v", tc.err, err, tc.want)
		}
	}
	if dbError("x", nil) != nil {
		t.Error("dbError(nil) != nil")
	}
}
