package imapserver

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strconv"

	"github.com/posthorn/posthorn/mime"
)

// summaryVersion tags the summary blob format; a blob of another version
// is recomputed. Bump it whenever the formatting of ENVELOPE or
// BODYSTRUCTURE changes.
const summaryVersion = 1

// summary holds the pre-formatted ENVELOPE, BODYSTRUCTURE and BODY of a
// message, what FETCH of many messages needs without parsing any.
type summary struct {
	envelope, bodyStructure, body []byte
}

// BuildSummary parses the message in r and returns the summary blob that
// Mailbox.SetSummary stores; a store may call it at delivery so that the
// first FETCH is fast too.
func BuildSummary(ctx context.Context, r io.ReaderAt, size int64) ([]byte, error) {
	s, err := computeSummary(ctx, r, size)
	if err != nil {
		return nil, err
	}
	return s.encode(), nil
}

func computeSummary(ctx context.Context, r io.ReaderAt, size int64) (*summary, error) {
	root, err := mime.Parse(ctx, r, size)
	if err != nil {
		return nil, err
	}
	var s summary
	s.envelope = appendEnvelope(nil, &root.Header)
	w := &structWriter{ext: true}
	s.bodyStructure = w.appendPart(nil, root, 0)
	w.ext = false
	s.body = w.appendPart(nil, root, 0)
	return &s, nil
}

func (s *summary) encode() []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen32+len(s.envelope)+len(s.bodyStructure)+len(s.body))
	b = append(b, summaryVersion)
	for _, f := range [][]byte{s.envelope, s.bodyStructure, s.body} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

var errBadSummary = errors.New("imapserver: bad summary blob")

// decodeSummary reads a blob; the parts alias b.
func decodeSummary(b []byte) (*summary, error) {
	var s summary
	if err := decodeSummaryInto(&s, b); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeSummaryInto reads a blob into s; the parts alias b.
func decodeSummaryInto(s *summary, b []byte) error {
	if len(b) == 0 || b[0] != summaryVersion {
		return errBadSummary
	}
	b = b[1:]
	var f [3][]byte
	for i := range f {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return errBadSummary
		}
		f[i] = b[k : k+int(n)]
		b = b[k+int(n):]
	}
	*s = summary{envelope: f[0], bodyStructure: f[1], body: f[2]}
	return nil
}

// fallbackSummary describes a message the MIME parser refused (over its
// limits) as a single application/octet-stream part without envelope.
func fallbackSummary(size int64) *summary {
	bs := []byte(`("application" "octet-stream" NIL NIL NIL "7BIT" ` + strconv.FormatInt(size, 10))
	return &summary{
		envelope:      []byte("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"),
		bodyStructure: append(bs[:len(bs):len(bs)], " NIL NIL NIL NIL)"...),
		body:          append(bs, ')'),
	}
}
