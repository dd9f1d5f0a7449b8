// Package notify is posthorn's in-process "mailbox changed" pub/sub: the
// store publishes a mailbox's ID after each commit that changed it (a new
// message, flags, an expunge, an append, a copy or move), and every IMAP
// session with that mailbox selected wakes up (IDLE, or the untagged
// updates after its next command).
//
// Signals carry no data and may be coalesced or spurious: a subscriber
// re-reads the mailbox, it never trusts a payload. That is what lets a
// store on several nodes feed the same Hub from outside: the PostgreSQL
// store will LISTEN on a channel whose NOTIFY payload is a mailbox ID and
// call Publish for each, exactly as the SQLite store does after commit.
//
// Deleted closes the subscribers' channels: their mailbox is gone.
//
// Left out: delivery across processes by itself (an admin command writing
// the same SQLite file does not reach a server's Hub; its change is seen
// at the sessions' next command).
package notify

import "sync"

// Hub routes change signals by mailbox ID. The zero value is not usable;
// make one with New. A nil *Hub is valid and does nothing, so stores and
// tests may run without one.
type Hub struct {
	mu   sync.Mutex
	subs map[int64]map[*Sub]struct{}
}

// New makes an empty Hub.
func New() *Hub { return &Hub{subs: make(map[int64]map[*Sub]struct{})} }

// Sub is one subscription to one mailbox.
type Sub struct {
	h      *Hub
	id     int64
	ch     chan struct{}
	closed bool // guarded by h.mu
}

// C receives a value after the mailbox changed; several changes may
// arrive as one. It is closed when the mailbox is deleted.
func (s *Sub) C() <-chan struct{} { return s.ch }

// Subscribe watches mailbox id until Close.
func (h *Hub) Subscribe(id int64) *Sub {
	s := &Sub{h: h, id: id, ch: make(chan struct{}, 1)}
	if h == nil {
		return s
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[id]
	if m == nil {
		m = make(map[*Sub]struct{})
		h.subs[id] = m
	}
	m[s] = struct{}{}
	return s
}

// Close ends the subscription; its channel is not closed (a reader may
// still select on it) but receives nothing more. Close is idempotent.
func (s *Sub) Close() {
	h := s.h
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.subs[s.id]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(h.subs, s.id)
		}
	}
}

// Publish signals that the mailboxes changed. It never blocks: a
// subscriber with a signal pending keeps just that one.
func (h *Hub) Publish(ids ...int64) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		for s := range h.subs[id] {
			select {
			case s.ch <- struct{}{}:
			default:
			}
		}
	}
}

// PublishAll signals every subscribed mailbox: for a change whose
// mailboxes are unknown (another process wrote the database).
func (h *Hub) PublishAll() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.subs {
		for s := range m {
			select {
			case s.ch <- struct{}{}:
			default:
			}
		}
	}
}

// Deleted closes the channels of every subscriber of the mailboxes and
// drops them.
func (h *Hub) Deleted(ids ...int64) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		for s := range h.subs[id] {
			if !s.closed {
				s.closed = true
				close(s.ch)
			}
		}
		delete(h.subs, id)
	}
}

// Subscribers returns how many subscriptions mailbox id has (metrics,
// tests).
func (h *Hub) Subscribers(id int64) int {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[id])
}
