package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Bounds on what a server may send in one reply. RFC 5321 §4.5.3.1.5
// limits a reply line to 512 octets; we allow more for sloppy servers.
const (
	maxReplyLine  = 4096 // also the reader's buffer size
	maxReplyLines = 128  // EHLO replies are the longest, around 20 lines
)

// errProtocol marks a reply we cannot parse.
var errProtocol = errors.New("SMTP protocol error")

// Reply is one (possibly multi-line) SMTP reply, RFC 5321 §4.2.
type Reply struct {
	Code  int
	Lines []string // text after the code and separator, one per line
}

func (r Reply) String() string {
	return fmt.Sprintf("%d %s", r.Code, strings.Join(r.Lines, " / "))
}

// Positive reports a 2xx reply.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 300 }

// readReply reads one reply. Lines end in CRLF (a bare LF is tolerated);
// every line must carry the same code; the last has a space (or nothing)
// after the code, the others a hyphen.
func readReply(br *bufio.Reader) (Reply, error) {
	var r Reply
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return r, fmt.Errorf("%w: reply longer than %d lines", errProtocol, maxReplyLines)
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return r, fmt.Errorf("%w: reply line longer than %d bytes", errProtocol, maxReplyLine)
		}
		if err != nil {
			return r, fmt.Errorf("reading reply: %w", err)
		}
		code, more, text, err := parseReplyLine(line)
		if err != nil {
			return r, err
		}
		if n > 0 && code != r.Code {
			return r, fmt.Errorf("%w: code %d inside a %d reply", errProtocol, code, r.Code)
		}
		r.Code = code
		r.Lines = append(r.Lines, text)
		if !more {
			return r, nil
		}
	}
}

// parseReplyLine splits "250-text\r\n" into its code, whether more lines
// follow, and the text.
func parseReplyLine(line []byte) (code int, more bool, text string, err error) {
	s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	if len(s) < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' || s[2] < '0' || s[2] > '9' {
		return 0, false, "", fmt.Errorf("%w: bad reply line %q", errProtocol, truncate(s, 64))
	}
	code = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	if len(s) == 3 {
		return code, false, "", nil
	}
	switch s[3] {
	case ' ':
		return code, false, s[4:], nil
	case '-':
		return code, true, s[4:], nil
	}
	return 0, false, "", fmt.Errorf("%w: bad separator in reply line %q", errProtocol, truncate(s, 64))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// ReplyError is an unexpected reply to a command.
type ReplyError struct {
	Command string // "MAIL", "RCPT", "DATA", "end of data", "greeting", ...
	Reply   Reply
}

func (e *ReplyError) Error() string { return e.Command + ": " + e.Reply.String() }

// replyError wraps an unexpected reply in the mailerr class its code
// implies: 4xx temporary, 5xx permanent (RFC 5321 §4.2.1), with a reason
// from the enhanced status code (RFC 3463) where it says one.
func replyError(cmd string, r Reply) error {
	e := &ReplyError{Command: cmd, Reply: r}
	reason := reasonOf(r)
	if r.Code >= 500 {
		return mailerr.Permanent(reason, "server refused "+cmd, e)
	}
	return mailerr.Temporary(reason, "server deferred "+cmd, e)
}

func reasonOf(r Reply) mailerr.Reason {
	var enh string
	if len(r.Lines) > 0 {
		enh, _, _ = strings.Cut(r.Lines[0], " ")
	}
	if len(enh) > 2 && (enh[0] == '4' || enh[0] == '5') && enh[1] == '.' {
		switch enh[2:] {
		case "1.1":
			return mailerr.NoSuchUser
		case "2.2":
			return mailerr.OverQuota
		case "3.1":
			return mailerr.DiskFull
		case "2.3", "3.4":
			return mailerr.TooBig
		case "7.8":
			return mailerr.AuthFailed
		}
	}
	switch {
	case r.Code == 421 || r.Code == 450 || r.Code == 451:
		return mailerr.Unavailable
	case r.Code == 452:
		return mailerr.DiskFull
	case r.Code == 552:
		return mailerr.TooBig
	case r.Code == 535:
		return mailerr.AuthFailed
	case r.Code == 500 || r.Code == 501 || r.Code == 503 || r.Code == 504:
		return mailerr.BadInput
	case r.Code >= 500:
		return mailerr.Policy
	}
	return mailerr.Unknown
}

// codeOf is the reply code that ended an operation, 0 when none came.
func codeOf(err error) int {
	if re, ok := errors.AsType[*ReplyError](err); ok {
		return re.Reply.Code
	}
	return 0
}
