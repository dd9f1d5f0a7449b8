package imapserver

import (
	"context"
	"io"
	"net"
	"sort"
	"time"
)

// System flags (RFC 9051 §2.3.2). Backends store them with this spelling;
// the engine compares flags case-insensitively and sends the stored form.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// Special-use attributes (RFC 6154) a mailbox may carry.
const (
	UseDrafts  = `\Drafts`
	UseSent    = `\Sent`
	UseTrash   = `\Trash`
	UseJunk    = `\Junk`
	UseArchive = `\Archive`
	UseAll     = `\All`
	UseFlagged = `\Flagged`
)

// Backend authenticates users. It is the engine's only way into storage.
type Backend interface {
	// Login checks user and pass and returns the user's session in the
	// authenticated state. Errors: mailerr.AuthFailed (or NoSuchUser)
	// for bad credentials, a temporary mailerr.Policy when a login rate
	// limit refuses the client, mailerr.Unavailable when the store is
	// down. The backend slows failed logins itself (per remote address,
	// as for POP3 and submission).
	Login(ctx context.Context, user, pass string, remote net.Addr) (User, error)
}

// User is one logged-in user: the operations of the authenticated state
// (RFC 9051 §6.3). Mailbox names are UTF-8, "/"-separated, with "INBOX"
// spelled in capitals whatever case the client used. Methods may be
// called concurrently by several sessions of the same user.
type User interface {
	// Name is the canonical user name, the key of the sessions-per-user
	// limit.
	Name() string
	// Mailboxes lists every mailbox of the user, and subscribed names
	// that do not exist (NonExistent set), in any order.
	Mailboxes(ctx context.Context) ([]MailboxInfo, error)
	// Create makes a mailbox (mailerr.Exists if it is there); use is a
	// special-use attribute or "". Parents need not exist.
	Create(ctx context.Context, name, use string) error
	// Delete removes a mailbox and its messages (mailerr.NoSuchUser if
	// absent). INBOX is never passed. Children stay.
	Delete(ctx context.Context, name string) error
	// Rename renames a mailbox and its children (old/x becomes new/x);
	// UIDVALIDITY of renamed mailboxes may stay. For INBOX (RFC 9051
	// §6.3.6) it moves INBOX's messages into a new mailbox and leaves
	// INBOX empty.
	Rename(ctx context.Context, oldName, newName string) error
	// SetSubscribed adds or removes name to the subscriptions; the name
	// need not exist.
	SetSubscribed(ctx context.Context, name string, on bool) error
	// Status reports the counts of one mailbox without selecting it.
	Status(ctx context.Context, name string) (MailboxStatus, error)
	// Append adds a message of size octets read from r (exactly size;
	// the engine guarantees it). date is the internal date; flags are
	// validated. Over quota: mailerr.OverQuota.
	Append(ctx context.Context, name string, r io.Reader, size int64, flags []string, date time.Time) (AppendResult, error)
	// Select opens a mailbox for the selected state; readOnly for EXAMINE
	// (the engine then never changes it). mailerr.NoSuchUser if absent.
	Select(ctx context.Context, name string, readOnly bool) (Mailbox, error)
	// Logout ends the user session; it is called exactly once.
	Logout() error
}

// QuotaUser is implemented by users with a storage quota (RFC 9208). One
// quota root, "", covers all mailboxes of the user.
type QuotaUser interface {
	// Quota returns the octets in use and the limit (0: none).
	Quota(ctx context.Context) (used, limit int64, err error)
}

// MailboxInfo is one entry of User.Mailboxes.
type MailboxInfo struct {
	Name        string
	SpecialUse  string // one of the Use constants or ""
	Subscribed  bool
	NonExistent bool // a subscription to a name that does not exist
	NoSelect    bool // exists only as a parent, cannot be selected
}

// MailboxStatus holds what STATUS reports (RFC 9051 §6.3.11, RFC 7162
// HIGHESTMODSEQ). Recent is not kept (IMAP4rev2 removed it; rev1 clients
// are told 0).
type MailboxStatus struct {
	Messages      uint32
	Unseen        uint32
	Deleted       uint32
	Size          int64
	UIDNext       uint32
	UIDValidity   uint32
	HighestModSeq uint64
}

// AppendResult carries the APPENDUID of RFC 4315.
type AppendResult struct {
	UIDValidity uint32
	UID         uint32
}

