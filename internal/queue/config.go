package queue

import (
	"errors"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
)

// Config sets up a Runner. Zero fields take the defaults in brackets.
type Config struct {
	// Owner names this node in leases. It must be stable across restarts
	// (a host name, a node id): Run releases the owner's leases left by a
	// crash when it starts. Required.
	Owner string
	// Hostname is the Reporting-MTA of DSNs and the domain of their
	// MAILER-DAEMON sender. Required.
	Hostname string
	// NewSpool makes the spool a DSN is written into (intake.Service's
	// NewSpool). Required.
	NewSpool func() *intake.Spool

	FirstRetry  time.Duration // first retry after a temporary failure [5m]
	MaxInterval time.Duration // backoff doubles up to this [1h]
	MaxAge      time.Duration // then a temporary failure bounces [5 days]

	PerDestination int // concurrent deliveries per destination domain [20]
	Workers        int // concurrent deliveries in all [100]
	// MaxActive bounds the entries held in memory, claimed and waiting
	// for a delivery slot (Postfix's active queue) [10000].
	MaxActive int
	// ClaimBatch is the most entries one claim takes [500].
	ClaimBatch int
	// Lease is how long a claim holds entries; it is renewed every third
	// of it while they are in memory [10m].
	Lease time.Duration
	// ScanInterval is how often the store is asked for due work besides
	// Kick [30s].
	ScanInterval time.Duration
	// WatchInterval is how often the store is asked when its earliest
	// entry is due (one indexed read), so that work made due by another
	// process (`posthorn queue retry`) starts at once [1s].
	WatchInterval time.Duration
	// DelayWarning is how long a recipient whose NOTIFY lists DELAY may
	// stay deferred before its sender gets one delay notice (RFC 3464
	// Action: delayed); negative: never [4h, like Postfix's
	// delay_warning_time].
	DelayWarning time.Duration
	// DrainGrace is how long deliveries in flight may finish after Run's
	// context ends [30s].
	DrainGrace time.Duration
	// ReturnFullMax bounds the original message returned whole in a
	// failure DSN: RET=FULL up to this size, else its headers only
	// [10 MiB]. ReturnDefaultMax is the same without RET [256 KiB].
	ReturnFullMax, ReturnDefaultMax int64

	// Now is the clock [time.Now]; tests move it.
	Now func() time.Time
	// Jitter returns a random duration in [0, d) added to each backoff so
	// that a destination's deferred mail does not return all at once
	// [math/rand/v2, up to a tenth of the backoff].
	Jitter func(d time.Duration) time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Owner == "" || c.Hostname == "" || c.NewSpool == nil {
		return c, errors.New("queue: Config needs Owner, Hostname and NewSpool")
	}
	def := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	defInt := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	def(&c.FirstRetry, 5*time.Minute)
	def(&c.MaxInterval, time.Hour)
	def(&c.MaxAge, 5*24*time.Hour)
	def(&c.Lease, 10*time.Minute)
	def(&c.ScanInterval, 30*time.Second)
	def(&c.DrainGrace, 30*time.Second)
	def(&c.WatchInterval, time.Second)
	if c.DelayWarning == 0 {
		c.DelayWarning = 4 * time.Hour
	}
	defInt(&c.PerDestination, 20)
	defInt(&c.Workers, 100)
	defInt(&c.MaxActive, 10000)
	defInt(&c.ClaimBatch, 500)
	if c.ReturnFullMax <= 0 {
		c.ReturnFullMax = 10 << 20
	}
	if c.ReturnDefaultMax <= 0 {
		c.ReturnDefaultMax = 256 << 10
	}
	if c.MaxInterval < c.FirstRetry {
		c.MaxInterval = c.FirstRetry
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Jitter == nil {
		c.Jitter = defaultJitter
	}
	return c, nil
}
