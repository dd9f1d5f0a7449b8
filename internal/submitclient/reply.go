package submitclient

import (
	"errors"
	"fmt"

	"github.com/posthorn/posthorn/internal/smtp"
)

// Bounds of one reply. RFC 5321 §4.5.3.1.5 allows 512 octets a line; real
// servers send longer banners, so a line may be four times that.
const (
	maxReplyLine  = 2048
	maxReplyLines = 100
)

// ErrMalformed reports a reply that is not SMTP.
var ErrMalformed = errors.New("submitclient: malformed reply")

// readReply reads one reply, single- or multi-line (RFC 5321 §4.2.1),
// whose lines must all carry the same code. The enhanced status code of
// the first line (RFC 2034) goes to Reply.Enhanced and is taken off every
// line that repeats it.
func readReply(lr *smtp.LineReader) (smtp.Reply, error) {
	var rep smtp.Reply
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return smtp.Reply{}, fmt.Errorf("%w: more than %d lines", ErrMalformed, maxReplyLines)
		}
		line, err := lr.ReadLine(maxReplyLine)
		if errors.Is(err, smtp.ErrLineTooLong) {
			return smtp.Reply{}, fmt.Errorf("%w: a line over %d octets", ErrMalformed, maxReplyLine)
		}
		if err != nil {
			return smtp.Reply{}, err
		}
		code, last, text, err := ParseReplyLine(line)
		if err != nil {
			return smtp.Reply{}, err
		}
		switch {
		case n == 0:
			rep.Code = code
			rep.Enhanced, text = splitEnhanced(code, text)
		case code != rep.Code:
			return smtp.Reply{}, fmt.Errorf("%w: code %d inside a %d reply", ErrMalformed, code, rep.Code)
		case rep.Enhanced != "":
			if e, rest := splitEnhanced(code, text); e == rep.Enhanced {
				text = rest
			}
		}
		rep.Lines = append(rep.Lines, text)
		if last {
			return rep, nil
		}
	}
}

// ParseReplyLine splits one reply line, "250-text", "250 text" or "250",
// into its code, whether it is the last line, and its text with control
// characters replaced by '?'.
func ParseReplyLine(line []byte) (code int, last bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: %q", ErrMalformed, line)
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0, false, "", fmt.Errorf("%w: no reply code in %q", ErrMalformed, clip(line))
		}
	}
	// RFC 5321 §4.2: the first digit is 2 to 5, the second 0 to 5.
	if line[0] < '2' || line[0] > '5' || line[1] > '5' {
		return 0, false, "", fmt.Errorf("%w: code %q", ErrMalformed, line[:3])
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	switch {
	case len(line) == 3:
		return code, true, "", nil
	case line[3] == ' ':
		last = true
	case line[3] == '-':
	default:
		return 0, false, "", fmt.Errorf("%w: no separator after the code in %q", ErrMalformed, clip(line))
	}
	out := make([]byte, len(line)-4)
	for i, c := range line[4:] {
		if c < ' ' || c == 0x7f {
			c = '?'
		}
		out[i] = c
	}
	return code, last, string(out), nil
}

func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// splitEnhanced takes an RFC 3463 status code off the front of text when
// its class matches the reply code's first digit (RFC 2034 §4).
func splitEnhanced(code int, text string) (enhanced, rest string) {
	class := byte('0' + code/100)
	if class == '3' || len(text) < 5 || text[0] != class || text[1] != '.' {
		return "", text
	}
	i := 2
	for part := 0; part < 2; part++ {
		start := i
		for i < len(text) && i-start < 3 && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		if i == start {
			return "", text
		}
		if part == 0 {
			if i >= len(text) || text[i] != '.' {
				return "", text
			}
			i++
		}
	}
	switch {
	case i == len(text):
		return text, ""
	case text[i] == ' ':
		return text[:i], text[i+1:]
	}
	return "", text
}
