package loadgen

import (
	"bufio"
	"fmt"
	"strings"
	"time"
)

// seqWidth is the fixed width of the sequence number in the header, so
// patching it never changes the message size (MaxMessages has 8 digits).
const seqWidth = 10

// bodyLineChars is the text per body line, before CRLF (RFC 5322 §2.1.1
// recommends at most 78).
const bodyLineChars = 76

// bodyAlphabet fills body lines. It holds no '.', so no line needs
// dot-stuffing, and no space, so no line reads "From " to an mbox.
const bodyAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"

// template is the message every worker sends: a header prototype with
// fixed-width sequence fields, and a body built once and shared read-only
// by all workers (so memory is one body, not one per worker).
type template struct {
	header []byte
	seqAt  []int // offsets of the seqWidth-digit fields in header
	body   []byte
}

// newTemplate builds the message for cfg. Its size is cfg.Size, or the
// header's size when cfg.Size is smaller than the header alone.
func newTemplate(cfg *Config, runID string, date time.Time) *template {
	t := &template{}
	t.buildHeader(cfg, runID, date, 0)
	rest := cfg.Size - len(t.header)
	if rest == 1 {
		// A body line is at least CRLF: grow the Subject by one byte.
		t.buildHeader(cfg, runID, date, 1)
		rest = 0
	}
	if rest > 0 {
		t.body = makeBody(rest)
	}
	return t
}

// buildHeader writes From, To, Subject, Date and Message-ID; pad extra
// bytes go at the end of the Subject.
func (t *template) buildHeader(cfg *Config, runID string, date time.Time, pad int) {
	var b strings.Builder
	zero := strings.Repeat("0", seqWidth)
	fmt.Fprintf(&b, "From: <%s>\r\n", cfg.From)
	for i, to := range cfg.To {
		switch {
		case len(cfg.To) == 1:
			fmt.Fprintf(&b, "To: <%s>\r\n", to)
		case i == 0:
			fmt.Fprintf(&b, "To: <%s>,\r\n", to)
		case i == len(cfg.To)-1:
			fmt.Fprintf(&b, " <%s>\r\n", to) // folded (RFC 5322 §2.2.3)
		default:
			fmt.Fprintf(&b, " <%s>,\r\n", to)
		}
	}
	var seqAt []int
	b.WriteString("Subject: " + cfg.Tag + " ")
	seqAt = append(seqAt, b.Len())
	b.WriteString(zero + strings.Repeat("-", pad) + "\r\n")
	b.WriteString("Date: " + date.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: <")
	seqAt = append(seqAt, b.Len())
	b.WriteString(zero + "." + runID + "@posthorn-bench.invalid>\r\n")
	b.WriteString("\r\n")
	t.header = []byte(b.String())
	t.seqAt = seqAt
}

// makeBody returns n bytes (n >= 2) of CRLF-ended 7-bit lines of at most
// bodyLineChars characters.
func makeBody(n int) []byte {
	body := make([]byte, 0, n)
	for line := 0; n > 0; line++ {
		l := min(n, bodyLineChars+2)
		if n-l == 1 {
			l-- // leave 2 bytes, an empty line, rather than an impossible 1
		}
		for i := range l - 2 {
			body = append(body, bodyAlphabet[(line+i)%len(bodyAlphabet)])
		}
		body = append(body, '\r', '\n')
		n -= l
	}
	return body
}

// size is the message's length in bytes, without the final ".\r\n".
func (t *template) size() int { return len(t.header) + len(t.body) }

// message is one worker's copy of the header; only the sequence changes.
type message struct {
	t      *template
	header []byte
}

func (t *template) forWorker() *message {
	return &message{t: t, header: append([]byte(nil), t.header...)}
}

// setSeq writes seq, zero-padded, into every sequence field.
func (m *message) setSeq(seq int) {
	for _, at := range m.t.seqAt {
		v := seq
		for i := at + seqWidth - 1; i >= at; i-- {
			m.header[i] = byte('0' + v%10)
			v /= 10
		}
	}
}

// writeTo buffers the message (no end-of-data marker) in w.
func (m *message) writeTo(w *bufio.Writer) error {
	if _, err := w.Write(m.header); err != nil {
		return err
	}
	_, err := w.Write(m.t.body)
	return err
}
