package auth

import (
	"net/netip"
	"sync"
	"time"
)

const (
	// maxThrottleEntries bounds the throttle's memory (~100 bytes an entry).
	maxThrottleEntries = 100_000
	maxDelay           = 8 * time.Second
)

// Throttle slows and limits failed logins per client address: an IPv4
// address, or the /64 an IPv6 address belongs to (one host usually holds a
// whole /64). A client is refused while it has maxFailures failures, each
// within window of the next; the record expires window after the last one.
//
// Memory is bounded: past 100,000 addresses, expired records are swept and,
// if that is not enough, arbitrary ones are dropped (an attacker spreading
// over that many addresses gains little: each still waits its delay).
type Throttle struct {
	mu          sync.Mutex
	maxFailures int
	window      time.Duration
	maxEntries  int
	entries     map[netip.Prefix]*failures
	lastSweep   time.Time
	now         func() time.Time // time.Now; tests replace it
}

type failures struct {
	count int
	last  time.Time
}

// NewThrottle makes a throttle allowing maxFailures failed logins per
// client within window.
func NewThrottle(maxFailures int, window time.Duration) *Throttle {
	return &Throttle{
		maxFailures: max(1, maxFailures),
		window:      window,
		maxEntries:  maxThrottleEntries,
		entries:     make(map[netip.Prefix]*failures),
		now:         time.Now,
	}
}

// throttleKey is the unit an address is counted in.
func throttleKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	if err != nil { // the invalid Addr: count all of them together
		return netip.Prefix{}
	}
	return p
}

// Allowed reports whether ip may try to log in: false while it is over the
// limit.
func (t *Throttle) Allowed(ip netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.entries[throttleKey(ip)]
	return f == nil || t.expired(f, t.now()) || f.count < t.maxFailures
}

// Failed records a failed login from ip and returns how long to wait
// before answering: 1s, 2s, 4s, then 8s for every further failure.
func (t *Throttle) Failed(ip netip.Addr) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	k := throttleKey(ip)
	f := t.entries[k]
	if f == nil {
		t.makeRoom(now)
		f = &failures{}
		t.entries[k] = f
	} else if t.expired(f, now) {
		f.count = 0
	}
	f.count++
	f.last = now
	return min(time.Second<<min(f.count-1, 4), maxDelay)
}

func (t *Throttle) expired(f *failures, now time.Time) bool {
	return now.Sub(f.last) >= t.window
}

// makeRoom keeps len(entries) below maxEntries. Sweeping is O(n), so it
// runs at most once per tenth of a window; between sweeps, arbitrary
// entries (Go's map order is random) are dropped, a hundredth at a time.
func (t *Throttle) makeRoom(now time.Time) {
	if len(t.entries) < t.maxEntries {
		return
	}
	if now.Sub(t.lastSweep) >= t.window/10 {
		t.lastSweep = now
		for k, f := range t.entries {
			if t.expired(f, now) {
				delete(t.entries, k)
			}
		}
		if len(t.entries) < t.maxEntries {
			return
		}
	}
	drop := max(1, t.maxEntries/100)
	for k := range t.entries {
		if drop <= 0 {
			break
		}
		delete(t.entries, k)
		drop--
	}
}
