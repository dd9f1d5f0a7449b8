package storetest

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/store"
)

// fixture is one fresh store with an intake service for making spools.
type fixture struct {
	t   *testing.T
	ctx context.Context
	s   Store
	in  *intake.Service
}

var (
	credOnce sync.Once
	cred     auth.Credentials
)

// testCred computes one argon2id hash for the whole suite: hashing is
// deliberately slow.
func testCred(t testing.TB) auth.Credentials {
	credOnce.Do(func() {
		var err error
		if cred, err = auth.NewCredentials("s3cret pass"); err != nil {
			t.Fatal(err)
		}
	})
	return cred
}

func newFixture(t *testing.T, open func(t *testing.T) Store) *fixture {
	s := open(t)
	in := intake.New(s, t.TempDir(), nil, nil)
	t.Cleanup(func() { in.Close() })
	return &fixture{t: t, ctx: t.Context(), s: s, in: in}
}

func (f *fixture) addUser(addr string) store.User {
	f.t.Helper()
	u, err := f.s.AddUser(f.ctx, addr, testCred(f.t))
	if err != nil {
		f.t.Fatalf("AddUser(%s): %v", addr, err)
	}
	return u
}

func (f *fixture) inbox(u store.User) store.Mailbox {
	f.t.Helper()
	mb, err := f.s.MailboxByName(f.ctx, u.ID, "INBOX")
	if err != nil {
		f.t.Fatalf("MailboxByName(INBOX): %v", err)
	}
	return mb
}

// spool makes a spool holding body.
func (f *fixture) spool(body []byte) *intake.Spool {
	sp := f.in.NewSpool()
	if _, err := sp.Write(body); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { sp.Close() })
	return sp
}

// msg makes a message for local users, each with its own prefix.
func (f *fixture) msg(body []byte, to ...store.User) *intake.Message {
	m := &intake.Message{ID: intake.NewID(), From: "sender@example.net", BodyType: "8BITMIME",
		Body: f.spool(body)}
	for _, u := range to {
		m.Local = append(m.Local, intake.LocalRecipient{UserID: u.ID, Address: u.Address, Mailbox: "INBOX",
			Prefix: prefix(m.From, u.Address)})
	}
	return m
}

func prefix(from, to string) []byte {
	return []byte("Return-Path: <" + from + ">\r\nDelivered-To: " + to + "\r\n")
}

func (f *fixture) commit(msgs ...*intake.Message) {
	f.t.Helper()
	if err := f.s.CommitBatch(f.ctx, msgs); err != nil {
		f.t.Fatalf("CommitBatch: %v", err)
	}
}

func (f *fixture) messages(mb store.Mailbox) []store.MessageInfo {
	f.t.Helper()
	ms, err := f.s.Messages(f.ctx, mb.ID)
	if err != nil {
		f.t.Fatalf("Messages: %v", err)
	}
	return ms
}

// read returns a message's bytes, read through a small buffer so that
// reads cross prefix and chunk boundaries.
func (f *fixture) read(id int64) []byte {
	f.t.Helper()
	rc, err := f.s.OpenMessage(f.ctx, id)
	if err != nil {
		f.t.Fatalf("OpenMessage(%d): %v", id, err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := io.CopyBuffer(&out, onlyReader{rc}, make([]byte, 1000)); err != nil {
		f.t.Fatalf("reading message %d: %v", id, err)
	}
	return out.Bytes()
}

// onlyReader hides WriterTo/ReaderFrom so CopyBuffer really uses the buffer.
type onlyReader struct{ io.Reader }

func (f *fixture) user(addr string) store.User {
	f.t.Helper()
	u, err := f.s.UserByAddress(f.ctx, addr)
	if err != nil {
		f.t.Fatalf("UserByAddress(%s): %v", addr, err)
	}
	return u
}

func (f *fixture) bodies() (int64, bool) {
	bc, ok := f.s.(BodyCounter)
	if !ok {
		return 0, false
	}
	n, _, err := bc.BodyCount(f.ctx)
	if err != nil {
		f.t.Fatalf("BodyCount: %v", err)
	}
	return n, true
}

// randomBody returns n pseudo-random bytes shaped like a message (CRLF
// lines), logging the seed.
func randomBody(t testing.TB, n int) []byte {
	seed := rand.Uint64()
	t.Logf("random body of %d bytes, seed %d", n, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		if i%78 == 76 {
			b[i] = '\r'
		} else if i%78 == 77 {
			b[i] = '\n'
		} else {
			b[i] = byte(rng.UintN(256))
		}
	}
	return b
}
