package memback

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// userSession is a logged-in user.
type userSession struct {
	b *Backend
	u *user
}

var errNoMailbox = mailerr.Permanent(mailerr.NoSuchUser, "no such mailbox", nil)

func (s *userSession) Name() string { return s.u.name }

func (s *userSession) Mailboxes(ctx context.Context) ([]imapserver.MailboxInfo, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	var out []imapserver.MailboxInfo
	for name, mb := range s.u.boxes {
		out = append(out, imapserver.MailboxInfo{Name: name, SpecialUse: mb.specialUse, Subscribed: s.u.subs[name]})
	}
	for name := range s.u.subs {
		if s.u.boxes[name] == nil {
			out = append(out, imapserver.MailboxInfo{Name: name, Subscribed: true, NonExistent: true})
		}
	}
	return out, nil
}

func (s *userSession) Create(ctx context.Context, name, use string) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.u.boxes[name] != nil {
		return mailerr.Permanent(mailerr.Exists, "mailbox exists", nil)
	}
	s.b.newMailbox(s.u, name, use)
	return nil
}

func (s *userSession) Delete(ctx context.Context, name string) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	mb := s.u.boxes[name]
	if mb == nil {
		return errNoMailbox
	}
	delete(s.u.boxes, name)
	mb.deleted = true
	for ch := range mb.watchers {
		close(ch)
		delete(mb.watchers, ch)
	}
	return nil
}

func (s *userSession) Rename(ctx context.Context, from, to string) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	mb := s.u.boxes[from]
	if mb == nil {
		return errNoMailbox
	}
	if s.u.boxes[to] != nil {
		return mailerr.Permanent(mailerr.Exists, "target mailbox exists", nil)
	}
	if from == "INBOX" {
		// RFC 9051 §6.3.6: move the messages, INBOX stays, empty.
		nb := s.b.newMailbox(s.u, to, "")
		nb.msgs, nb.uidNext, nb.modSeq = mb.msgs, mb.uidNext, mb.modSeq
		mb.msgs = nil
		mb.modSeq++
		mb.changed()
		return nil
	}
	for name, b := range s.u.boxes {
		if name == from || strings.HasPrefix(name, from+"/") {
			nn := to + name[len(from):]
			delete(s.u.boxes, name)
			b.name = nn
			s.u.boxes[nn] = b
		}
	}
	return nil
}

func (s *userSession) SetSubscribed(ctx context.Context, name string, on bool) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if on {
		s.u.subs[name] = true
	} else {
		delete(s.u.subs, name)
	}
	return nil
}

func (s *userSession) Status(ctx context.Context, name string) (imapserver.MailboxStatus, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	mb := s.u.boxes[name]
	if mb == nil {
		return imapserver.MailboxStatus{}, errNoMailbox
	}
	st := imapserver.MailboxStatus{Messages: uint32(len(mb.msgs)), UIDNext: mb.uidNext,
		UIDValidity: mb.uidValidity, HighestModSeq: mb.modSeq}
	for _, m := range mb.msgs {
		st.Size += int64(len(m.data))
		if !has(m.flags, imapserver.FlagSeen) {
			st.Unseen++
		}
		if has(m.flags, imapserver.FlagDeleted) {
			st.Deleted++
		}
	}
	return st, nil
}

func (s *userSession) Append(ctx context.Context, name string, r io.Reader, size int64, flags []string, date time.Time) (imapserver.AppendResult, error) {
	data, err := readAll(r, size)
	if err != nil {
		return imapserver.AppendResult{}, err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	mb := s.u.boxes[name]
	if mb == nil {
		return imapserver.AppendResult{}, errNoMailbox
	}
	uid, err := s.b.add(s.u, mb, data, flags, date, nil)
	return imapserver.AppendResult{UIDValidity: mb.uidValidity, UID: uid}, err
}

func (s *userSession) Select(ctx context.Context, name string, readOnly bool) (imapserver.Mailbox, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	mb := s.u.boxes[name]
	if mb == nil {
		return nil, errNoMailbox
	}
	ch := make(chan struct{}, 1)
	mb.watchers[ch] = struct{}{}
	return &mailboxSession{b: s.b, u: s.u, mb: mb, ch: ch}, nil
}

func (s *userSession) Logout() error { return nil }

// Quota implements imapserver.QuotaUser.
func (s *userSession) Quota(ctx context.Context) (int64, int64, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.u.used(), s.u.quota, nil
}

func has(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}
