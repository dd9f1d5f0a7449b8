package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
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

// batchReader is an optional store feature (store/sqlite has it): the
// small messages of a UID range in one read. Without it every RETR is
// one OpenMessage.
type batchReader interface {
	ReadMessages(ctx context.Context, mailboxID int64, first, last uint32,
		fn func(id int64, prefix, body []byte) error) error
}

// Read-ahead bounds: a batch holds at most readAheadMax messages and
// readAheadBytes octets (beyond its first message, which is at most
// readAheadLarge); messages listed over readAheadLarge octets are
// streamed by OpenMessage instead (the store also leaves out bodies over
// one 64 KiB chunk).
const (
	readAheadFirst = 8
	readAheadMax   = 64
	readAheadBytes = 256 << 10
	readAheadLarge = 64 << 10
)

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
	md.uids = make([]uint32, len(msgs))
	md.info = make([]pop3server.MessageInfo, len(msgs))
	md.ra.window = readAheadFirst
	// UIDL (RFC 1939 §7): UIDVALIDITY and UID never repeat together.
	prefix := strconv.AppendUint(nil, uint64(mb.UIDValidity), 10)
	prefix = append(prefix, '.')
	for i, m := range msgs {
		md.ids[i] = m.ID
		md.uids[i] = m.UID
		uid := string(strconv.AppendUint(prefix, uint64(m.UID), 10))
		md.info[i] = pop3server.MessageInfo{UID: uid, Size: m.Size}
	}
	return md, nil
}

// maildrop is one locked POP3 session's view of INBOX.
//
// A client that retrieves messages in order (RETR 1, 2, 3, ..., as
// every POP3 client downloading a maildrop does) is served from a
// read-ahead: one store read brings the next messages, a window that
// starts at readAheadFirst and doubles up to readAheadMax while the
// order holds. One read transaction per message was two thirds of the
// server's CPU time per RETR (bench/pop3-compare.sh, docs/performance.md).
// Any other order reads one message at a time. The batch is the
// snapshot of login, as the listing is: a message expunged over IMAP
// after it was read ahead is still served.
type maildrop struct {
	st      mailStore
	user    int64
	owner   string
	mailbox int64
	ids     []int64
	uids    []uint32
	info    []pop3server.MessageInfo
	locked  time.Time
	ra      readAhead
	rd      batchMessage // hands out one message of ra at a time
}

// batchMessage is a message of the read-ahead as the engine reads it.
type batchMessage struct{ bytes.Reader }

func (*batchMessage) Close() error { return nil }

// readAhead is the batch of messages read ahead and the state that sizes
// the next one.
type readAhead struct {
	buf    []byte // the messages of the batch, one after another
	first  int    // index of the batch's first message
	spans  []span // spans[k]: message first+k in buf
	next   int    // the index that continues the client's order
	window int    // messages the next batch may hold
}

// span is one message in readAhead.buf; end < 0: not in the batch.
type span struct{ off, end int }

// covers reports whether message i was in the batch's range, read or
// left out (large, or expunged before the batch was read).
func (ra *readAhead) covers(i int) bool {
	return i >= ra.first && i-ra.first < len(ra.spans)
}

// get returns message i if the batch holds it.
func (ra *readAhead) get(i int) ([]byte, bool) {
	k := i - ra.first
	if k < 0 || k >= len(ra.spans) || ra.spans[k].end < 0 {
		return nil, false
	}
	sp := ra.spans[k]
	return ra.buf[sp.off:sp.end], true
}

func (m *maildrop) Messages() []pop3server.MessageInfo { return m.info }

func (m *maildrop) Open(ctx context.Context, i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(m.ids) {
		return nil, mailerr.Permanent(mailerr.BadInput, "no such message", nil)
	}
	m.renew(ctx)
	inOrder := i == m.ra.next
	m.ra.next = i + 1
	if b, ok := m.ra.get(i); ok {
		m.rd.Reset(b)
		return &m.rd, nil
	}
	if br, ok := m.st.(batchReader); ok && inOrder && !m.ra.covers(i) {
		// A failed read-ahead only costs the shortcut: OpenMessage below
		// reports the store's trouble, if it lasts, for this message.
		if m.fill(ctx, br, i) == nil {
			if b, ok := m.ra.get(i); ok {
				m.rd.Reset(b)
				return &m.rd, nil
			}
		}
	} else if !inOrder {
		m.ra.window = readAheadFirst
	}
	return m.st.OpenMessage(ctx, m.ids[i])
}

// fill reads the batch that starts at message i. The engine reads one
// message at a time (pop3server.Maildrop), so the previous batch's
// buffer is free to reuse.
func (m *maildrop) fill(ctx context.Context, br batchReader, i int) error {
	ra := &m.ra
	last, total := i, int64(0)
	for j := i; j < len(m.ids) && j-i < ra.window; j++ {
		if sz := m.info[j].Size; sz <= readAheadLarge {
			if j > i && total+sz > readAheadBytes {
				break
			}
			total += sz
		}
		last = j
	}
	ra.window = min(2*ra.window, readAheadMax)
	ra.first = i
	ra.spans = ra.spans[:0]
	for range last - i + 1 {
		ra.spans = append(ra.spans, span{end: -1})
	}
	if int64(cap(ra.buf)) < total {
		ra.buf = make([]byte, 0, total)
	}
	ra.buf = ra.buf[:0]
	k := i
	err := br.ReadMessages(ctx, m.mailbox, m.uids[i], m.uids[last], func(id int64, prefix, body []byte) error {
		// Rows come in UID order, a subset of the snapshot's range: UIDs
		// only go up, so nothing delivered since login falls in it.
		for k <= last && m.ids[k] != id {
			k++
		}
		if k > last {
			return nil
		}
		if m.info[k].Size > readAheadLarge {
			k++ // streamed on its own: the batch stays within its bound
			return nil
		}
		off := len(ra.buf)
		ra.buf = append(append(ra.buf, prefix...), body...)
		ra.spans[k-i] = span{off: off, end: len(ra.buf)}
		k++
		return nil
	})
	if err != nil {
		ra.spans = ra.spans[:0]
	}
	return err
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
	m.ra, m.rd = readAhead{}, batchMessage{}
	return m.st.UnlockMaildrop(context.Background(), m.user, m.owner)
}
