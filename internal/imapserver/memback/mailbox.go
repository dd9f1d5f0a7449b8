package memback

import (
	"bytes"
	"context"
	"slices"
	"strings"

	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// mailboxSession is one session's selected mailbox.
type mailboxSession struct {
	b  *Backend
	u  *user
	mb *mailbox
	ch chan struct{}
}

func (s *mailboxSession) Snapshot(ctx context.Context) (*imapserver.Snapshot, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.mb.deleted {
		return nil, errNoMailbox
	}
	return s.mb.snapshot(), nil
}

func (s *mailboxSession) Changes() <-chan struct{} { return s.ch }

func (s *mailboxSession) find(uid uint32) *message {
	i, ok := slices.BinarySearchFunc(s.mb.msgs, uid, func(m *message, u uint32) int { return int(m.uid) - int(u) })
	if !ok {
		return nil
	}
	return s.mb.msgs[i]
}

type memMessage struct{ *bytes.Reader }

func (memMessage) Close() error { return nil }

func (s *mailboxSession) Open(ctx context.Context, uid uint32) (imapserver.Message, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	m := s.find(uid)
	if m == nil {
		return nil, mailerr.Permanent(mailerr.NoSuchUser, "message expunged", nil)
	}
	return memMessage{bytes.NewReader(m.data)}, nil
}

func (s *mailboxSession) Summaries(ctx context.Context, uids []uint32, fn func(uint32, []byte) error) error {
	s.b.mu.Lock()
	type pair struct {
		uid  uint32
		blob []byte
	}
	out := make([]pair, 0, len(uids))
	for _, u := range uids {
		if m := s.find(u); m != nil {
			out = append(out, pair{u, m.summary})
		}
	}
	s.b.mu.Unlock()
	for _, p := range out {
		if err := fn(p.uid, p.blob); err != nil {
			return err
		}
	}
	return nil
}

func (s *mailboxSession) SetSummary(ctx context.Context, uid uint32, blob []byte) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if m := s.find(uid); m != nil {
		m.summary = blob
	}
	return nil
}

func (s *mailboxSession) Store(ctx context.Context, uids []uint32, op imapserver.FlagOp, flags []string, unchangedSince uint64) ([]uint32, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	var failed []uint32
	changed := false
	for _, u := range uids {
		m := s.find(u)
		if m == nil {
			continue
		}
		if unchangedSince > 0 && m.modSeq > unchangedSince {
			failed = append(failed, u)
			continue
		}
		nf := apply(m.flags, op, flags)
		if slices.Equal(nf, m.flags) {
			continue
		}
		s.mb.modSeq++
		m.flags, m.modSeq = nf, s.mb.modSeq
		changed = true
	}
	if changed {
		s.mb.changed()
	}
	return failed, nil
}

// apply returns the new flag list; the old one is never modified.
func apply(old []string, op imapserver.FlagOp, flags []string) []string {
	var out []string
	switch op {
	case imapserver.FlagsSet:
		out = slices.Clone(flags)
	case imapserver.FlagsAdd:
		out = slices.Clone(old)
		for _, f := range flags {
			if !has(out, f) {
				out = append(out, f)
			}
		}
	case imapserver.FlagsRemove:
		for _, f := range old {
			if !slices.ContainsFunc(flags, func(x string) bool { return strings.EqualFold(x, f) }) {
				out = append(out, f)
			}
		}
	}
	return out
}

func (s *mailboxSession) Expunge(ctx context.Context, uids []uint32) ([]uint32, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	set := make(map[uint32]bool)
	for _, m := range s.mb.msgs {
		if has(m.flags, imapserver.FlagDeleted) && (uids == nil || slices.Contains(uids, m.uid)) {
			set[m.uid] = true
		}
	}
	return s.mb.remove(set), nil
}

func (s *mailboxSession) Copy(ctx context.Context, uids []uint32, dest string) (imapserver.CopyResult, error) {
	return s.copy(uids, dest, false)
}

func (s *mailboxSession) Move(ctx context.Context, uids []uint32, dest string) (imapserver.CopyResult, error) {
	return s.copy(uids, dest, true)
}

func (s *mailboxSession) copy(uids []uint32, dest string, move bool) (imapserver.CopyResult, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	d := s.u.boxes[dest]
	if d == nil {
		return imapserver.CopyResult{}, errNoMailbox
	}
	res := imapserver.CopyResult{UIDValidity: d.uidValidity}
	for _, u := range uids {
		m := s.find(u)
		if m == nil {
			continue
		}
		nu, err := s.b.add(s.u, d, m.data, m.flags, m.date, m.summary)
		if err != nil {
			return imapserver.CopyResult{}, err
		}
		res.Source = append(res.Source, u)
		res.Dest = append(res.Dest, nu)
	}
	if move {
		set := make(map[uint32]bool)
		for _, u := range res.Source {
			set[u] = true
		}
		s.mb.remove(set)
	}
	return res, nil
}

func (s *mailboxSession) Close() error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	delete(s.mb.watchers, s.ch)
	return nil
}
