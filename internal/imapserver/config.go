package imapserver

import (
	"crypto/tls"
	"time"
)

// Config is one IMAP listener's behaviour. The zero value serves plain
// IMAP without STARTTLS and refuses every login (no TLS, no plaintext
// auth).
type Config struct {
	// Hostname names the server in the greeting and the log.
	Hostname string
	// TLS enables STARTTLS on a plain listener; nil: none. Required when
	// ImplicitTLS is set.
	TLS *tls.Config
	// ImplicitTLS starts every connection with a TLS handshake (imaps).
	ImplicitTLS bool
	// AllowPlaintextAuth permits LOGIN and AUTHENTICATE before TLS.
	AllowPlaintextAuth bool
	// IdleTimeout is the autologout timer: how long the server waits for
	// a command. RFC 9051 §5.4 asks for at least 30 minutes, the default.
	IdleTimeout time.Duration
	// IdleCommandTimeout bounds an IDLE command; clients re-issue IDLE
	// (RFC 2177 asks them to every 29 minutes). Default 30 minutes.
	IdleCommandTimeout time.Duration
	// WriteTimeout bounds each write to the client. Default 5 minutes.
	WriteTimeout time.Duration
	// MaxLiteral bounds one literal, and so one APPEND (default 64 MiB).
	MaxLiteral int64
	// MaxLine bounds one line of a command (default 64 KiB).
	MaxLine int
	// MaxSessionsPerUser bounds concurrent logged-in sessions of one user
	// on this Server (0: 50).
	MaxSessionsPerUser int
	// MaxConnections bounds concurrent sessions on this Server (0: none).
	MaxConnections int
	// MaxErrors is the number of BAD replies after which the session is
	// closed (default 10).
	MaxErrors int
}

// Defaults.
const (
	DefaultIdleTimeout        = 30 * time.Minute
	DefaultMaxLiteral         = 64 << 20
	DefaultMaxLine            = 64 << 10
	DefaultMaxSessionsPerUser = 50
)

func (c Config) withDefaults() Config {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.IdleCommandTimeout <= 0 {
		c.IdleCommandTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Minute
	}
	if c.MaxLiteral <= 0 {
		c.MaxLiteral = DefaultMaxLiteral
	}
	if c.MaxLine <= 0 {
		c.MaxLine = DefaultMaxLine
	}
	if c.MaxSessionsPerUser <= 0 {
		c.MaxSessionsPerUser = DefaultMaxSessionsPerUser
	}
	if c.MaxErrors <= 0 {
		c.MaxErrors = 10
	}
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	return c
}
