package server

import (
	"context"
	"io"
	"net"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/notify"
	"github.com/posthorn/posthorn/internal/store"
)

// imapStore is what the IMAP adapter needs of a store, beyond logins.
type imapStore interface {
	snapStore
	UserByAddress(ctx context.Context, address string) (store.User, error)
	MailboxByName(ctx context.Context, userID int64, name string) (store.Mailbox, error)
	Mailboxes(ctx context.Context, userID int64) ([]store.Mailbox, error)
	Subscriptions(ctx context.Context, userID int64) ([]string, error)
	CreateMailbox(ctx context.Context, userID int64, name, specialUse string) (store.Mailbox, error)
	DeleteMailbox(ctx context.Context, userID int64, name string) error
	RenameMailbox(ctx context.Context, userID int64, oldName, newName string) error
	SetSubscribed(ctx context.Context, userID int64, name string, on bool) error
	MailboxStatus(ctx context.Context, mailboxID int64) (store.MailboxStatus, error)
	AppendMessage(ctx context.Context, mailboxID int64, r io.Reader, size int64, flags []string, date time.Time) (uidValidity, uid uint32, err error)
	OpenMessageUID(ctx context.Context, mailboxID int64, uid uint32) (store.MessageReaderAt, error)
	Summaries(ctx context.Context, mailboxID int64, uids []uint32, fn func(uid uint32, blob []byte) error) error
	SetSummaries(ctx context.Context, mailboxID int64, blobs map[uint32][]byte) error
	SetFlags(ctx context.Context, mailboxID int64, uids []uint32, op store.FlagOp, flags []string, unchangedSince uint64) ([]uint32, error)
	ExpungeUIDs(ctx context.Context, mailboxID int64, uids []uint32) ([]uint32, error)
	CopyMessages(ctx context.Context, mailboxID int64, uids []uint32, destID int64, move bool) (store.CopyResult, error)
	Notifier() *notify.Hub
}

// summaryBatch is how many summaries a session collects before writing
// them in one transaction: the first FETCH ENVELOPE of a large mailbox
// would otherwise cost one fsync per message.
const summaryBatch = 512

// imapBackend serves imapserver on the store. Logins share the POP3 and
// submission throttle; snapshots are shared by every session of a
// mailbox version.
type imapBackend struct {
	logins *logins
	st     imapStore
	snaps  *snapCache
	sums   *summaryCache
}

func newIMAPBackend(st imapStore, lg *logins) *imapBackend {
	return &imapBackend{logins: lg, st: st, snaps: newSnapCache(st),
		sums: newSummaryCache(summaryCacheBytes)}
}

func (b *imapBackend) Login(ctx context.Context, user, pass string, remote net.Addr) (imapserver.User, error) {
	u, err := b.logins.check(ctx, user, pass, remote)
	if err != nil {
		if mailerr.Is(err, mailerr.AuthFailed) && !mailerr.IsPermanent(err) {
			// The throttle: imapserver answers NO [UNAVAILABLE].
			return nil, mailerr.Temporary(mailerr.Policy, "too many failed logins, try later", err)
		}
		return nil, err
	}
	return &imapUser{b: b, u: u}, nil
}

// imapUser is one logged-in user.
type imapUser struct {
	b *imapBackend
	u store.User
}

func (u *imapUser) Name() string { return store.AddressKey(u.u.Address) }

func (u *imapUser) Mailboxes(ctx context.Context) ([]imapserver.MailboxInfo, error) {
	mbs, err := u.b.st.Mailboxes(ctx, u.u.ID)
	if err != nil {
		return nil, err
	}
	subs, err := u.b.st.Subscriptions(ctx, u.u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]imapserver.MailboxInfo, 0, len(mbs)+len(subs))
	for _, mb := range mbs {
		out = append(out, imapserver.MailboxInfo{Name: mb.Name, SpecialUse: mb.SpecialUse, Subscribed: mb.Subscribed})
	}
	for _, n := range subs {
		out = append(out, imapserver.MailboxInfo{Name: n, Subscribed: true, NonExistent: true})
	}
	return out, nil
}

