package mime

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// writeHeader writes the message header fields.
func (b *Builder) writeHeader(hw *headerWriter) error {
	date := b.Date
	if date.IsZero() {
		date = time.Now()
	}
	hw.field("Date", date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	hw.field("From", b.From.String())
	if b.Sender != nil {
		hw.field("Sender", b.Sender.String())
	}
	if len(b.To) > 0 {
		hw.field("To", addressList(b.To))
	}
	if len(b.Cc) > 0 {
		hw.field("Cc", addressList(b.Cc))
	}
	if len(b.ReplyTo) > 0 {
		hw.field("Reply-To", addressList(b.ReplyTo))
	}
	if b.Subject != "" {
		hw.field("Subject", unstructured(b.Subject))
	}
	id := b.MessageID
	if id == "" {
		tok, err := b.random(16)
		if err != nil {
			return err
		}
		domain := "localhost"
		if at := strings.LastIndexByte(b.From.Address, '@'); at >= 0 && at+1 < len(b.From.Address) {
			domain = b.From.Address[at+1:]
		}
		id = tok + "@" + domain
	}
	hw.field("Message-ID", "<"+id+">")
	if b.InReplyTo != "" {
		hw.field("In-Reply-To", "<"+b.InReplyTo+">")
	}
	if len(b.References) > 0 {
		hw.field("References", "<"+strings.Join(b.References, "> <")+">")
	}
	for _, f := range b.ExtraHeader {
		if f.Name == "" || strings.ContainsAny(f.Name, ": \t\r\n") {
			return fmt.Errorf("mime: bad header field name %q", f.Name)
		}
		hw.field(f.Name, unstructured(f.Value))
	}
	hw.field("MIME-Version", "1.0")
	return hw.err
}

// writeNode writes n's MIME header fields and body; top means the
// message header was written already and ends here.
func writeNode(ctx context.Context, w io.Writer, n *node, top bool) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	hw := &headerWriter{w: w}
	hw.field("Content-Type", withParams(n.ctype, n.params))
	if n.disp != "" {
		hw.field("Content-Disposition", withParams(n.disp, n.dparams))
	}
	if n.cid != "" {
		hw.field("Content-ID", "<"+n.cid+">")
	}
	if len(n.children) == 0 && n.enc != Enc7bit {
		hw.field("Content-Transfer-Encoding", n.enc)
	}
	hw.raw("\r\n")
	total := hw.n
	if hw.err != nil {
		return total, hw.err
	}
	var err error
	var k int64
	switch {
	case len(n.children) > 0:
		k, err = writeChildren(ctx, w, n)
	case n.open != nil:
		k, err = writeStreamed(ctx, w, n.open)
	default:
		var m int
		m, err = w.Write(n.body)
		k = int64(m)
	}
	return total + k, err
}

// writeChildren writes the parts of a multipart between delimiters.
func writeChildren(ctx context.Context, w io.Writer, n *node) (int64, error) {
	var total int64
	write := func(s string) error {
		m, err := io.WriteString(w, s)
		total += int64(m)
		return err
	}
	for i, c := range n.children {
		sep := "\r\n--" + n.boundary + "\r\n"
		if i == 0 {
			sep = sep[2:]
		}
		if err := write(sep); err != nil {
			return total, err
		}
		k, err := writeNode(ctx, w, c, false)
		total += k
		if err != nil {
			return total, err
		}
	}
	return total, write("\r\n--" + n.boundary + "--\r\n")
}

// writeStreamed copies an opened attachment as base64.
func writeStreamed(ctx context.Context, w io.Writer, open func() (io.ReadCloser, error)) (int64, error) {
	rc, err := open()
	if err != nil {
		return 0, fmt.Errorf("mime: opening attachment: %w", err)
	}
	defer rc.Close()
	cw := &countWriter{w: w}
	bw := &base64Lines{w: cw}
	buf := make([]byte, 57*1024)
	for {
		if err := ctx.Err(); err != nil {
			return cw.n, err
		}
		n, rerr := rc.Read(buf)
		if _, err := bw.Write(buf[:n]); err != nil {
			return cw.n, err
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return cw.n, fmt.Errorf("mime: reading attachment: %w", rerr)
		}
	}
	return cw.n, bw.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
