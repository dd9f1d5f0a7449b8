package server

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtp"
	"github.com/posthorn/posthorn/internal/smtpclient"
	"github.com/posthorn/posthorn/internal/smtpserver"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/mime"
)

// senderDirectory is what the submission policy needs of the store.
type senderDirectory interface {
	UserByAddress(ctx context.Context, address string) (store.User, error)
	AliasTargets(ctx context.Context, alias string) ([]string, error)
}

// submission is the policy of the submission listeners (RFC 6409): who
// may send as whom, how much, and what is added to the message.
type submission struct {
	dir      senderDirectory
	limits   *sendLimits
	dkim     func(ctx context.Context, domain string, m *intake.Message) (string, error)
	newSpool func() *intake.Spool
}

// owns reports whether the authenticated user may use addr as a sender:
// it is the user's own address, or an alias whose targets include it.
func (s *submission) owns(ctx context.Context, user, addr string) (bool, error) {
	u, err := s.dir.UserByAddress(ctx, user)
	if err != nil {
		return false, err
	}
	if strings.EqualFold(addr, u.Address) {
		return true, nil
	}
	targets, err := s.dir.AliasTargets(ctx, addr)
	if err != nil {
		return false, err
	}
	for _, t := range targets {
		if strings.EqualFold(t, u.Address) {
			return true, nil
		}
	}
	return false, nil
}

// checkSender is the MAIL FROM rule: 553 5.7.1 for an address that is not
// the user's. The null reverse-path is allowed (a user's own notices).
func (s *submission) checkSender(ctx context.Context, user, from string) error {
	if from == "" {
		return nil
	}
	ok, err := s.owns(ctx, user, from)
	if err != nil {
		return err
	}
	if !ok {
		return &smtp.Error{Code: smtp.C553BadMailbox, Enhanced: smtp.E571NotAuthorized,
			Msg: fmt.Sprintf("Sender address <%s> is not yours", from)}
	}
	return nil
}

// checkFrom is the header rule: every From: address must be the user's
// (550 5.7.1 after the data).
func (s *submission) checkFrom(ctx context.Context, user string, fields []string) error {
	if len(fields) == 0 {
		return &smtp.Error{Code: smtp.C550MailboxUnavail, Enhanced: smtp.E571NotAuthorized,
			Msg: "Message has no From: field"}
	}
	for _, f := range fields {
		addrs, err := mime.ParseAddressList(f)
		if err != nil || len(addrs) == 0 {
			return &smtp.Error{Code: smtp.C550MailboxUnavail, Enhanced: smtp.E571NotAuthorized,
				Msg: "Malformed From: field"}
		}
		for _, a := range addrs {
			ok, err := s.owns(ctx, user, a.Address)
			if err != nil {
				return err
			}
			if !ok {
				return &smtp.Error{Code: smtp.C550MailboxUnavail, Enhanced: smtp.E571NotAuthorized,
					Msg: fmt.Sprintf("From: address <%s> is not yours", a.Address)}
			}
		}
	}
	return nil
}

// sign puts a DKIM-Signature in front of a message whose From: domain is
// local and has a key.
func (s *submission) sign(m *intake.Message, from []string) error {
	if s.dkim == nil || len(from) == 0 {
		return nil
	}
	addrs, err := mime.ParseAddressList(from[0])
	if err != nil || len(addrs) == 0 {
		return nil
	}
	a := addrs[0].Address
	domain := strings.ToLower(a[strings.LastIndexByte(a, '@')+1:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.to7Bit(ctx, m); err != nil {
		return err
	}
	sig, err := s.dkim(ctx, domain, m)
	if err != nil {
		return err
	}
	m.Head = []byte(sig)
	return nil
}

// to7Bit converts an 8-bit message to the 7-bit form a relay without
// 8BITMIME would get (RFC 6152) before it is signed, so the signature
// still verifies after any hop (RFC 6376 §5.3). A message that cannot be
// converted (8-bit header fields) stays as it is.
func (s *submission) to7Bit(ctx context.Context, m *intake.Message) error {
	if s.newSpool == nil || m.BodyType == "" || strings.EqualFold(m.BodyType, "7BIT") {
		return nil
	}
	src := m.Body
	body := smtpclient.Body{Size: src.Size(), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(src.NewReader()), nil
	}}
	sp := s.newSpool()
	changed, err := smtpclient.To7Bit(ctx, body, sp)
	if err != nil || !changed {
		sp.Close()
		if err != nil && !mailerr.IsPermanent(err) {
			return err
		}
		return nil
	}
	m.Body, m.BodyType = sp, "7BIT"
	src.Close()
	return nil
}

// authenticator checks AUTH PLAIN/LOGIN against the store, slowed and
// limited per client address.
type authenticator struct{ logins *logins }

func (a authenticator) Authenticate(ctx context.Context, c *smtpserver.ConnInfo, user, pass string) error {
	_, err := a.logins.check(ctx, user, pass, c.Remote)
	return err
}

// sendLimits caps what one authenticated user may send per hour, so a
// stolen password cannot turn the server into a spam cannon. Counters
// are per process (a cluster-wide counter comes with the PostgreSQL store).
type sendLimits struct {
	messages, rcpts int
	mu              sync.Mutex
	used            map[string]*window
	now             func() time.Time
}

// window counts events in the current hour and the one before; the rate
// is their sum weighted by how much of the previous hour still counts.
type window struct {
	start     time.Time
	cur, prev [2]int // [messages, recipients]
}

func newSendLimits(messages, rcpts int) *sendLimits {
	return &sendLimits{messages: messages, rcpts: rcpts, used: map[string]*window{}, now: time.Now}
}

func (l *sendLimits) message(user string) error   { return l.take(user, 0, l.messages) }
func (l *sendLimits) recipient(user string) error { return l.take(user, 1, l.rcpts) }

func (l *sendLimits) take(user string, kind, limit int) error {
	if limit <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	key := strings.ToLower(user)
	w := l.used[key]
	if w == nil {
		if len(l.used) > 100000 {
			l.used = map[string]*window{} // bound memory; forgetting is the lenient side
		}
		w = &window{start: now.Truncate(time.Hour)}
		l.used[key] = w
	}
	switch age := now.Sub(w.start); {
	case age >= 2*time.Hour:
		w.prev, w.cur, w.start = [2]int{}, [2]int{}, now.Truncate(time.Hour)
	case age >= time.Hour:
		w.prev, w.cur, w.start = w.cur, [2]int{}, w.start.Add(time.Hour)
	}
	weight := 1 - float64(now.Sub(w.start))/float64(time.Hour)
	if float64(w.cur[kind])+weight*float64(w.prev[kind]) >= float64(limit) {
		return &smtp.Error{Code: smtp.C451LocalError, Enhanced: "4.7.1",
			Msg: "Sending limit reached, try again later"}
	}
	w.cur[kind]++
	return nil
}
