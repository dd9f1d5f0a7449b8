package smtpclient

import (
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/smtp"
)

// extensions are the service extensions a peer announced in its EHLO
// reply (RFC 5321 §4.1.1.1); all false after HELO.
type extensions struct {
	pipelining bool  // RFC 2920
	eightBit   bool  // RFC 6152
	smtputf8   bool  // RFC 6531
	dsn        bool  // RFC 3461
	starttls   bool  // RFC 3207
	sizeOK     bool  // RFC 1870: SIZE was announced
	size       int64 // its limit; 0 when none was given
	auth       map[string]bool
}

// maxAuthMechs bounds the mechanisms remembered from a hostile EHLO.
const maxAuthMechs = 32

// parseEHLO reads the keywords of an EHLO reply; the first line is the
// greeting. Keywords are case-insensitive; unknown ones are ignored.
func parseEHLO(rep smtp.Reply) extensions {
	var x extensions
	for i, line := range rep.Lines {
		if i == 0 {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		kw := strings.ToUpper(f[0])
		switch {
		case kw == "PIPELINING":
			x.pipelining = true
		case kw == "8BITMIME":
			x.eightBit = true
		case kw == "SMTPUTF8":
			x.smtputf8 = true
		case kw == "DSN":
			x.dsn = true
		case kw == "STARTTLS":
			x.starttls = true
		case kw == "SIZE":
			x.sizeOK = true
			if len(f) > 1 {
				if n, err := strconv.ParseInt(f[1], 10, 64); err == nil && n > 0 {
					x.size = n
				}
			}
		case kw == "AUTH" || strings.HasPrefix(kw, "AUTH="):
			// "AUTH=PLAIN LOGIN" is the pre-standard form some servers still send.
			mechs := f[1:]
			if m, ok := strings.CutPrefix(kw, "AUTH="); ok && m != "" {
				mechs = append([]string{m}, mechs...)
			}
			for _, m := range mechs {
				if x.auth == nil {
					x.auth = make(map[string]bool)
				}
				if len(x.auth) < maxAuthMechs {
					x.auth[strings.ToUpper(m)] = true
				}
			}
		}
	}
	return x
}
