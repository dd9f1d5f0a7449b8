package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/pop3server"
	"github.com/posthorn/posthorn/internal/store"
)

// mailStore is what retrieval needs of the store.
type mailStore interface {
	UserByAddress(ctx context.Context, address string) (store.User, error)
	MailboxByName(ctx context.Context, userID int64, name string) (store.Mailbox, error)
	Messages(ctx context.Context, mailboxID int64) ([]store.MessageInfo, error)
	OpenMessage(ctx context.Context, messageID int64) (io.ReadCloser, error)
	Expunge(ctx context.Context, mailboxID int64, messageIDs []int64) error
	LockMaildrop(ctx context.Context, userID int64, owner string, ttl time.Duration) error
	UnlockMaildrop(ctx context.Context, userID int64, owner string) error
}

// maildropLockTTL bounds how long a lock of a dead process can block a
// maildrop; a live session renews it as it works.
const maildropLockTTL = 15 * time.Minute

// logins checks passwords with a per-address throttle; shared by every
// protocol that logs users in.
type logins struct {
	store    mailStore
	throttle *auth.Throttle
}

// check authenticates user; failures are slowed and counted per client.
func (l *logins) check(ctx context.Context, user, pass string, remote net.Addr) (store.User, error) {
	ip := addrIP(remote)
	if !l.throttle.Allowed(ip) {
		return store.User{}, mailerr.Temporary(mailerr.AuthFailed, "too many failed logins, try later", nil)
	}
	u, err := l.store.UserByAddress(ctx, user)
	if err == nil && u.Credentials.Verify(pass) {
		// A success does not forget the address's failures: with one
		// valid account an attacker could otherwise reset the count and
		// go on guessing other users' passwords.
		return u, nil
	}
	if err != nil && !mailerr.Is(err, mailerr.NoSuchUser) {
		return store.User{}, err
	}
	delay := l.throttle.Failed(ip)
	select {
	case <-time.After(delay):
	case <-ctx.Done():
	}
	return store.User{}, mailerr.Permanent(mailerr.AuthFailed, "authentication failed", nil)
}

func addrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// pop3Backend serves each user's INBOX as the POP3 maildrop.
type pop3Backend struct {
	*logins
	seq func() string // lock owner ids
}

func (b *pop3Backend) Login(ctx context.Context, user, pass string, remote net.Addr) (pop3server.Maildrop, error) {
	u, err := b.check(ctx, user, pass, remote)
	if err != nil {
		return nil, err
	}
	owner := b.seq()
	if err := b.store.LockMaildrop(ctx, u.ID, owner, maildropLockTTL); err != nil {
		return nil, err
	}
	md, err := b.open(ctx, u, owner)
	if err != nil {
		b.store.UnlockMaildrop(context.WithoutCancel(ctx), u.ID, owner)
		return nil, err
	}
	return md, nil
}

func (b *pop3Backend) open(ctx context.Context, u store.User, owner string) (*maildrop, error) {
	mb, err := b.store.MailboxByName(ctx, u.ID, "INBOX")
	if err != nil {
		return nil, err
	}
	msgs, err := b.store.Messages(ctx, mb.ID)
	if err != nil {
		return nil, err
	}
	md := &maildrop{st: b.store, user: u.ID, owner: owner, mailbox: mb.ID, locked: time.Now()}
	md.ids = make([]int64, len(msgs))
	md.info = make([]pop3server.MessageInfo, len(msgs))
	for i, m := range msgs {
		md.ids[i] = m.ID
		// UIDL (RFC 1939 §7): UIDVALIDITY and UID never repeat together.
		md.info[i] = pop3server.MessageInfo{UID: fmt.Sprintf("%d.%d", mb.UIDValidity, m.UID), Size: m.Size}
	}
	return md, nil
}

// maildrop is one locked POP3 session's view of INBOX.
type maildrop struct {
	st      mailStore
	user    int64
	owner   string
	mailbox int64
	ids     []int64
	info    []pop3server.MessageInfo
	locked  time.Time
}

func (m *maildrop) Messages() []pop3server.MessageInfo { return m.info }

func (m *maildrop) Open(ctx context.Context, i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(m.ids) {
		return nil, mailerr.Permanent(mailerr.BadInput, "no such message", nil)
	}
	m.renew(ctx)
	return m.st.OpenMessage(ctx, m.ids[i])
}

// renew extends the maildrop lock while the session works.
func (m *maildrop) renew(ctx context.Context) {
	if time.Since(m.locked) < maildropLockTTL/3 {
		return
	}
	if m.st.LockMaildrop(ctx, m.user, m.owner, maildropLockTTL) == nil {
		m.locked = time.Now()
	}
}

func (m *maildrop) Commit(ctx context.Context, deleted []int) error {
	if len(deleted) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(deleted))
	for _, i := range deleted {
		if i >= 0 && i < len(m.ids) {
			ids = append(ids, m.ids[i])
		}
	}
	return m.st.Expunge(ctx, m.mailbox, ids)
}

func (m *maildrop) Close() error {
	return m.st.UnlockMaildrop(context.Background(), m.user, m.owner)
}
