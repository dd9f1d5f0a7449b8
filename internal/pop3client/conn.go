package pop3client

import (
	"context"
	"net"
	"sync"
	"time"
)

// deadlineConn gives every read and write a fresh deadline (an idle
// timeout, so a large RETR over a slow link is not cut off while bytes
// keep coming) capped by the current operation's context deadline, and
// interrupts a blocked read or write when that context is cancelled.
type deadlineConn struct {
	net.Conn
	timeout time.Duration

	mu        sync.Mutex
	ctx       context.Context
	cancelled bool
}

// begin binds the connection to ctx for one operation; the returned
// function ends the binding.
func (d *deadlineConn) begin(ctx context.Context) func() {
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
func (d *deadlineConn) arm() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancelled || d.ctx == nil {
		if d.ctx != nil && d.ctx.Err() != nil {
			return d.ctx.Err()
		}
		return context.Canceled
	}
	dl := time.Now().Add(d.timeout)
	if cd, ok := d.ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	return d.Conn.SetDeadline(dl)
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	if err := d.arm(); err != nil {
		return 0, err
	}
	return d.Conn.Read(p)
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	if err := d.arm(); err != nil {
		return 0, err
	}
	return d.Conn.Write(p)
}

// isLoopback reports whether the peer is a loopback address.
func isLoopback(addr net.Addr) bool {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	return false
}
