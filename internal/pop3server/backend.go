package pop3server

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"time"
)

// Config is one POP3 listener's behaviour. The zero value serves plain
// POP3 without STLS and refuses every login (no TLS, no plaintext auth).
type Config struct {
	// Hostname names the server in the sign-off reply and the log.
	Hostname string
	// TLS enables STLS on a plain listener; nil: no STLS. Required when
	// ImplicitTLS is set. Certificate reloads go through its
	// GetCertificate, which each handshake calls.
	TLS *tls.Config
	// ImplicitTLS starts every connection with a TLS handshake (pop3s).
	ImplicitTLS bool
	// AllowPlaintextAuth permits USER/PASS and AUTH before TLS on the
	// plain port (tests, trusted LANs).
	AllowPlaintextAuth bool
	// IdleTimeout is how long the server waits for a command, and for a
	// client to take a write, before it closes the session without UPDATE.
	// RFC 1939 §3 asks for at least 10 minutes, the default when zero;
	// shorter values are for tests.
	IdleTimeout time.Duration
	// MaxConnections bounds concurrent sessions on this Server; a
	// connection over it gets "-ERR [SYS/TEMP]" and is closed. Zero: no
	// limit.
	MaxConnections int
}

// DefaultIdleTimeout is RFC 1939 §3's minimum autologout timer.
const DefaultIdleTimeout = 10 * time.Minute

// MessageInfo describes one message of a maildrop snapshot.
type MessageInfo struct {
	// UID is the unique-id listing of RFC 1939 §7 (UIDL): 1 to 70
	// characters in 0x21..0x7E, stable across sessions.
	UID string
	// Size is the exact number of octets Open yields, with CRLF line
	// endings, before dot-stuffing.
	Size int64
}

// Maildrop is one user's locked maildrop for the length of a session.
type Maildrop interface {
	// Messages is the snapshot taken at login; message number n of the
	// session is Messages()[n-1]. The engine calls it once.
	Messages() []MessageInfo
	// Open streams message i (0-based index into Messages()). The engine
	// always closes the reader, also when it stops early (TOP), and
	// closes it before it calls Open again: one message at a time, so a
	// maildrop may reuse one buffer for what it reads ahead.
	Open(ctx context.Context, i int) (io.ReadCloser, error)
	// Commit removes the messages with these 0-based indices, all or
	// none (RFC 1939 §6, UPDATE). It is called at most once, after QUIT,
	// and only when at least one message was marked deleted.
	Commit(ctx context.Context, deleted []int) error
	// Close releases the maildrop lock. It is called exactly once,
	// however the session ends.
	Close() error
}

// Backend authenticates users and opens their maildrops.
type Backend interface {
	// Login authenticates and opens (locks) the user's maildrop. Errors:
	// mailerr.AuthFailed → "-ERR [AUTH] ..."; mailerr.InUse → "-ERR
	// [IN-USE] ..."; temporary others → "-ERR [SYS/TEMP] ..." (see the
	// package doc for the full mapping). The backend slows failed logins
	// itself.
	Login(ctx context.Context, user, pass string, remote net.Addr) (Maildrop, error)
}
