package smtpserver

import (
	"context"
	"crypto/tls"
	"time"
)

// Timeouts are the server side of RFC 5321 §4.5.3.2.
type Timeouts struct {
	Greeting  time.Duration // writing the 220 banner, and the TLS handshake of implicit TLS (§4.5.3.2.1)
	Command   time.Duration // waiting for the next command, a SASL response, or for replies to be taken (§4.5.3.2.7)
	DataInit  time.Duration // writing the 354 reply (§4.5.3.2.4)
	DataBlock time.Duration // each read of message data, DATA or BDAT (§4.5.3.2.5)
	DataTerm  time.Duration // making the message durable after the final dot (§4.5.3.2.6)
}

// DefaultTimeouts are the values RFC 5321 §4.5.3.2 recommends.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Greeting:  5 * time.Minute,
		Command:   5 * time.Minute,
		DataInit:  2 * time.Minute,
		DataBlock: 3 * time.Minute,
		DataTerm:  10 * time.Minute,
	}
}

// Config is one listener's SMTP service. Zero fields take defaults (see
// withDefaults).
type Config struct {
	Hostname       string
	ListenerName   string // "smtp", "submission", "submissions": logs, metrics
	MaxMessageSize int64  // octets; announced in EHLO SIZE; 0: 25 MiB
	MaxRecipients  int    // RCPT commands per transaction: 452 4.5.3 over it; 0: 100
	MaxConnections int    // per Serve call: 421 4.7.0 and close over it; 0: no limit
	MaxErrors      int    // failed commands (5xx replies) before 421 4.7.0; 0: 10
	TLS            *tls.Config
	ImplicitTLS    bool // handshake before the banner (port 465, RFC 8314)
	Timeouts       Timeouts

	// Auth enables AUTH PLAIN and LOGIN (RFC 4954); nil: no AUTH. It is
	// offered only on a TLS session unless AllowInsecureAuth is set.
	Auth              Authenticator
	AllowInsecureAuth bool
	// RequireAuth refuses MAIL before a successful AUTH (submission,
	// RFC 6409 §4.3): 530 5.7.0.
	RequireAuth bool
}

// Authenticator checks a user name and password from AUTH PLAIN or LOGIN.
// A nil error means success. An error with mailerr reason AuthFailed, or
// any permanent error, gives 535 5.7.8; other errors are temporary and
// give 454 4.7.0.
type Authenticator interface {
	Authenticate(ctx context.Context, c *ConnInfo, user, pass string) error
}

const (
	defaultMaxMessageSize = 25 << 20
	defaultMaxRecipients  = 100
	defaultMaxErrors      = 10
)

func (c Config) withDefaults() Config {
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if c.ListenerName == "" {
		c.ListenerName = "smtp"
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = defaultMaxMessageSize
	}
	if c.MaxRecipients <= 0 {
		c.MaxRecipients = defaultMaxRecipients
	}
	if c.MaxErrors <= 0 {
		c.MaxErrors = defaultMaxErrors
	}
	d := DefaultTimeouts()
	t := &c.Timeouts
	for _, p := range []struct{ v, def *time.Duration }{
		{&t.Greeting, &d.Greeting}, {&t.Command, &d.Command}, {&t.DataInit, &d.DataInit},
		{&t.DataBlock, &d.DataBlock}, {&t.DataTerm, &d.DataTerm},
	} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	return c
}
