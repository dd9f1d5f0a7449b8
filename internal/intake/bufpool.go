package intake

import "sync"

// Spool memory comes in a few size classes, each with its own pool, so a
// 2 KB message does not pin 256 KiB and a buffer is reused at its size.
var bufClasses = [...]int{8 << 10, 32 << 10, 128 << 10, 256 << 10}

// bufPool hands out spool memory. It belongs to a Service.
type bufPool struct {
	pools [len(bufClasses)]sync.Pool
}

// get returns an empty buffer of capacity at least n, or nil if n is over
// the largest class.
func (p *bufPool) get(n int) []byte {
	for i, c := range bufClasses {
		if n <= c {
			if b, ok := p.pools[i].Get().(*[]byte); ok {
				return (*b)[:0]
			}
			return make([]byte, 0, c)
		}
	}
	return nil
}

// put returns b for reuse, if it is one of ours.
func (p *bufPool) put(b []byte) {
	for i, c := range bufClasses {
		if cap(b) == c {
			b = b[:0]
			p.pools[i].Put(&b)
			return
		}
	}
}