func (u *imapUser) Create(ctx context.Context, name, use string) error {
	_, err := u.b.st.CreateMailbox(ctx, u.u.ID, name, use)
	return err
}

func (u *imapUser) Delete(ctx context.Context, name string) error {
	return u.b.st.DeleteMailbox(ctx, u.u.ID, name)
}

func (u *imapUser) Rename(ctx context.Context, oldName, newName string) error {
	return u.b.st.RenameMailbox(ctx, u.u.ID, oldName, newName)
}

func (u *imapUser) SetSubscribed(ctx context.Context, name string, on bool) error {
	return u.b.st.SetSubscribed(ctx, u.u.ID, name, on)
}

func (u *imapUser) Status(ctx context.Context, name string) (imapserver.MailboxStatus, error) {
	mb, err := u.b.st.MailboxByName(ctx, u.u.ID, name)
	if err != nil {
		return imapserver.MailboxStatus{}, err
	}
	st, err := u.b.st.MailboxStatus(ctx, mb.ID)
	return imapserver.MailboxStatus(st), err
}

func (u *imapUser) Append(ctx context.Context, name string, r io.Reader, size int64, flags []string, date time.Time) (imapserver.AppendResult, error) {
	mb, err := u.b.st.MailboxByName(ctx, u.u.ID, name)
	if err != nil {
		return imapserver.AppendResult{}, err
	}
	uv, uid, err := u.b.st.AppendMessage(ctx, mb.ID, r, size, flags, date)
	return imapserver.AppendResult{UIDValidity: uv, UID: uid}, err
}

func (u *imapUser) Select(ctx context.Context, name string, readOnly bool) (imapserver.Mailbox, error) {
	mb, err := u.b.st.MailboxByName(ctx, u.u.ID, name)
	if err != nil {
		return nil, err
	}
	return &imapMailbox{
		b:     u.b,
		user:  u.u.ID,
		id:    mb.ID,
		uidv:  mb.UIDValidity,
		sub:   u.b.st.Notifier().Subscribe(mb.ID),
		entry: u.b.snaps.acquire(mb.ID),
	}, nil
}

func (u *imapUser) Logout() error { return nil }

// Quota implements imapserver.QuotaUser.
func (u *imapUser) Quota(ctx context.Context) (used, limit int64, err error) {
	cur, err := u.b.st.UserByAddress(ctx, u.u.Address)
	if err != nil {
		return 0, 0, err
	}
	return cur.Used, cur.Quota, nil
}

// imapMailbox is one session's selected mailbox.
type imapMailbox struct {
	b     *imapBackend
	user  int64
	id    int64
	uidv  uint32 // keys the summary cache
	sub   *notify.Sub
	entry *snapEntry
}

func (m *imapMailbox) Snapshot(ctx context.Context) (*imapserver.Snapshot, error) {
	m.flush(ctx)
	return m.entry.get(ctx)
}

func (m *imapMailbox) Changes() <-chan struct{} { return m.sub.C() }

func (m *imapMailbox) Open(ctx context.Context, uid uint32) (imapserver.Message, error) {
	return m.b.st.OpenMessageUID(ctx, m.id, uid)
}

// Summaries serves summaries from the in-memory cache shared by all
// sessions (summaryCache), reads the others from the store, and builds
// the missing ones here, once per mailbox however many sessions fetch at
// the same time (the first FETCH ENVELOPE of 100 clients on a new mailbox
// parses each message once, not 100 times). Built summaries are shared
// through the snapshot entry until they are written in a batch.
func (m *imapMailbox) Summaries(ctx context.Context, uids []uint32, fn func(uid uint32, blob []byte) error) error {
	box := m.b.sums.box(m.id, m.uidv)
	blobs := make([][]byte, len(uids))
	missing := box.lookup(uids, blobs)
	var gone map[uint32]bool // expunged: skipped
	if len(missing) > 0 {
		need := make([]uint32, len(missing))
		for i, k := range missing {
			need[i] = uids[k]
		}
		got, err := m.stored(ctx, need)
		if err != nil {
			return err
		}
		for _, k := range missing {
			blob, ok := got[uids[k]]
			if !ok {
				if gone == nil {
					gone = make(map[uint32]bool)
				}
				gone[uids[k]] = true
			}
			blobs[k] = blob
		}
		m.b.sums.add(box, got)
	}
	for i, u := range uids {
		if gone[u] {
			continue
		}
		if err := fn(u, blobs[i]); err != nil {
			return err
		}
	}
	return nil
}

