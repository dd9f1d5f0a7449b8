package mime

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// ErrBadDate reports a date that could not be read.
var ErrBadDate = errors.New("mime: malformed date")

// ParseDate parses an RFC 5322 date-time (section 3.3) with the
// obsolete forms (two-digit years, named zones) and common mistakes
// (missing day of week or seconds, extra comments, doubled spaces).
func ParseDate(s string) (time.Time, error) {
	s = strings.Join(strings.Fields(stripComments(s)), " ")
	if t, err := mail.ParseDate(s); err == nil {
		return t, nil
	}
	for _, layout := range [...]string{
		"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04 -0700",
		"Mon, 2 Jan 2006 15:04:05",
		"2 Jan 2006 15:04:05",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon, 2 January 2006 15:04:05 -0700",
		time.RFC3339,
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s)
}
