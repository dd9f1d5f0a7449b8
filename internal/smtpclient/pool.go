package smtpclient

import (
	"sync"
	"time"
)

// pool keeps idle connections per hop (Hop.poolKey) so that several
// messages to one host share a connection. An idle connection is closed
// with QUIT after IdleTimeout; at most MaxIdlePerHost wait per host.
type pool struct {
	cfg    *Config
	mu     sync.Mutex
	idle   map[string][]*idleConn
	closed bool
}

type idleConn struct {
	c     *conn
	timer *time.Timer
}

func newPool(cfg *Config) *pool {
	return &pool{cfg: cfg, idle: make(map[string][]*idleConn)}
}

// get takes the most recently used idle connection for key, or nil.
func (p *pool) get(key string) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[key]
	if len(list) == 0 {
		return nil
	}
	ic := list[len(list)-1]
	p.idle[key] = list[:len(list)-1]
	if len(p.idle[key]) == 0 {
		delete(p.idle, key)
	}
	// If the timer has fired, expire finds the connection gone from the
	// list and leaves it alone: it is ours.
	ic.timer.Stop()
	return ic.c
}

// put parks c, or closes it when the pool is full or closed.
func (p *pool) put(c *conn) {
	p.mu.Lock()
	if p.closed || p.cfg.MaxIdlePerHost < 0 || len(p.idle[c.key]) >= p.cfg.MaxIdlePerHost {
		p.mu.Unlock()
		c.quit()
		return
	}
	ic := &idleConn{c: c}
	ic.timer = time.AfterFunc(p.cfg.IdleTimeout, func() { p.expire(ic) })
	p.idle[c.key] = append(p.idle[c.key], ic)
	p.mu.Unlock()
}

// expire closes an idle connection whose time is up, if still parked.
func (p *pool) expire(ic *idleConn) {
	p.mu.Lock()
	list := p.idle[ic.c.key]
	found := false
	for i, x := range list {
		if x == ic {
			list = append(list[:i], list[i+1:]...)
			found = true
			break
		}
	}
	if len(list) == 0 {
		delete(p.idle, ic.c.key)
	} else {
		p.idle[ic.c.key] = list
	}
	p.mu.Unlock()
	if found {
		ic.c.quit()
	}
}

// close QUITs every idle connection; later puts close at once.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	var all []*idleConn
	for _, list := range p.idle {
		all = append(all, list...)
	}
	p.idle = make(map[string][]*idleConn)
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, ic := range all {
		ic.timer.Stop()
		wg.Go(ic.c.quit)
	}
	wg.Wait()
}

// idleCount is the number of parked connections (for tests).
func (p *pool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.idle {
		n += len(l)
	}
	return n
}
