package queue

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
	"time"
	"unicode/utf8"
)

// DSN actions (RFC 3464 §2.3.3).
const (
	actionFailed  = "failed"
	actionDelayed = "delayed"
	actionRelayed = "relayed"
)

// What a DSN returns of the original message (RFC 3461 §4.3 RET).
type returnMode int

const (
	returnHeaders returnMode = iota // text/rfc822-headers
	returnFull                      // message/rfc822
)

// maxDiagnostic bounds the remote reply quoted in a DSN, so that a field
// stays within RFC 5322's 998-octet lines after folding.
const maxDiagnostic = 900

// maxReturnedHeader bounds the header block returned with RET=HDRS.
const maxReturnedHeader = 256 << 10

// rcptStatus is the per-recipient part of a DSN (RFC 3464 §2.3).
type rcptStatus struct {
	Rcpt, ORCPT string
	Action      string // actionFailed, actionDelayed, actionRelayed
	Status      string // RFC 3463, e.g. "5.1.1"
	RemoteMTA   string // "" when no server answered
	Code        int    // the SMTP reply; 0 for a local failure
	Text        string // the reply text, or the local reason
	LastAttempt time.Time
	Expired     bool // a temporary failure that outlived max_age
	// WillRetryUntil is when a delayed recipient is given up (RFC 3464
	// §2.3.7); zero for other actions.
	WillRetryUntil time.Time
}

// report is one DSN about one queued message.
type report struct {
	Hostname string // Reporting-MTA
	QueueID  string // the original's queue id
	EnvID    string // RFC 3461 ENVID, decoded
	Sender   string // the original's envelope sender: the DSN's recipient
	Arrival  time.Time
	Date     time.Time
	ID       string // the DSN's own queue id (Message-ID left part)
	Boundary string // "" picks a random one
	Rcpts    []rcptStatus
	Return   returnMode
	UTF8     bool // RFC 6533: addresses or headers need UTF-8
}

// failed reports whether any recipient failed (else it is a success or
// delay notice).
func (r *report) failed() bool {
	for _, s := range r.Rcpts {
		if s.Action == actionFailed {
			return true
		}
	}
	return false
}

func (r *report) subject() string {
	switch {
	case r.failed():
		return "Undelivered Mail Returned to Sender"
	case r.Rcpts[0].Action == actionDelayed:
		return "Delayed Mail (still being retried)"
	}
	return "Successful Mail Delivery Report"
}

func newBoundary() string {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	// "=_" cannot occur in quoted-printable or base64 text, and 96
	// random bits will not occur in the returned message.
	return "=_posthorn_" + hex.EncodeToString(b[:])
}