// stored returns the summaries of uids that exist: the stored ones, and
// for the others one built now (nil when the message cannot be parsed).
func (m *imapMailbox) stored(ctx context.Context, uids []uint32) (map[uint32][]byte, error) {
	got := make(map[uint32][]byte, len(uids))
	var missing []uint32
	err := m.b.st.Summaries(ctx, m.id, uids, func(uid uint32, blob []byte) error {
		if blob == nil {
			missing = append(missing, uid)
		}
		got[uid] = blob
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		built := m.entry.summaries(ctx, missing, func(uid uint32) []byte {
			return m.build(ctx, uid)
		}, func(blobs map[uint32][]byte) { m.b.st.SetSummaries(ctx, m.id, blobs) })
		for i, u := range missing {
			got[u] = built[i]
		}
	}
	return got, nil
}

// build parses one message for its summary; nil when it cannot (the
// engine then tries itself and falls back to an opaque part).
func (m *imapMailbox) build(ctx context.Context, uid uint32) []byte {
	msg, err := m.b.st.OpenMessageUID(ctx, m.id, uid)
	if err != nil {
		return nil
	}
	defer msg.Close()
	blob, err := imapserver.BuildSummary(ctx, msg, msg.Size())
	if err != nil {
		return nil
	}
	return blob
}

func (m *imapMailbox) SetSummary(ctx context.Context, uid uint32, blob []byte) error {
	m.b.sums.add(m.b.sums.box(m.id, m.uidv), map[uint32][]byte{uid: blob})
	m.entry.addSummary(uid, blob, func(blobs map[uint32][]byte) { m.b.st.SetSummaries(ctx, m.id, blobs) })
	return nil
}

// flush writes the summaries built and not yet stored; a failure only
// costs speed.
func (m *imapMailbox) flush(ctx context.Context) {
	m.entry.flushSummaries(func(blobs map[uint32][]byte) { m.b.st.SetSummaries(ctx, m.id, blobs) })
}

func (m *imapMailbox) Store(ctx context.Context, uids []uint32, op imapserver.FlagOp, flags []string, unchangedSince uint64) ([]uint32, error) {
	sop := store.FlagsReplace
	switch op {
	case imapserver.FlagsAdd:
		sop = store.FlagsAdd
	case imapserver.FlagsRemove:
		sop = store.FlagsRemove
	}
	return m.b.st.SetFlags(ctx, m.id, uids, sop, flags, unchangedSince)
}

func (m *imapMailbox) Expunge(ctx context.Context, uids []uint32) ([]uint32, error) {
	return m.b.st.ExpungeUIDs(ctx, m.id, uids)
}

func (m *imapMailbox) Copy(ctx context.Context, uids []uint32, dest string) (imapserver.CopyResult, error) {
	return m.copy(ctx, uids, dest, false)
}

func (m *imapMailbox) Move(ctx context.Context, uids []uint32, dest string) (imapserver.CopyResult, error) {
	return m.copy(ctx, uids, dest, true)
}

func (m *imapMailbox) copy(ctx context.Context, uids []uint32, dest string, move bool) (imapserver.CopyResult, error) {
	d, err := m.b.st.MailboxByName(ctx, m.user, dest)
	if err != nil {
		return imapserver.CopyResult{}, err
	}
	m.flush(ctx) // a copy takes the summaries along
	r, err := m.b.st.CopyMessages(ctx, m.id, uids, d.ID, move)
	return imapserver.CopyResult{UIDValidity: r.DestUIDValidity, Source: r.Source, Dest: r.Dest}, err
}

func (m *imapMailbox) Close() error {
	m.flush(context.Background())
	m.sub.Close()
	m.b.snaps.release(m.entry)
	return nil
}
