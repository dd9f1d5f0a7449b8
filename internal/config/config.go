package config

import (
	"os"
	"strings"
	"time"
)

// Config is posthorn's whole configuration. The toml tags are the file's
// key names; docs/configuration.md documents each of them.
type Config struct {
	Hostname           string   `toml:"hostname"`
	DataDir            string   `toml:"data_dir"`
	Domains            []string `toml:"domains"`
	AllowPlaintextAuth bool     `toml:"allow_plaintext_auth"`
	Postmaster         string   `toml:"postmaster"`
	User               string   `toml:"user"`

	Listen Listen  `toml:"listen"`
	TLS    TLS     `toml:"tls"`
	Limits Limits  `toml:"limits"`
	DNS    DNS     `toml:"dns"`
	Routes []Route `toml:"route"`
	Queue  Queue   `toml:"queue"`
	Store  Store   `toml:"store"`
	SMTP   SMTP    `toml:"smtp"`
	POP3   POP3    `toml:"pop3"`
	Admin  Admin   `toml:"admin"`

	// Path is the file the configuration came from, "" for the embedded
	// defaults. It is not a key of the file.
	Path string `toml:"-"`
}

// Listen holds the addresses (host:port) of each listener; an empty list
// turns that listener off.
type Listen struct {
	SMTP        []string `toml:"smtp"`
	Submission  []string `toml:"submission"`
	Submissions []string `toml:"submissions"`
	POP3        []string `toml:"pop3"`
	POP3S       []string `toml:"pop3s"`
	IMAP        []string `toml:"imap"`
	IMAPS       []string `toml:"imaps"`
	HTTP        []string `toml:"http"`
}

// TLS names the certificate files; both empty means a self-signed
// certificate generated in DataDir.
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Limits bound what one client or user may use.
type Limits struct {
	MaxMessageSize int64 `toml:"max_message_size"`    // bytes, announced in EHLO SIZE
	MaxRecipients  int   `toml:"max_recipients"`      // per transaction
	MaxConnections int   `toml:"max_connections"`     // per listener
	DefaultQuota   int64 `toml:"default_quota"`       // bytes per user, 0 = none
	SendPerHour    int   `toml:"send_per_hour"`       // per authenticated user, 0 = no limit
	RcptsPerHour   int   `toml:"recipients_per_hour"` // per authenticated user, 0 = no limit
	// IMAPSessionsPerUser bounds one user's logged-in IMAP sessions (each
	// device keeps a few open); it stops one stolen account from taking
	// every connection.
	IMAPSessionsPerUser int `toml:"imap_sessions_per_user"`
}

// DNS configures the resolver used for MX lookups.
type DNS struct {
	Nameservers []string `toml:"nameservers"` // host:port; empty = /etc/resolv.conf
}

// Route values of Route.TLS.
const (
	RouteTLSOpportunistic = "opportunistic"
	RouteTLSRequired      = "required"
	RouteTLSNone          = "none"
)

// Route is a static route, checked before the MX lookup.
type Route struct {
	Domain   string `toml:"domain"` // a domain, or "*" for a smarthost
	Host     string `toml:"host"`   // host:port
	TLS      string `toml:"tls"`    // RouteTLSOpportunistic (default), RouteTLSRequired, RouteTLSNone
	CAFile   string `toml:"ca_file"`
	Username string `toml:"username"`
	Password string `toml:"password"`
}

// Queue is the retry policy of outbound mail.
type Queue struct {
	FirstRetry     Duration `toml:"first_retry"`
	MaxInterval    Duration `toml:"max_interval"` // backoff doubles up to this
	MaxAge         Duration `toml:"max_age"`      // then bounce
	PerDestination int      `toml:"per_destination"`
	// DelayWarning: a recipient whose NOTIFY asks for DELAY and that is
	// still deferred this long after queueing gets its sender one delay
	// notice (RFC 3464 Action: delayed); "0s" = never.
	DelayWarning Duration `toml:"delay_warning"`
}

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Store selects the storage backend.
type Store struct {
	Driver string `toml:"driver"` // DriverSQLite or DriverPostgres
	DSN    string `toml:"dsn"`    // postgres: required; sqlite: optional database path
}