// CopyResult carries the COPYUID of RFC 4315: Source[i] was copied to
// Dest[i].
type CopyResult struct {
	UIDValidity uint32
	Source      []uint32
	Dest        []uint32
}

// FlagOp says how STORE changes flags.
type FlagOp int

const (
	FlagsSet    FlagOp = iota // replace
	FlagsAdd                  // +FLAGS
	FlagsRemove               // -FLAGS
)

// Mailbox is a selected mailbox: the operations of the selected state
// (RFC 9051 §6.4). One value per session; it need not be safe for
// concurrent use except Changes.
type Mailbox interface {
	// Snapshot returns the mailbox as it is now. It is called after every
	// command and on every change signal, so it must be cheap when nothing
	// changed: return the same *Snapshot. Snapshots are immutable and
	// shared by every session with the mailbox selected.
	Snapshot(ctx context.Context) (*Snapshot, error)
	// Changes signals that the mailbox may have changed (new message,
	// flags, expunge), from this node or another. Signals may be coalesced
	// or spurious; the engine re-reads the Snapshot and never trusts a
	// payload. The channel is closed when the mailbox is deleted.
	Changes() <-chan struct{}
	// Open returns the message's octets, exactly as stored (CRLF).
	// mailerr.NoSuchUser when it was expunged.
	Open(ctx context.Context, uid uint32) (Message, error)
	// Summaries calls fn for each uid (in the order given) with the
	// summary blob stored by SetSummary, or nil when there is none. The
	// blob is opaque to the store: the engine's pre-computed ENVELOPE and
	// BODYSTRUCTURE, so FETCH of many messages parses none of them.
	// Expunged uids are skipped, except that a backend serving summaries
	// from memory may still give those of messages expunged since the
	// engine's last snapshot (a message never changes, and FETCH may
	// report a message the client still knows, RFC 9051 §7.5.2).
	Summaries(ctx context.Context, uids []uint32, fn func(uid uint32, blob []byte) error) error
	// SetSummary stores the blob for a message; a failure only costs
	// speed, so the engine ignores it.
	SetSummary(ctx context.Context, uid uint32, blob []byte) error
	// Store changes flags of the messages with these UIDs (ascending),
	// giving each changed message a new mod-sequence. With unchangedSince
	// > 0 (RFC 7162 §3.1.3) a message whose mod-sequence is greater is not
	// changed, and its UID is returned in failed. UIDs that no longer
	// exist are ignored.
	Store(ctx context.Context, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) (failed []uint32, err error)
	// Expunge removes the messages with \Deleted among uids, or all with
	// \Deleted when uids is nil, and returns the UIDs removed, ascending.
	Expunge(ctx context.Context, uids []uint32) ([]uint32, error)
	// Copy copies the messages to the mailbox dest (flags and internal
	// date kept). mailerr.NoSuchUser if dest does not exist.
	Copy(ctx context.Context, uids []uint32, dest string) (CopyResult, error)
	// Move moves them (RFC 6851): copy and expunge, atomically.
	Move(ctx context.Context, uids []uint32, dest string) (CopyResult, error)
	// Close leaves the selected state; called exactly once.
	Close() error
}

// Message is one message's octets.
type Message interface {
	io.ReaderAt
	Size() int64
	Close() error
}

// MessageInfo is a message's metadata in a Snapshot.
type MessageInfo struct {
	UID          uint32
	ModSeq       uint64
	Size         int64
	InternalDate time.Time
	// Flags are system flags (Flag constants) and keywords. Backends
	// should share equal flag slices between messages; the engine never
	// modifies them.
	Flags []string
}

// Snapshot is an immutable view of a mailbox. Sessions on the same
// mailbox share it, so a session idling on a large mailbox holds one
// pointer, not a copy of the message list.
type Snapshot struct {
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	// Messages are ordered by ascending UID; message sequence number n is
	// Messages[n-1].
	Messages []MessageInfo
	// Keywords are the keywords in use, for the FLAGS response.
	Keywords []string
}

// Find returns the index of uid in s.Messages.
func (s *Snapshot) Find(uid uint32) (int, bool) {
	i := sort.Search(len(s.Messages), func(i int) bool { return s.Messages[i].UID >= uid })
	return i, i < len(s.Messages) && s.Messages[i].UID == uid
}

// MaxUID is the largest UID in the mailbox, 0 when empty.
func (s *Snapshot) MaxUID() uint32 {
	if len(s.Messages) == 0 {
		return 0
	}
	return s.Messages[len(s.Messages)-1].UID
}
