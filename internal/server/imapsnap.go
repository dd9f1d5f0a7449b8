package server

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/store"
)

// snapStore is what snapshots are built from.
type snapStore interface {
	MailboxByID(ctx context.Context, mailboxID int64) (store.Mailbox, error)
	Messages(ctx context.Context, mailboxID int64) ([]store.MessageInfo, error)
}

// maxIdleSnaps is how many snapshots of mailboxes no session has
// selected are kept, so that a client that re-selects (or the next of
// many short sessions) does not rebuild the list.
const maxIdleSnaps = 32

// snapCache holds one snapshot per selected mailbox, shared by every
// session that has it selected: 100 sessions on a 10,000-message mailbox
// hold one message list. An entry lives while some session holds it, and
// then among the maxIdleSnaps most recently released.
type snapCache struct {
	st   snapStore
	mu   sync.Mutex
	m    map[int64]*snapEntry
	idle []int64 // entries with refs 0, oldest first
}

func newSnapCache(st snapStore) *snapCache {
	return &snapCache{st: st, m: make(map[int64]*snapEntry)}
}

// snapEntry is one mailbox's current snapshot.
type snapEntry struct {
	c    *snapCache
	id   int64
	refs int // guarded by c.mu

	mu   sync.Mutex // serialises builds: one session builds, the others wait for it
	snap *imapserver.Snapshot

	// sumMu serialises summary building, so that concurrent sessions
	// parse each message once; built holds summaries not yet stored.
	sumMu sync.Mutex
	built map[uint32][]byte
}

// summaries returns the summary of each uid: one built before and not
// yet stored, or build(uid) now. store writes a full batch.
func (e *snapEntry) summaries(ctx context.Context, uids []uint32, build func(uint32) []byte,
	store func(map[uint32][]byte)) [][]byte {
	e.sumMu.Lock()
	defer e.sumMu.Unlock()
	out := make([][]byte, len(uids))
	for i, u := range uids {
		b, ok := e.built[u]
		if !ok {
			if ctx.Err() != nil {
				break
			}
			if b = build(u); b == nil {
				continue
			}
			e.addLocked(u, b)
		}
		out[i] = b
	}
	if len(e.built) >= summaryBatch {
		e.flushLocked(store)
	}
	return out
}

// addSummary keeps a summary the engine built; store writes a full batch.
func (e *snapEntry) addSummary(uid uint32, blob []byte, store func(map[uint32][]byte)) {
	e.sumMu.Lock()
	defer e.sumMu.Unlock()
	e.addLocked(uid, blob)
	if len(e.built) >= summaryBatch {
		e.flushLocked(store)
	}
}

func (e *snapEntry) addLocked(uid uint32, blob []byte) {
	if e.built == nil {
		e.built = make(map[uint32][]byte)
	}
	e.built[uid] = blob
}

// flushSummaries writes the summaries not yet stored.
func (e *snapEntry) flushSummaries(store func(map[uint32][]byte)) {
	e.sumMu.Lock()
	defer e.sumMu.Unlock()
	e.flushLocked(store)
}

func (e *snapEntry) flushLocked(store func(map[uint32][]byte)) {
	if len(e.built) > 0 {
		store(e.built)
		e.built = nil
	}
}

func (c *snapCache) acquire(id int64) *snapEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[id]
	if e == nil {
		e = &snapEntry{c: c, id: id}
		c.m[id] = e
	}
	if e.refs == 0 {
		if i := slices.Index(c.idle, id); i >= 0 {
			c.idle = slices.Delete(c.idle, i, i+1)
		}
	}
	e.refs++
	return e
}

func (c *snapCache) release(e *snapEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs > 0 || c.m[e.id] != e {
		return
	}
	c.idle = append(c.idle, e.id)
	if len(c.idle) > maxIdleSnaps {
		delete(c.m, c.idle[0])
		c.idle = slices.Delete(c.idle, 0, 1)
	}
}

// get returns the snapshot of the mailbox's current version: one indexed
// read of the mailbox row when nothing changed (every change raises
// UIDNEXT or HIGHESTMODSEQ), a rebuild otherwise.
func (e *snapEntry) get(ctx context.Context) (*imapserver.Snapshot, error) {
	mb, err := e.c.st.MailboxByID(ctx, e.id)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.snap; s != nil && s.HighestModSeq >= mb.HighestModSeq && s.UIDNext >= mb.UIDNext && s.UIDValidity == mb.UIDValidity {
		return s, nil
	}
	// Read the messages after the version: the list is at least as new.
	msgs, err := e.c.st.Messages(ctx, e.id)
	if err != nil {
		return nil, err
	}
	s := buildSnapshot(mb, msgs)
	if e.snap == nil || s.HighestModSeq >= e.snap.HighestModSeq {
		e.snap = s
	}
	return e.snap, nil
}

// buildSnapshot converts store rows; equal flag lists share one slice.
func buildSnapshot(mb store.Mailbox, msgs []store.MessageInfo) *imapserver.Snapshot {
	s := &imapserver.Snapshot{UIDValidity: mb.UIDValidity, UIDNext: mb.UIDNext, HighestModSeq: mb.HighestModSeq,
		Messages: make([]imapserver.MessageInfo, len(msgs))}
	interned := map[string][]string{}
	kw := map[string]bool{}
	for i, m := range msgs {
		key := strings.Join(m.Flags, " ")
		f, ok := interned[key]
		if !ok {
			f = slices.Clip(m.Flags)
			interned[key] = f
			for _, x := range f {
				if !strings.HasPrefix(x, `\`) {
					kw[x] = true
				}
			}
		}
		s.Messages[i] = imapserver.MessageInfo{UID: m.UID, ModSeq: m.ModSeq, Size: m.Size,
			InternalDate: m.InternalDate, Flags: f}
		// A message's mod-sequence may exceed the version read before the
		// list (a commit in between): keep HIGHESTMODSEQ above all.
		s.HighestModSeq = max(s.HighestModSeq, m.ModSeq)
		if m.UID >= s.UIDNext {
			s.UIDNext = m.UID + 1
		}
	}
	for k := range kw {
		s.Keywords = append(s.Keywords, k)
	}
	slices.Sort(s.Keywords)
	return s
}