// SMTP holds the timeouts of RFC 5321 §4.5.3.2 and the error limit; an
// addition to the interface document. The server uses CommandTimeout for
// every read; the client (queue delivery, posthorn send) the others.
type SMTP struct {
	CommandTimeout   Duration `toml:"command_timeout"`    // §4.5.3.2.7 server: next command, each DATA read
	GreetingTimeout  Duration `toml:"greeting_timeout"`   // §4.5.3.2.1 client: the 220 greeting
	MailTimeout      Duration `toml:"mail_timeout"`       // §4.5.3.2.2 client: reply to MAIL
	RcptTimeout      Duration `toml:"rcpt_timeout"`       // §4.5.3.2.3 client: reply to RCPT
	DataInitTimeout  Duration `toml:"data_init_timeout"`  // §4.5.3.2.4 client: the 354 reply
	DataBlockTimeout Duration `toml:"data_block_timeout"` // §4.5.3.2.5 client: each block sent
	DataTermTimeout  Duration `toml:"data_term_timeout"`  // §4.5.3.2.6 client: reply after "."
	MaxErrors        int      `toml:"max_errors"`         // error replies before 421 and hang-up
}

// POP3 holds POP3 server settings; an addition to the interface document.
type POP3 struct {
	IdleTimeout Duration `toml:"idle_timeout"` // RFC 1939 §3: at least 10 minutes
}

// Admin holds settings of the admin HTTP listener; an addition to the
// interface document.
type Admin struct {
	// Token is the bearer token the admin endpoints (/debug/pprof/ and
	// later the admin API) require; empty turns them off. /healthz and
	// /metrics need no token.
	Token string `toml:"token"`
}

// Default returns the embedded defaults of "posthorn serve" without a
// configuration file: a working developer server on loopback ports.
func Default() *Config {
	c := baseDefaults()
	c.Domains = []string{"localhost"}
	c.Listen = Listen{
		SMTP:        []string{"127.0.0.1:2525"},
		Submission:  []string{"127.0.0.1:2587"},
		Submissions: []string{"127.0.0.1:2465"},
		POP3:        []string{"127.0.0.1:2110"},
		POP3S:       []string{"127.0.0.1:2995"},
		IMAP:        []string{"127.0.0.1:2143"},
		IMAPS:       []string{"127.0.0.1:2993"},
		HTTP:        []string{"127.0.0.1:8025"},
	}
	return c
}

// baseDefaults holds the documented defaults a file starts from: no
// domains and no listeners, since a file lists those itself.
func baseDefaults() *Config {
	return &Config{
		Hostname: defaultHostname(),
		DataDir:  "posthorn-data",
		Limits: Limits{
			MaxMessageSize:      25 << 20,
			MaxRecipients:       100,
			MaxConnections:      2000,
			DefaultQuota:        0,
			SendPerHour:         1000,
			RcptsPerHour:        5000,
			IMAPSessionsPerUser: 50,
		},
		Queue: Queue{
			FirstRetry:     Duration(5 * time.Minute),
			DelayWarning:   Duration(4 * time.Hour),
			MaxInterval:    Duration(time.Hour),
			MaxAge:         Duration(5 * 24 * time.Hour),
			PerDestination: 20,
		},
		Store: Store{Driver: DriverSQLite},
		SMTP: SMTP{
			CommandTimeout:   Duration(5 * time.Minute),
			GreetingTimeout:  Duration(5 * time.Minute),
			MailTimeout:      Duration(5 * time.Minute),
			RcptTimeout:      Duration(5 * time.Minute),
			DataInitTimeout:  Duration(2 * time.Minute),
			DataBlockTimeout: Duration(3 * time.Minute),
			DataTermTimeout:  Duration(10 * time.Minute),
			MaxErrors:        10,
		},
		POP3: POP3{IdleTimeout: Duration(10 * time.Minute)},
	}
}

// defaultHostname is the machine's name when it is a usable domain name,
// else "localhost", so that Default always validates.
func defaultHostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if checkDomain(h) != nil {
		return "localhost"
	}
	return h
}

// PostmasterAddress is where mail to postmaster@ each local domain goes:
// the configured address, or postmaster@ the first local domain.
func (c *Config) PostmasterAddress() string {
	if c.Postmaster != "" {
		return c.Postmaster
	}
	if len(c.Domains) == 0 {
		return "postmaster@" + c.Hostname
	}
	return "postmaster@" + c.Domains[0]
}

// Listeners returns each listener's name (its key under [listen]) and
// addresses, in a fixed order, for code that treats them alike.
func (l *Listen) Listeners() []NamedAddrs {
	return []NamedAddrs{
		{"smtp", l.SMTP}, {"submission", l.Submission}, {"submissions", l.Submissions},
		{"pop3", l.POP3}, {"pop3s", l.POP3S}, {"imap", l.IMAP}, {"imaps", l.IMAPS},
		{"http", l.HTTP},
	}
}

// NamedAddrs is one listener's key under [listen] and its addresses.
type NamedAddrs struct {
	Name  string
	Addrs []string
}
