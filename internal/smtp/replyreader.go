package smtp

import (
	"errors"
	"fmt"
)

// The client side of replies (RFC 5321 §4.2), shared by the outbound
// client, the submission client of the user agent and the load generator.

// Bounds of what a peer may send as one reply. RFC 5321 §4.5.3.1.5 allows
// 512 octets per reply line; real servers exceed it (long banners, AUTH
// lists), so a line may be four times that.
const (
	MaxReplyLine  = 2048
	MaxReplyLines = 256
)

// ErrMalformedReply is a reply that is not SMTP: the connection is unusable.
var ErrMalformedReply = errors.New("smtp: malformed reply")

// ReadReply reads one reply, single- or multi-line (RFC 5321 §4.2.1).
// Every line must carry the same code. The enhanced status code (RFC 2034)
// of the first line is split off every line that repeats it. maxLines
// bounds the lines of one reply (MaxReplyLines when <= 0).
func ReadReply(lr *LineReader, maxLines int) (Reply, error) {
	if maxLines <= 0 {
		maxLines = MaxReplyLines
	}
	var rep Reply
	for n := 0; ; n++ {
		if n == maxLines {
			return Reply{}, fmt.Errorf("%w: more than %d lines", ErrMalformedReply, maxLines)
		}
		line, err := lr.ReadLine(MaxReplyLine)
		if errors.Is(err, ErrLineTooLong) {
			return Reply{}, fmt.Errorf("%w: line over %d octets", ErrMalformedReply, MaxReplyLine)
		}
		if err != nil {
			return Reply{}, err
		}
		code, last, text, err := ParseReplyLine(line)
		if err != nil {
			return Reply{}, err
		}
		if n == 0 {
			rep.Code = code
			rep.Enhanced, text = splitEnhanced(code, text)
		} else {
			if code != rep.Code {
				return Reply{}, fmt.Errorf("%w: code %d in a %d reply", ErrMalformedReply, code, rep.Code)
			}
			if rep.Enhanced != "" && len(text) > len(rep.Enhanced) && text[:len(rep.Enhanced)] == rep.Enhanced && text[len(rep.Enhanced)] == ' ' {
				text = text[len(rep.Enhanced)+1:]
			} else if text == rep.Enhanced {
				text = ""
			}
		}
		rep.Lines = append(rep.Lines, text)
		if last {
			return rep, nil
		}
	}
}

// ParseReplyLine splits "250-text" or "250 text" (or a bare "250"). The
// text is copied, control characters but tab replaced by '?': the line's buffer is reused by the next read.
func ParseReplyLine(line []byte) (code int, last bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: %q", ErrMalformedReply, line)
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0, false, "", fmt.Errorf("%w: no reply code", ErrMalformedReply)
		}
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	// RFC 5321 §4.2: the first digit is 2 to 5, the second 0 to 5.
	if line[0] < '2' || line[0] > '5' || line[1] > '5' {
		return 0, false, "", fmt.Errorf("%w: code %d", ErrMalformedReply, code)
	}
	switch {
	case len(line) == 3:
		return code, true, "", nil
	case line[3] == ' ':
		last = true
	case line[3] == '-':
	default:
		return 0, false, "", fmt.Errorf("%w: no separator after code", ErrMalformedReply)
	}
	return code, last, sanitize(line[4:]), nil
}

// sanitize copies reply text, replacing control characters so that a
// hostile peer cannot put escapes in logs or DSNs.
func sanitize(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}

// splitEnhanced splits an RFC 3463 status code off the text when its class
// matches the reply code's first digit (RFC 2034 §4).
func splitEnhanced(code int, text string) (enhanced, rest string) {
	class := byte('0' + code/100)
	if class != '2' && class != '4' && class != '5' {
		return "", text
	}
	if len(text) < 5 || text[0] != class || text[1] != '.' {
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
	if i < len(text) && text[i] != ' ' {
		return "", text
	}
	rest = text[i:]
	if len(rest) > 0 {
		rest = rest[1:]
	}
	return text[:i], rest
}
