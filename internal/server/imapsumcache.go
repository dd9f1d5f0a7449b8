package server

import (
	"sync"
)

// summaryCacheBytes bounds the summaries kept in memory over all
// mailboxes: about six 10,000-message mailboxes (a summary is 400 to 600
// bytes). Past it, the least recently fetched mailboxes are dropped.
const summaryCacheBytes = 32 << 20

// maxSummaryBoxes bounds the mailboxes the cache tracks, counting those
// with nothing cached yet.
const maxSummaryBoxes = 1024

// summaryOverhead is what one cached summary costs besides its bytes
// (map slot, slice header, allocation rounding), for the budget.
const summaryOverhead = 48

// summaryCache keeps the summary blobs (pre-formatted ENVELOPE and
// BODYSTRUCTURE) of recently fetched mailboxes in memory, shared by all
// sessions: FETCH 1:* (FLAGS ENVELOPE) of a 10,000-message mailbox then
// reads no row, as Dovecot's cache file is read from memory.
//
// A message never changes, and UIDs of a mailbox are never reused while
// its UIDVALIDITY stays, so an entry keyed by mailbox, UIDVALIDITY and
// UID never goes stale. Expunged messages stay until their mailbox is
// dropped, which only costs memory within the budget; Summaries may then
// return the summary of a message expunged a moment ago, which FETCH may
// report (RFC 9051 §7.5.2 lets a server send data of a message the client
// still knows).
type summaryCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	tick   uint64
	boxes  map[summaryKey]*boxSummaries
}

type summaryKey struct {
	mailbox     int64
	uidValidity uint32
}

// boxSummaries is one mailbox's cached summaries.
type boxSummaries struct {
	mu    sync.RWMutex
	blobs map[uint32][]byte
	bytes int64  // guarded by summaryCache.mu
	used  uint64 // last use, guarded by summaryCache.mu
	gone  bool   // dropped from the cache: add nothing more, guarded by summaryCache.mu
}

func newSummaryCache(budget int64) *summaryCache {
	return &summaryCache{budget: budget, boxes: make(map[summaryKey]*boxSummaries)}
}

// box returns the cache of one mailbox version, made if needed.
func (c *summaryCache) box(mailbox int64, uidValidity uint32) *boxSummaries {
	k := summaryKey{mailbox, uidValidity}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.boxes[k]
	if b == nil {
		if len(c.boxes) >= maxSummaryBoxes {
			c.evictLocked(nil)
		}
		b = &boxSummaries{blobs: make(map[uint32][]byte)}
		c.boxes[k] = b
	}
	c.tick++
	b.used = c.tick
	return b
}

// lookup fills out[i] with the cached summary of uids[i] and returns the
// indices of those not cached.
func (b *boxSummaries) lookup(uids []uint32, out [][]byte) (missing []int) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for i, u := range uids {
		if blob, ok := b.blobs[u]; ok {
			out[i] = blob
		} else {
			missing = append(missing, i)
		}
	}
	return missing
}

// add caches summaries of box, dropping the least recently used other
// mailboxes to stay within the budget; what does not fit is not kept.
func (c *summaryCache) add(b *boxSummaries, blobs map[uint32][]byte) {
	var size int64
	for _, blob := range blobs {
		size += int64(len(blob)) + summaryOverhead
	}
	c.mu.Lock()
	if b.gone {
		c.mu.Unlock()
		return
	}
	for c.used+size > c.budget && c.evictLocked(b) {
	}
	if c.used+size > c.budget {
		c.mu.Unlock()
		return
	}
	c.used += size
	b.bytes += size
	c.mu.Unlock()
	b.mu.Lock()
	for u, blob := range blobs {
		if blob != nil {
			b.blobs[u] = blob
		}
	}
	b.mu.Unlock()
}

// evictLocked drops the least recently used mailbox other than keep and
// reports whether there was one.
func (c *summaryCache) evictLocked(keep *boxSummaries) bool {
	var oldK summaryKey
	var old *boxSummaries
	for k, b := range c.boxes {
		if b != keep && (old == nil || b.used < old.used) {
			oldK, old = k, b
		}
	}
	if old == nil {
		return false
	}
	delete(c.boxes, oldK)
	c.used -= old.bytes
	old.gone = true
	return true
}
