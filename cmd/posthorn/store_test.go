package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/store/postgres"
	"github.com/posthorn/posthorn/internal/store/sqlite"
	"github.com/posthorn/posthorn/internal/store/storetest"
)

func runStoreCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	io := &stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: func(string) string { return "" }}
	code = cmdStore(context.Background(), io, args)
	return code, out.String(), errb.String()
}

func TestStoreUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"backup"}, {"migrate", "x"}, {"copy"}, {"copy", "x", "--to", "y"},
		{"frob"}, {"migrate", "--to", "x"}} {
		if code, _, errs := runStoreCmd(args...); code != 2 {
			t.Errorf("store %v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
}

// freshDatabase makes a new database on the test server and returns its
// DSN; it is dropped when the test ends.
func freshDatabase(t *testing.T) string {
	t.Helper()
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("posthorn_copy_%d_%d", os.Getpid(), rand.Uint32())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

// fillSQLite makes a store with what a copy must keep: users with
// credentials and quota, an alias, mailboxes with gaps in their UIDs
// (expunged messages), flags set after delivery, a multi-chunk body
// shared by two recipients, a subscription to a name that is no
// mailbox, a summary, and a queue entry.
func fillSQLite(t *testing.T, dataDir string) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cred, err := auth.NewCredentials("secret pw")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := st.AddUser(ctx, "Alice@local.test", cred)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := st.AddUser(ctx, "bob@local.test", cred)
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.SetQuota(ctx, "bob@local.test", 1<<30))
	must(t, st.AddAlias(ctx, "team@local.test", []string{"alice@local.test", "carol@far.test"}))
	arch, err := st.CreateMailbox(ctx, alice.ID, "Projects/2020", "")
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.SetSubscribed(ctx, alice.ID, "Gone/Folder", true))
	inbox, err := st.MailboxByName(ctx, alice.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	var msgs []store.NewMessage
	for i := range 5 {
		msgs = append(msgs, store.NewMessage{Data: fmt.Appendf(nil, "Subject: m%d\r\n\r\nbody %d\r\n", i, i),
			Flags: []string{`\Seen`}, Date: date.Add(time.Duration(i) * time.Hour)})
	}
	if _, err := st.AppendBatch(ctx, inbox.ID, msgs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ExpungeUIDs(ctx, inbox.ID, []uint32{2, 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetFlags(ctx, inbox.ID, []uint32{3}, store.FlagsAdd, []string{`\Flagged`, "$Work"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CopyMessages(ctx, inbox.ID, []uint32{1}, arch.ID, false); err != nil {
		t.Fatal(err)
	}
	must(t, st.SetSummaries(ctx, inbox.ID, map[uint32][]byte{1: []byte("summary-blob")}))

	// A delivered message: one body (three 64 KiB chunks and a bit) for
	// two local recipients and one remote one (the queue).
	in := intake.New(st, t.TempDir(), nil, nil)
	defer in.Close()
	sp := in.NewSpool()
	big := bytes.Repeat([]byte("0123456789abcdef"), 200_000/16)
	sp.Write([]byte("Subject: big\r\n\r\n"))
	sp.Write(big)
	m := &intake.Message{ID: intake.NewID(), From: "sender@far.test", Body: sp, Ret: "HDRS", BodyType: "8BITMIME",
		Local:  []intake.LocalRecipient{{UserID: alice.ID, Address: alice.Address}, {UserID: bob.ID, Address: bob.Address}},
		Remote: []intake.RemoteRecipient{{Address: "carol@far.test", Notify: "FAILURE"}}}
	must(t, in.Submit(ctx, m))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// storeView is everything a copy must keep, read through a store's API.
type storeView struct {
	Users    []store.User
	Aliases  []store.Alias
	Boxes    map[string][]store.Mailbox
	Subs     map[string][]string
	Messages map[string][]store.MessageInfo // by user/mailbox; IDs kept too
	Bytes    map[string]string              // by user/mailbox/uid
	Queue    []store.QueueEntry
}

type viewStore interface {
	Users(ctx context.Context) ([]store.User, error)
	Aliases(ctx context.Context) ([]store.Alias, error)
	Mailboxes(ctx context.Context, userID int64) ([]store.Mailbox, error)
	Subscriptions(ctx context.Context, userID int64) ([]string, error)
	Messages(ctx context.Context, mailboxID int64) ([]store.MessageInfo, error)
	OpenMessage(ctx context.Context, messageID int64) (io.ReadCloser, error)
	QueueList(ctx context.Context) ([]store.QueueEntry, error)
}

func readView(t *testing.T, st viewStore) storeView {
	t.Helper()
	ctx := t.Context()
	v := storeView{Boxes: map[string][]store.Mailbox{}, Subs: map[string][]string{},
		Messages: map[string][]store.MessageInfo{}, Bytes: map[string]string{}}
	var err error
	v.Users, err = st.Users(ctx)
	must(t, err)
	v.Aliases, err = st.Aliases(ctx)
	must(t, err)
	v.Queue, err = st.QueueList(ctx)
	must(t, err)
	for _, u := range v.Users {
		mbs, err := st.Mailboxes(ctx, u.ID)
		must(t, err)
		v.Boxes[u.Address] = mbs
		subs, err := st.Subscriptions(ctx, u.ID)
		must(t, err)
		if len(subs) > 0 { // nil and empty are the same here
			v.Subs[u.Address] = subs
		}
		for _, mb := range mbs {
			key := u.Address + "/" + mb.Name
			ms, err := st.Messages(ctx, mb.ID)
			must(t, err)
			for i := range ms {
				ms[i].InternalDate = ms[i].InternalDate.UTC()
				r, err := st.OpenMessage(ctx, ms[i].ID)
				must(t, err)
				b, err := io.ReadAll(r)
				r.Close()
				must(t, err)
				v.Bytes[fmt.Sprintf("%s/%d", key, ms[i].UID)] = string(b)
			}
			v.Messages[key] = ms
		}
	}
	for i := range v.Users {
		v.Users[i].Created = v.Users[i].Created.UTC()
	}
	for i := range v.Queue {
		q := &v.Queue[i]
		q.NextAttempt, q.Created, q.LeaseUntil = q.NextAttempt.UTC(), q.Created.UTC(), q.LeaseUntil.UTC()
	}
	return v
}

func TestStoreCopy(t *testing.T) {
	dsn := freshDatabase(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "posthorn.toml")
	must(t, os.WriteFile(cfgPath, []byte("hostname = \"mx.local.test\"\ndata_dir = \"data\"\ndomains = [\"local.test\"]\n"), 0o600))
	dataDir := filepath.Join(dir, "data")
	fillSQLite(t, dataDir)

	src, err := sqlite.Open(t.Context(), dataDir, nil)
	must(t, err)
	want := readView(t, src)
	src.Close()
	if n := len(want.Bytes); n < 6 {
		t.Fatalf("source has %d messages, want at least 6", n)
	}

	code, out, errs := runStoreCmd("copy", "--config", cfgPath, "--to", dsn)
	if code != 0 {
		t.Fatalf("store copy: exit %d: %s", code, errs)
	}
	for _, line := range []string{"users          2", "queue          1", "summaries      1"} {
		if !strings.Contains(out, line) {
			t.Errorf("store copy output lacks %q:\n%s", line, out)
		}
	}

	dst, err := postgres.Open(t.Context(), dsn, nil)
	must(t, err)
	defer dst.Close()
	got := readView(t, dst)
	for _, f := range []string{"Users", "Aliases", "Boxes", "Subs", "Messages", "Bytes", "Queue"} {
		g, w := reflect.ValueOf(got).FieldByName(f).Interface(), reflect.ValueOf(want).FieldByName(f).Interface()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s after copy:\n got %+v\nwant %+v", f, g, w)
		}
	}
	checkCopiedRows(t, dsn)

	// New rows continue after the copied ids and UIDs.
	u, err := dst.UserByAddress(t.Context(), "carol2@local.test")
	if err == nil {
		t.Fatalf("unexpected user %v", u)
	}
	cred, _ := auth.NewCredentials("x")
	nu, err := dst.AddUser(t.Context(), "carol2@local.test", cred)
	must(t, err)
	if nu.ID <= want.Users[len(want.Users)-1].ID {
		t.Errorf("new user id %d does not follow the copied ones", nu.ID)
	}

	// A second copy refuses the non-empty target.
	code, _, errs = runStoreCmd("copy", "--config", cfgPath, "--to", dsn)
	if code != 1 || !strings.Contains(errs, "not empty") {
		t.Errorf("second copy: exit %d, %q; want 1 and a refusal", code, errs)
	}
}

// checkCopiedRows looks at what the API does not show: the summary blob,
// the UIDVALIDITY counter, and the credential columns as stored.
func checkCopiedRows(t *testing.T, dsn string) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	must(t, err)
	defer conn.Close(ctx)
	var blob []byte
	must(t, conn.QueryRow(ctx, `SELECT s.blob FROM summaries s JOIN messages m ON m.id = s.message_id
		WHERE m.uid = 1 AND m.mailbox_id = (SELECT min(id) FROM mailboxes)`).Scan(&blob))
	if string(blob) != "summary-blob" {
		t.Errorf("summary %q", blob)
	}
	var counter, maxUV int64
	must(t, conn.QueryRow(ctx, `SELECT (SELECT value FROM counters WHERE name = 'uidvalidity'),
		(SELECT max(uidvalidity) FROM mailboxes)`).Scan(&counter, &maxUV))
	if counter < maxUV {
		t.Errorf("uidvalidity counter %d below the highest UIDVALIDITY %d", counter, maxUV)
	}
}

func TestStoreMigrate(t *testing.T) {
	dsn := freshDatabase(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "posthorn.toml")
	cfg := fmt.Sprintf("hostname = \"mx.local.test\"\ndata_dir = \"data\"\ndomains = [\"local.test\"]\n[store]\ndriver = \"postgres\"\ndsn = %q\n", dsn)
	must(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	code, out, errs := runStoreCmd("migrate", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "store schema at version") {
		t.Fatalf("store migrate: exit %d, %q, %q", code, out, errs)
	}
	// Twice is a no-op.
	if code, out2, errs := runStoreCmd("migrate", "--config", cfgPath); code != 0 || out2 != out {
		t.Errorf("second migrate: exit %d, %q (first %q), %s", code, out2, out, errs)
	}
}
