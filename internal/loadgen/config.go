package loadgen

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// TLSMode says how the connection is protected.
type TLSMode int

const (
	TLSNone     TLSMode = iota // plain TCP
	TLSStartTLS                // plain TCP, then STARTTLS (RFC 3207) after EHLO
	TLSImplicit                // TLS from the first byte (RFC 8314)
)

var tlsModeNames = [...]string{"none", "starttls", "implicit"}

func (m TLSMode) String() string {
	if int(m) >= 0 && int(m) < len(tlsModeNames) {
		return tlsModeNames[m]
	}
	return fmt.Sprintf("tlsmode(%d)", int(m))
}

// ParseTLSMode parses "none", "starttls" or "implicit".
func ParseTLSMode(s string) (TLSMode, error) {
	for i, n := range tlsModeNames {
		if s == n {
			return TLSMode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown TLS mode %q (want none, starttls or implicit)", s)
}

// Bounds on the configuration: a benchmark's flags are input like any other.
const (
	MaxMessages    = 10_000_000 // latencies are kept per message (8 bytes each)
	MaxSize        = 512 << 20  // the body is held once in memory
	MaxConcurrency = 10_000
	MaxRecipients  = 1000
	maxFieldLen    = 900 // header values stay well under RFC 5322's 998
)

// Defaults used when a Config field is zero.
const (
	DefaultTarget      = "127.0.0.1:2525" // posthorn serve's default SMTP listener
	DefaultMessages    = 100
	DefaultSize        = 4096
	DefaultConcurrency = 10
	DefaultFrom        = "bench@localhost"
	DefaultTo          = "postmaster@localhost"
	DefaultHelo        = "posthorn-bench.localhost"
	DefaultTag         = "posthorn-bench"
	DefaultTimeout     = 60 * time.Second
)

// Config describes one benchmark run.
type Config struct {
	Target      string // host:port
	Messages    int    // total messages, shared by all workers
	Size        int    // bytes per message, header included, CRLF line ends
	Concurrency int    // workers, each with its own connection
	Pipelining  bool   // RFC 2920, when the server announces it
	Reuse       bool   // many messages per connection (RSET between)
	From        string
	To          []string
	TLS         TLSMode
	Insecure    bool        // do not verify the server's certificate
	TLSConfig   *tls.Config // optional base (RootCAs in tests); cloned
	User        string      // AUTH PLAIN when not empty
	Password    string
	Tag         string        // goes into each Subject
	Helo        string        // the EHLO name
	Timeout     time.Duration // per command: write plus reply
	Logger      *slog.Logger  // nil: discard
}

// withDefaults returns a copy of c with zero fields filled in and checks
// every field against its bounds.
func (c Config) withDefaults() (Config, error) {
	if c.Target == "" {
		c.Target = DefaultTarget
	}
	if c.Messages == 0 {
		c.Messages = DefaultMessages
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.From == "" {
		c.From = DefaultFrom
	}
	if len(c.To) == 0 {
		c.To = []string{DefaultTo}
	}
	if c.Helo == "" {
		c.Helo = DefaultHelo
	}
	if c.Tag == "" {
		c.Tag = DefaultTag
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.To = append([]string(nil), c.To...)
	return c, c.validate()
}

// Validate reports whether Run would accept c (zero fields take their
// defaults).
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.Target); err != nil {
		return fmt.Errorf("target %q: %w", c.Target, err)
	}
	switch {
	case c.Messages < 1 || c.Messages > MaxMessages:
		return fmt.Errorf("messages %d: want 1..%d", c.Messages, MaxMessages)
	case c.Size < 1 || c.Size > MaxSize:
		return fmt.Errorf("size %d: want 1..%d", c.Size, MaxSize)
	case c.Concurrency < 1 || c.Concurrency > MaxConcurrency:
		return fmt.Errorf("concurrency %d: want 1..%d", c.Concurrency, MaxConcurrency)
	case len(c.To) > MaxRecipients:
		return fmt.Errorf("%d recipients: at most %d", len(c.To), MaxRecipients)
	case c.TLS < TLSNone || c.TLS > TLSImplicit:
		return fmt.Errorf("TLS mode %v unknown", c.TLS)
	case c.Timeout < 0:
		return fmt.Errorf("timeout %v is negative", c.Timeout)
	case c.User != "" && c.Password == "":
		return fmt.Errorf("user %q given without a password", c.User)
	}
	if err := checkAddress("from", c.From); err != nil {
		return err
	}
	for _, to := range c.To {
		if err := checkAddress("to", to); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{{"tag", c.Tag}, {"helo", c.Helo}, {"user", c.User}} {
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	if strings.ContainsAny(c.Helo, " \t") {
		return fmt.Errorf("helo %q: no spaces allowed", c.Helo)
	}
	if strings.ContainsRune(c.Password, 0) {
		return fmt.Errorf("password contains NUL")
	}
	return nil
}

// checkAddress accepts a bare mailbox: it goes between <> in MAIL/RCPT and
// into the From/To header, so no spaces, brackets or controls.
func checkAddress(name, a string) error {
	if err := checkText(name, a); err != nil {
		return err
	}
	if a == "" || strings.ContainsAny(a, " \t<>") || !strings.Contains(a, "@") {
		return fmt.Errorf("%s %q: want a bare address like user@example.test", name, a)
	}
	return nil
}

// checkText refuses what would break a command line or a header: controls
// (CR and LF above all), non-ASCII, and overlong values.
func checkText(name, s string) error {
	if len(s) > maxFieldLen {
		return fmt.Errorf("%s: longer than %d bytes", name, maxFieldLen)
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 && b != '\t' || b >= 0x7f {
			return fmt.Errorf("%s %q: control or non-ASCII byte at %d", name, s, i)
		}
	}
	return nil
}
