package smtpclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"

	phmime "github.com/posthorn/posthorn/mime"
)

// The 7-bit conversion of RFC 6152 §3 for a peer without 8BITMIME. It
// works in passes over the body, each one streaming it from the start:
// a scan pass finds the leaf parts that need re-encoding (8-bit octets,
// NUL or lines over 998 octets) and refuses what cannot be converted
// (8-bit octets in a header, or in a part already encoded as base64 or
// quoted-printable); a counting pass gives the converted size for SIZE;
// the send pass writes the converted message. Only headers are held in
// memory, one at a time and bounded.
//
// posthorn's mime package parses from an io.ReaderAt and so needs the
// whole message at hand; this converter instead keeps its own minimal
// header and boundary handling and uses mime only for Content-Type.

// Bounds of the conversion: hostile input is normal.
const (
	maxConvDepth  = 50
	maxConvParts  = 10000
	maxConvHeader = 1 << 20
	convBufSize   = 64 << 10
	maxLine       = 998 // RFC 5322 §2.1.1, without CRLF
)

// conversion is the outcome of the scan and counting passes, made once
// per Deliver.
type conversion struct {
	needed bool   // something must change; else the body goes as it is
	plan   []bool // per leaf part in document order: re-encode its body
	size   int64  // size of the converted message
	err    error  // the message cannot be converted (permanent) or read
}

// errConv marks a message that cannot be converted.
var errConv = errors.New("smtpclient: cannot convert to 7 bit")

func convFailure(text string) error {
	return localFailure("5.6.3", "the message cannot be converted to 7 bit for a server without 8BITMIME: "+text, "", errConv)
}

// analyse runs the scan and counting passes.
func analyse(ctx context.Context, body Body) *conversion {
	cv := &conversion{}
	w := &walker{ctx: ctx}
	if err := w.run(body, nil); err != nil {
		cv.err = classifyConvErr(err)
		return cv
	}
	cv.plan = w.plan
	for _, e := range w.plan {
		cv.needed = cv.needed || e
	}
	cv.needed = cv.needed || w.dirty
	if !cv.needed {
		return cv
	}
	var n countWriter
	w = &walker{ctx: ctx, plan: cv.plan, write: true, anyEncode: true}
	if err := w.run(body, &n); err != nil {
		cv.err = classifyConvErr(err)
		return cv
	}
	cv.size = int64(n)
	return cv
}

func classifyConvErr(err error) error {
	if errors.Is(err, errConv) {
		return err
	}
	return localFailure("4.3.0", "cannot read the queued message", "", err)
}

