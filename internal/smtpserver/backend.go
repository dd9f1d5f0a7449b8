package smtpserver

import (
	"context"
	"crypto/tls"
	"net"
)

// ConnInfo describes the client of a session. The session owns it: a
// backend may read it during a call but must not keep or change it.
type ConnInfo struct {
	SessionID string
	Remote    net.Addr
	Local     net.Addr
	Helo      string // argument of the last HELO/EHLO
	ESMTP     bool   // the client said EHLO
	TLS       *tls.ConnectionState
	AuthUser  string // "" unless AUTH succeeded
	Listener  string
}

// MailOptions are the MAIL parameters a backend may need.
type MailOptions struct {
	Size     int64  // SIZE= declared by the client, 0 if none
	Body     string // "7BIT", "8BITMIME", "BINARYMIME" or ""
	SMTPUTF8 bool
	Ret      string // DSN RET=: "FULL", "HDRS" or ""
	EnvID    string // DSN ENVID=, decoded
}

// RcptOptions are the RCPT parameters (RFC 3461) the queue honours.
type RcptOptions struct {
	Notify string // "NEVER" or a comma list of SUCCESS, FAILURE, DELAY; "" if absent
	ORCPT  string // "addr-type;address", decoded; "" if absent
}

// Backend receives the mail of a session.
type Backend interface {
	// Begin starts a transaction after a syntactically valid MAIL FROM.
	// from is "" for the null reverse-path. Errors carry mailerr reasons
	// (see Transaction) or are an *smtp.Error with the exact reply.
	Begin(ctx context.Context, c *ConnInfo, from string, opts MailOptions) (Transaction, error)
}

// Transaction is one message being received. The session calls
// AddRecipient for each RCPT, then Write for the content, then Commit, or
// Abort at any point instead of Commit.
type Transaction interface {
	// ID is the queue id, used in Received: and logs.
	ID() string
	// AddRecipient: errors carry mailerr reasons that become replies:
	// NoSuchUser 550 5.1.1; NotLocal 550 5.7.1 relaying denied; Policy
	// 550 5.7.1; OverQuota 452 4.2.2; DiskFull 452 4.3.1; Unavailable and
	// Unknown 451 4.3.0. A postmaster recipient without a domain arrives
	// as "postmaster".
	AddRecipient(ctx context.Context, to string, opts RcptOptions) error
	// Write receives the message as stored: first the Received: header
	// the session made, then the unstuffed, CRLF-normalised data.
	Write(p []byte) (int, error)
	// Commit makes the message durable; the session sends 250 only after
	// it returns nil. Errors map as for AddRecipient; permanent ones
	// without a more precise reason give 554 5.3.0.
	Commit(ctx context.Context) error
	// Abort drops the transaction: after RSET, a failed DATA or BDAT, or
	// a dropped connection. It may be called after a failed Commit.
	Abort()
}
