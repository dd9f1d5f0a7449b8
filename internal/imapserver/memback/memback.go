// Package memback is an in-memory imapserver.Backend: the reference the
// engine's tests run against, and a model for the SQL stores. Everything
// sits behind one mutex; snapshots are built once per mailbox version and
// shared by every session, as a store should.
package memback

import (
	"context"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// Backend holds users and their mailboxes in memory.
type Backend struct {
	mu       sync.Mutex
	users    map[string]*user
	validity uint32
}

// New makes an empty Backend.
func New() *Backend { return &Backend{users: make(map[string]*user), validity: 1000} }

type user struct {
	name, pass string
	boxes      map[string]*mailbox
	subs       map[string]bool
	quota      int64
}

type mailbox struct {
	name        string
	specialUse  string
	uidValidity uint32
	uidNext     uint32
	modSeq      uint64
	msgs        []*message
	snap        *imapserver.Snapshot // nil when stale
	watchers    map[chan struct{}]struct{}
	deleted     bool
}

type message struct {
	uid     uint32
	modSeq  uint64
	flags   []string // replaced, never modified, so snapshots can share it
	date    time.Time
	data    []byte
	summary []byte
}

// AddUser creates a user with INBOX and the special-use mailboxes every
// new user gets (RFC 6154): Drafts, Sent, Trash, Junk, Archive.
func (b *Backend) AddUser(name, pass string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := &user{name: name, pass: pass, boxes: make(map[string]*mailbox), subs: make(map[string]bool)}
	b.users[strings.ToLower(name)] = u
	for _, mb := range []struct{ name, use string }{{"INBOX", ""}, {"Drafts", imapserver.UseDrafts},
		{"Sent", imapserver.UseSent}, {"Trash", imapserver.UseTrash}, {"Junk", imapserver.UseJunk},
		{"Archive", imapserver.UseArchive}} {
		b.newMailbox(u, mb.name, mb.use)
		u.subs[mb.name] = true
	}
}

// SetQuota sets a user's quota in octets (0: none).
func (b *Backend) SetQuota(name string, limit int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users[strings.ToLower(name)].quota = limit
}

func (b *Backend) newMailbox(u *user, name, use string) *mailbox {
	b.validity++
	mb := &mailbox{name: name, specialUse: use, uidValidity: b.validity, uidNext: 1, modSeq: 1,
		watchers: make(map[chan struct{}]struct{})}
	u.boxes[name] = mb
	return mb
}

// Deliver adds a message to a user's mailbox as SMTP delivery would, and
// tells the sessions that watch it.
func (b *Backend) Deliver(userName, box string, data []byte, flags []string, date time.Time) (uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[strings.ToLower(userName)]
	if u == nil {
		return 0, mailerr.Permanent(mailerr.NoSuchUser, "no such user", nil)
	}
	mb := u.boxes[box]
	if mb == nil {
		return 0, mailerr.Permanent(mailerr.NoSuchUser, "no such mailbox", nil)
	}
	return b.add(u, mb, slices.Clone(data), flags, date, nil)
}

// Expunge removes a message as POP3 DELE would.
func (b *Backend) Expunge(userName, box string, uid uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	mb := b.users[strings.ToLower(userName)].boxes[box]
	mb.remove(map[uint32]bool{uid: true})
}

// add appends a message; b.mu is held.
func (b *Backend) add(u *user, mb *mailbox, data []byte, flags []string, date time.Time, summary []byte) (uint32, error) {
	if u.quota > 0 && u.used()+int64(len(data)) > u.quota {
		return 0, mailerr.Permanent(mailerr.OverQuota, "quota exceeded", nil)
	}
	mb.modSeq++
	m := &message{uid: mb.uidNext, modSeq: mb.modSeq, flags: slices.Clone(flags), date: date, data: data, summary: summary}
	mb.uidNext++
	mb.msgs = append(mb.msgs, m)
	mb.changed()
	return m.uid, nil
}

func (u *user) used() int64 {
	var n int64
	for _, mb := range u.boxes {
		for _, m := range mb.msgs {
			n += int64(len(m.data))
		}
	}
	return n
}

// changed drops the cached snapshot and signals the watchers.
func (mb *mailbox) changed() {
	mb.snap = nil
	for ch := range mb.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// remove expunges the messages whose UIDs are in set.
func (mb *mailbox) remove(set map[uint32]bool) []uint32 {
	var gone []uint32
	kept := mb.msgs[:0:0]
	for _, m := range mb.msgs {
		if set[m.uid] {
			gone = append(gone, m.uid)
		} else {
			kept = append(kept, m)
		}
	}
	if len(gone) > 0 {
		mb.msgs = kept
		mb.modSeq++
		mb.changed()
	}
	return gone
}

func (mb *mailbox) snapshot() *imapserver.Snapshot {
	if mb.snap != nil {
		return mb.snap
	}
	s := &imapserver.Snapshot{UIDValidity: mb.uidValidity, UIDNext: mb.uidNext, HighestModSeq: mb.modSeq,
		Messages: make([]imapserver.MessageInfo, len(mb.msgs))}
	kw := map[string]bool{}
	for i, m := range mb.msgs {
		s.Messages[i] = imapserver.MessageInfo{UID: m.uid, ModSeq: m.modSeq, Size: int64(len(m.data)),
			InternalDate: m.date, Flags: m.flags}
		for _, f := range m.flags {
			if !strings.HasPrefix(f, `\`) {
				kw[f] = true
			}
		}
	}
	for k := range kw {
		s.Keywords = append(s.Keywords, k)
	}
	sort.Strings(s.Keywords)
	mb.snap = s
	return s
}

// Login implements imapserver.Backend.
func (b *Backend) Login(ctx context.Context, name, pass string, remote net.Addr) (imapserver.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[strings.ToLower(name)]
	if u == nil || u.pass != pass {
		return nil, mailerr.Permanent(mailerr.AuthFailed, "invalid credentials", nil)
	}
	return &userSession{b: b, u: u}, nil
}

// readerOf reads exactly size octets of r.
func readAll(r io.Reader, size int64) ([]byte, error) {
	data := make([]byte, size)
	_, err := io.ReadFull(r, data)
	return data, err
}