// write is the send pass: the converted message to out.
func (cv *conversion) write(ctx context.Context, r io.Reader, out io.Writer) error {
	w := &walker{ctx: ctx, plan: cv.plan, write: true, anyEncode: true}
	return w.walk(r, out)
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// walker goes through a message once, in scan mode (write false: fills
// plan) or write mode (writes the converted message to w).
type walker struct {
	ctx       context.Context
	r         *bufio.Reader
	w         io.Writer
	write     bool
	anyEncode bool // write mode: add MIME-Version at the top if missing
	plan      []bool
	leaf      int
	dirty     bool // scan: 8-bit octets in a preamble or epilogue
	bol       bool
}

// stop is what ended a part: a delimiter line of the boundary at level
// (an index into the open boundaries), or the end of input (level -1).
type stop struct {
	level int
	close bool
	line  []byte
}

func (w *walker) run(body Body, out io.Writer) error {
	rc, err := body.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return w.walk(rc, out)
}

func (w *walker) walk(r io.Reader, out io.Writer) error {
	w.r = bufio.NewReaderSize(r, convBufSize)
	w.w = out
	w.bol = true
	_, err := w.entity(0, nil, false, true)
	if err == nil && w.write && w.leaf != len(w.plan) {
		err = errors.New("smtpclient: message changed between passes")
	}
	return err
}

// next returns the next fragment of input: a whole line, or a piece of
// one longer than the buffer. bol says it starts a line, eol that it
// ends one. The slice is valid until the next call.
func (w *walker) next() (frag []byte, bol, eol bool, err error) {
	frag, err = w.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || err == io.EOF && len(frag) > 0 {
		err = nil
	}
	if err != nil {
		return nil, false, false, err
	}
	bol = w.bol
	eol = frag[len(frag)-1] == '\n'
	w.bol = eol
	return frag, bol, eol, nil
}

func (w *walker) out(b []byte) error {
	if !w.write {
		return nil
	}
	_, err := w.w.Write(b)
	return err
}

// delimiter checks whether line is a delimiter of one of the open
// boundaries (RFC 2046 §5.1.1), innermost first.
func delimiter(line []byte, bounds []string) (level int, close bool) {
	if len(bounds) == 0 || !bytes.HasPrefix(line, []byte("--")) {
		return -1, false
	}
	line = bytes.TrimRight(line[2:], " \t\r\n")
	for i := len(bounds) - 1; i >= 0; i-- {
		rest, ok := bytes.CutPrefix(line, []byte(bounds[i]))
		if !ok {
			continue
		}
		if len(rest) == 0 {
			return i, false
		}
		if string(rest) == "--" {
			return i, true
		}
	}
	return -1, false
}

// isDelim reads a fragment as a delimiter when it is a whole line.
func isDelim(frag []byte, bol, eol bool, bounds []string) (stop, bool) {
	if !bol || !eol {
		return stop{}, false
	}
	lv, cl := delimiter(frag, bounds)
	if lv < 0 {
		return stop{}, false
	}
	return stop{level: lv, close: cl, line: bytes.Clone(frag)}, true
}

// entity handles one MIME entity: its header, then its body as a
// multipart, an enclosed message or a leaf. digest says the parent is a
// multipart/digest (RFC 2046 §5.1.5); message that the entity is a
// message (the top, or the body of a message/rfc822 part).
func (w *walker) entity(depth int, bounds []string, digest, message bool) (stop, error) {
	if depth > maxConvDepth {
		return stop{}, convFailure("MIME nesting too deep")
	}
	if err := w.ctx.Err(); err != nil {
		return stop{}, err
	}
	h, st, ended, err := w.readHeader(bounds)
	if err != nil {
		return stop{}, err
	}
	ctype, boundary := h.contentType(digest)
	cte := h.transferEncoding()
	composite := cte == "" || cte == "7bit" || cte == "8bit" || cte == "binary"
	switch {
	case strings.HasPrefix(ctype, "multipart/") && boundary != "":
		if err := w.writeHeader(h, message, cte, "7bit", ended); err != nil || ended {
			return st, err
		}
		return w.multipart(depth, bounds, boundary, ctype == "multipart/digest")
	case ctype == "message/rfc822" && composite:
		if err := w.writeHeader(h, message, cte, "7bit", ended); err != nil || ended {
			return st, err
		}
		return w.entity(depth+1, bounds, false, true)
	}
	idx := w.leaf
	w.leaf++
	if w.leaf > maxConvParts {
		return stop{}, convFailure("too many MIME parts")
	}
	encode := w.write && idx < len(w.plan) && w.plan[idx]
	newCTE := ""
	if encode {
		newCTE = phmime.EncBase64
		if strings.HasPrefix(ctype, "text/") {
			newCTE = phmime.EncQuotedPrintable
		}
	}
	if err := w.writeHeader(h, message, cte, newCTE, ended); err != nil || ended {
		if !w.write {
			w.plan = append(w.plan, false)
		}
		return st, err
	}
	return w.leafBody(bounds, composite, cte, newCTE)
}

// To7Bit writes body to out converted to 7 bit (RFC 6152) as it would be
// sent to a peer without 8BITMIME, and reports whether anything changed
// (when not, nothing is written). A signer uses it to sign the form that
// will travel (RFC 6376 §5.3), so the signature survives a relay.
// Errors: a message that cannot be converted is permanent (5.6.3).
func To7Bit(ctx context.Context, body Body, out io.Writer) (bool, error) {
	cv := analyse(ctx, body)
	if cv.err != nil {
		return false, cv.err
	}
	if !cv.needed {
		return false, nil
	}
	rc, err := body.Open()
	if err != nil {
		return false, classifyConvErr(err)
	}
	defer rc.Close()
	if err := cv.write(ctx, rc, out); err != nil {
		return false, classifyConvErr(err)
	}
	return true, nil
}
