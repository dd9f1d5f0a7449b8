// Package deadlineconn is the connection the user agent's clients (POP3
// fetch, SMTP submission) read and write through: every read and write
// gets a fresh idle deadline, capped by the current operation's context
// deadline, and a cancelled context interrupts a blocked read or write.
// It implements no protocol.
package deadlineconn

import (
	"context"
	"net"
	"sync"
	"time"
)

// Conn gives every read and write a fresh deadline (an idle timeout, so
// a large transfer over a slow link is not cut off while bytes keep
// coming) capped by the current operation's context deadline, and
// interrupts a blocked read or write when that context is cancelled.
// Reads and writes outside a Begin fail with context.Canceled.
type Conn struct {
	net.Conn
	Timeout time.Duration

	mu        sync.Mutex
	ctx       context.Context
	cancelled bool
}

// Begin binds the connection to ctx for one operation; the returned
// function ends the binding.
func (d *Conn) Begin(ctx context.Context) func() {
	d.mu.Lock()
	d.ctx, d.cancelled = ctx, false
	d.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		d.cancelled = true
		d.Conn.SetDeadline(time.Unix(1, 0))
		d.mu.Unlock()
	})
	return func() { stop() }
}

// arm sets the deadline for the next read or write, under the lock so a
// cancellation that races with it is never undone.
func (d *Conn) arm() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancelled || d.ctx == nil {
		if d.ctx != nil && d.ctx.Err() != nil {
			return d.ctx.Err()
		}
		return context.Canceled
	}
	dl := time.Now().Add(d.Timeout)
	if cd, ok := d.ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	return d.Conn.SetDeadline(dl)
}

func (d *Conn) Read(p []byte) (int, error) {
	if err := d.arm(); err != nil {
		return 0, err
	}
	return d.Conn.Read(p)
}

func (d *Conn) Write(p []byte) (int, error) {
	if err := d.arm(); err != nil {
		return 0, err
	}
	return d.Conn.Write(p)
}

// IsLoopback reports whether addr is a loopback address.
func IsLoopback(addr net.Addr) bool {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	return false
}