// writeReport writes the DSN: the message header, then the
// multipart/report (RFC 6522) of a human-readable part, the
// message/delivery-status part (RFC 3464) and, when orig is not nil, the
// original message or its header (from orig, read once, in full or up to
// its blank line).
func writeReport(w io.Writer, r *report, orig io.Reader) error {
	if r.Boundary == "" {
		r.Boundary = newBoundary()
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	r.writeHeader(bw)
	fmt.Fprintf(bw, "This is a MIME-encapsulated message.\r\n\r\n--%s\r\n", r.Boundary)
	r.writeHuman(bw)
	fmt.Fprintf(bw, "\r\n--%s\r\n", r.Boundary)
	r.writeStatus(bw)
	if orig != nil {
		fmt.Fprintf(bw, "\r\n--%s\r\n", r.Boundary)
		if err := r.writeOriginal(bw, orig); err != nil {
			return err
		}
	}
	fmt.Fprintf(bw, "\r\n--%s--\r\n", r.Boundary)
	return bw.Flush()
}

func (r *report) writeHeader(w *bufio.Writer) {
	host := r.Hostname
	fmt.Fprintf(w, "Date: %s\r\n", r.Date.Format(time.RFC1123Z))
	fmt.Fprintf(w, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", host)
	fmt.Fprintf(w, "To: <%s>\r\n", r.field(r.Sender))
	fmt.Fprintf(w, "Subject: %s\r\n", r.subject())
	fmt.Fprintf(w, "Message-ID: <%s@%s>\r\n", r.ID, host)
	// RFC 3834 §5: a report is automatic; responders must not answer it.
	w.WriteString("Auto-Submitted: auto-replied\r\n")
	w.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(w, "Content-Type: multipart/report; report-type=%s;\r\n\tboundary=\"%s\"\r\n\r\n",
		r.statusType(), r.Boundary)
}

// statusType is the media subtype of the status part: RFC 6533 defines
// the global one, which may hold UTF-8.
func (r *report) statusType() string {
	if r.UTF8 {
		return "global-delivery-status"
	}
	return "delivery-status"
}

// writeHuman writes the text/plain part, in 7bit when it can.
func (r *report) writeHuman(w *bufio.Writer) {
	text := r.humanText()
	plain := isASCII(text)
	for line := range strings.SplitSeq(text, "\r\n") {
		plain = plain && len(line) <= 998
	}
	w.WriteString("Content-Description: Notification\r\n")
	if plain {
		w.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
		w.WriteString(text)
		return
	}
	w.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(w)
	qp.Write([]byte(text))
	qp.Close()
}

func (r *report) humanText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "This is the mail delivery system at %s.\r\n\r\n", r.Hostname)
	switch {
	case r.failed():
		fmt.Fprintf(&b, "Your message (queue id %s) could not be delivered to one or more\r\n"+
			"recipients. The reasons follow; the message, or its header, is attached.\r\n", r.QueueID)
	case r.Rcpts[0].Action == actionDelayed:
		fmt.Fprintf(&b, "Your message (queue id %s) has not been delivered yet to the\r\n"+
			"recipients below. It is still being retried; you need not send it again.\r\n", r.QueueID)
	default:
		fmt.Fprintf(&b, "Your message (queue id %s) was handed on to the recipients'\r\n"+
			"mail servers below. Those servers do not report delivery, so this\r\n"+
			"is the last notice you will get about it.\r\n", r.QueueID)
	}
	for _, s := range r.Rcpts {
		fmt.Fprintf(&b, "\r\n<%s>: %s\r\n", clean(s.Rcpt), s.summary())
		if s.Text != "" || s.Code != 0 {
			fmt.Fprintf(&b, "    %s\r\n", clean(s.diagnosticLine()))
		}
	}
	return b.String()
}

func (s *rcptStatus) summary() string {
	switch {
	case s.Action == actionRelayed:
		return "relayed"
	case s.Action == actionDelayed:
		return "delivery delayed, still trying"
	case s.Expired:
		return "delivery failed for too long; gave up"
	}
	return "delivery failed permanently"
}

// diagnosticLine is the human form of the reason.
func (s *rcptStatus) diagnosticLine() string {
	text := truncate(s.Text, maxDiagnostic)
	if s.Code == 0 {
		if s.RemoteMTA != "" {
			return s.RemoteMTA + ": " + text
		}
		return text
	}
	return fmt.Sprintf("%s said: %d %s %s", s.RemoteMTA, s.Code, s.Status, text)
}

// writeStatus writes the message/delivery-status part (RFC 3464 §2).
func (r *report) writeStatus(w *bufio.Writer) {
	fmt.Fprintf(w, "Content-Description: Delivery report\r\nContent-Type: message/%s\r\n\r\n", r.statusType())
	fmt.Fprintf(w, "Reporting-MTA: dns; %s\r\n", r.Hostname)
	if r.EnvID != "" {
		fmt.Fprintf(w, "Original-Envelope-Id: %s\r\n", xtext(r.EnvID))
	}
	fmt.Fprintf(w, "X-Posthorn-Queue-ID: %s\r\n", r.QueueID)
	fmt.Fprintf(w, "Arrival-Date: %s\r\n", r.Arrival.Format(time.RFC1123Z))
	for _, s := range r.Rcpts {
		w.WriteString("\r\n")
		if s.ORCPT != "" {
			typ, addr, ok := strings.Cut(s.ORCPT, ";")
			if ok {
				fmt.Fprintf(w, "Original-Recipient: %s; %s\r\n", r.field(typ), r.field(addr))
			}
		}
		fmt.Fprintf(w, "Final-Recipient: %s; %s\r\n", r.addrType(s.Rcpt), r.field(s.Rcpt))
		fmt.Fprintf(w, "Action: %s\r\n", s.Action)
		fmt.Fprintf(w, "Status: %s\r\n", s.Status)
		if s.RemoteMTA != "" {
			fmt.Fprintf(w, "Remote-MTA: dns; %s\r\n", r.field(s.RemoteMTA))
		}
		if s.Code != 0 {
			writeFolded(w, "Diagnostic-Code", fmt.Sprintf("smtp; %d %s %s", s.Code, s.Status,
				r.field(truncate(s.Text, maxDiagnostic))))
		} else if s.Text != "" {
			writeFolded(w, "Diagnostic-Code", "X-Posthorn; "+r.field(truncate(s.Text, maxDiagnostic)))
		}
		if !s.LastAttempt.IsZero() {
			fmt.Fprintf(w, "Last-Attempt-Date: %s\r\n", s.LastAttempt.Format(time.RFC1123Z))
		}
		if !s.WillRetryUntil.IsZero() {
			fmt.Fprintf(w, "Will-Retry-Until: %s\r\n", s.WillRetryUntil.Format(time.RFC1123Z))
		}
	}
}

