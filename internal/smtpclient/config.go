package smtpclient

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net"
	"time"

	"github.com/posthorn/posthorn/internal/config"
)

// Config tunes the client. Zero fields take the defaults of
// RFC 5321 §4.5.3.2 and of common MTAs.
type Config struct {
	// Hostname is the name sent in EHLO; "localhost" when empty.
	Hostname string

	ConnectTimeout   time.Duration // TCP connect (default 30s)
	GreetingTimeout  time.Duration // §4.5.3.2.1 initial 220 (5m)
	CommandTimeout   time.Duration // EHLO, STARTTLS, AUTH, RSET, QUIT (5m)
	MailTimeout      time.Duration // §4.5.3.2.2 (5m)
	RcptTimeout      time.Duration // §4.5.3.2.3 (5m)
	DataInitTimeout  time.Duration // §4.5.3.2.4 the 354 (2m)
	DataBlockTimeout time.Duration // §4.5.3.2.5 each block written (3m)
	DataTermTimeout  time.Duration // §4.5.3.2.6 reply to the final dot (10m)

	// IdleTimeout closes (with QUIT) a pooled connection unused that long
	// (default 30s); MaxMessagesPerConn closes it after that many
	// transactions (default 100); MaxIdlePerHost bounds idle connections
	// kept per host (default 4; FromConfig: [queue] per_destination). A
	// negative MaxIdlePerHost disables reuse.
	IdleTimeout        time.Duration
	MaxMessagesPerConn int
	MaxIdlePerHost     int

	// MaxRcptsPerTxn splits larger envelopes into several transactions
	// (default 100, the minimum a server must take, RFC 5321 §4.5.3.1.8).
	MaxRcptsPerTxn int
	// MaxConnects bounds the connection attempts of one Deliver across
	// all hops and addresses (default 8).
	MaxConnects int

	// Dial opens TCP connections; nil uses a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// RootCAs replaces the system roots for TLSRequired hops without a
	// CAFile; nil means the system roots.
	RootCAs *x509.CertPool

	Logger  *slog.Logger // nil: slog.Default()
	Metrics *Metrics     // nil: none
}

func (c *Config) withDefaults() Config {
	d := *c
	def := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	if d.Hostname == "" {
		d.Hostname = "localhost"
	}
	def(&d.ConnectTimeout, 30*time.Second)
	def(&d.GreetingTimeout, 5*time.Minute)
	def(&d.CommandTimeout, 5*time.Minute)
	def(&d.MailTimeout, 5*time.Minute)
	def(&d.RcptTimeout, 5*time.Minute)
	def(&d.DataInitTimeout, 2*time.Minute)
	def(&d.DataBlockTimeout, 3*time.Minute)
	def(&d.DataTermTimeout, 10*time.Minute)
	def(&d.IdleTimeout, 30*time.Second)
	if d.MaxMessagesPerConn <= 0 {
		d.MaxMessagesPerConn = 100
	}
	if d.MaxIdlePerHost == 0 {
		d.MaxIdlePerHost = 4
	}
	if d.MaxRcptsPerTxn <= 0 {
		d.MaxRcptsPerTxn = 100
	}
	if d.MaxConnects <= 0 {
		d.MaxConnects = 8
	}
	if d.Dial == nil {
		var nd net.Dialer
		d.Dial = nd.DialContext
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return d
}

// FromConfig takes the EHLO name and the §4.5.3.2 timeouts from
// posthorn's configuration ([smtp]: the server's command_timeout also
// bounds the client's EHLO, STARTTLS, AUTH, RSET and QUIT); the rest
// keeps its defaults.
func FromConfig(c *config.Config) Config {
	s := c.SMTP
	return Config{
		Hostname:         c.Hostname,
		GreetingTimeout:  s.GreetingTimeout.D(),
		CommandTimeout:   s.CommandTimeout.D(),
		MailTimeout:      s.MailTimeout.D(),
		RcptTimeout:      s.RcptTimeout.D(),
		DataInitTimeout:  s.DataInitTimeout.D(),
		DataBlockTimeout: s.DataBlockTimeout.D(),
		DataTermTimeout:  s.DataTermTimeout.D(),
		// As many idle connections per host as the queue may run
		// deliveries to one destination: a burst that used them all
		// finds them again, instead of quitting all but 4 and dialling
		// (and greeting, EHLO, STARTTLS) anew for the next burst.
		MaxIdlePerHost: c.Queue.PerDestination,
	}
}
