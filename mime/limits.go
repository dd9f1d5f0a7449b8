package mime

import (
	"fmt"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Limits bound the work the parser does for one message. A zero field
// takes its default; hostile input is normal, so every limit is finite.
type Limits struct {
	MaxDepth        int // nesting of multiparts and message/rfc822 parts (default 64)
	MaxParts        int // parts in the whole tree (default 10,000)
	MaxHeaderBytes  int // bytes in one header block (default 1 MiB)
	MaxHeaderFields int // fields in one header block (default 10,000)
}

// withDefaults fills zero fields with the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 64
	}
	if l.MaxParts <= 0 {
		l.MaxParts = 10000
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 1 << 20
	}
	if l.MaxHeaderFields <= 0 {
		l.MaxHeaderFields = 10000
	}
	return l
}

// LimitError says which limit a message exceeded. Parse returns it
// wrapped in a permanent mailerr.Error with reason TooBig; find it with
// errors.As.
type LimitError struct {
	Limit  string // "depth", "parts", "header bytes" or "header fields"
	Max    int    // the limit in force
	Offset int64  // where in the message it was exceeded
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("mime: message exceeds the %s limit (%d) at offset %d", e.Limit, e.Max, e.Offset)
}

// limitErr wraps a LimitError in the posthorn error class.
func limitErr(limit string, max int, off int64) error {
	le := &LimitError{Limit: limit, Max: max, Offset: off}
	return mailerr.Permanent(mailerr.TooBig, "message structure too large", le)
}