// addrType is the address type of a Final-Recipient: utf-8 (RFC 6533
// §3) for a non-ASCII address in a global report.
func (r *report) addrType(addr string) string {
	if r.UTF8 && !isASCII(addr) {
		return "utf-8"
	}
	return "rfc822"
}

// field makes s safe for a header field: no line breaks or controls, and
// ASCII unless the report is global (RFC 6533).
func (r *report) field(s string) string {
	s = clean(s)
	if r.UTF8 {
		return s
	}
	return strings.Map(func(c rune) rune {
		if c >= 0x80 {
			return '?'
		}
		return c
	}, s)
}

// writeOriginal writes the third part: the whole message, or its header
// block only (up to and without the blank line, bounded).
func (r *report) writeOriginal(w *bufio.Writer, orig io.Reader) error {
	full := "message/rfc822"
	hdrs := "text/rfc822-headers"
	if r.UTF8 {
		full, hdrs = "message/global", "message/global-headers" // RFC 6533 §3, §3.5
	}
	if r.Return == returnFull {
		fmt.Fprintf(w, "Content-Description: Undelivered Message\r\nContent-Type: %s\r\n\r\n", full)
		last, err := copyTail(w, orig)
		if err != nil {
			return fmt.Errorf("queue: reading the returned message: %w", err)
		}
		if !bytes.HasSuffix(last, []byte("\r\n")) {
			w.WriteString("\r\n")
		}
		return nil
	}
	fmt.Fprintf(w, "Content-Description: Message Headers\r\nContent-Type: %s\r\n\r\n", hdrs)
	return copyHeader(w, orig)
}

// copyTail copies r to w and returns the last two bytes written.
func copyTail(w io.Writer, r io.Reader) ([]byte, error) {
	buf := make([]byte, 32<<10)
	var last []byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil, werr
			}
			if n >= 2 {
				last = append(last[:0], buf[n-2:n]...)
			} else {
				last = append(last, buf[:n]...)
				if len(last) > 2 {
					last = last[len(last)-2:]
				}
			}
		}
		if err == io.EOF {
			return last, nil
		} else if err != nil {
			return nil, err
		}
	}
}

// copyHeader copies the header block of a message (lines up to the first
// empty one), at most maxReturnedHeader octets of whole lines.
func copyHeader(w *bufio.Writer, orig io.Reader) error {
	br := bufio.NewReaderSize(io.LimitReader(orig, maxReturnedHeader), 4096)
	cont := false // inside a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		blank := !cont && len(bytes.TrimRight(line, "\r\n")) == 0
		switch {
		case err == bufio.ErrBufferFull:
			w.Write(line)
			cont = true
		case err == nil:
			if blank {
				return nil
			}
			w.Write(line)
			cont = false
		case err == io.EOF:
			if len(line) > 0 && !blank {
				w.Write(line) // a message without a body, or cut at the bound
				w.WriteString("\r\n")
			}
			return nil
		default:
			return fmt.Errorf("queue: reading the returned header: %w", err)
		}
	}
}

// writeFolded writes "name: value" folded at spaces so that lines keep to
// 78 octets where the words allow.
func writeFolded(w *bufio.Writer, name, value string) {
	line := name + ":"
	n := len(line)
	w.WriteString(line)
	for i, word := range strings.Split(value, " ") {
		if i > 0 && n+1+len(word) > 78 {
			w.WriteString("\r\n\t")
			n = 1
		} else {
			w.WriteByte(' ')
			n++
		}
		w.WriteString(word)
		n += len(word)
	}
	w.WriteString("\r\n")
}

// clean replaces line breaks and other controls with spaces and invalid
// UTF-8 with '?'.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// xtext encodes s as RFC 3461 §4 xtext.
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '+' || c == '=' {
			fmt.Fprintf(&b, "+%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
