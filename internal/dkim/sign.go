package dkim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/posthorn/posthorn/internal/mailerr"
)

const (
	// MaxHeaderBytes bounds the header block Sign holds in memory.
	MaxHeaderBytes = 1 << 20
	// MaxBlankRun bounds a run of CR and LF octets in the body, which
	// go-msgauth's relaxed canonicalizer holds until the next text
	// (about 500,000 empty lines; no real message comes near).
	MaxBlankRun = 1 << 20
)

// SignedFields are the header fields Sign signs when present (RFC 6376
// §5.4.1's list of fields that matter to a reader); From is also
// oversigned.
var SignedFields = []string{
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "Reply-To", "In-Reply-To",
	"References",
}

// Sign reads a message (RFC 5322, CRLF line ends) from msg once and
// returns the DKIM-Signature header field to put in front of it,
// complete, folded and ending in CRLF. It signs for domain (d=), which
// must be one Load was given.
//
// Errors: ErrNoKey (wrapped, permanent NotLocal) for an unknown domain;
// permanent BadInput for a message without From, a header block over
// MaxHeaderBytes or a blank run over MaxBlankRun; a read error of msg is
// returned wrapped with its own class; ctx's error if it ends first.
func (k *Keys) Sign(ctx context.Context, domain string, msg io.Reader) (string, error) {
	dk, err := k.key(domain)
	if err != nil {
		return "", err
	}
	br := bufio.NewReaderSize(&ctxReader{ctx: ctx, r: msg}, 32<<10)
	hdr, err := readHeader(br)
	if err != nil {
		return "", err
	}
	if hdr.count["from"] == 0 {
		return "", mailerr.Permanent(mailerr.BadInput, "message has no From header field", nil)
	}
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 dk.domain,
		Selector:               dk.selector,
		Signer:                 dk.signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             hdr.signedKeys(),
	})
	if err != nil {
		return "", fmt.Errorf("dkim: %w", err)
	}
	if err := feed(s, hdr, br); err != nil {
		// Close ends the signer's goroutine; its result no longer matters.
		_ = s.Close()
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", fmt.Errorf("dkim: sign: %w", err)
	}
	return s.Signature(), nil
}

// feed writes the header block and streams the body into the signer.
func feed(s *dkim.Signer, hdr *header, body io.Reader) error {
	if _, err := s.Write(hdr.raw); err != nil {
		return fmt.Errorf("dkim: %w", err)
	}
	if !hdr.terminated {
		// A message of header fields only: end its last line and give
		// the signer the empty line it needs; an absent body and an
		// empty one canonicalize alike (RFC 6376 §3.4.4), and relaxed
		// header canonicalization ends every field with CRLF anyway.
		end := "\r\n"
		if n := len(hdr.raw); n > 0 && hdr.raw[n-1] != '\n' {
			end = "\r\n\r\n"
		}
		if _, err := io.WriteString(s, end); err != nil {
			return fmt.Errorf("dkim: %w", err)
		}
		return nil
	}
	g := &blankGuard{w: s}
	if _, err := io.Copy(g, body); err != nil {
		var me *mailerr.Error
		if errors.As(err, &me) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("dkim: read message: %w", err)
	}
	return nil
}

// header is a message's header block as read, with the count of each
// field name (lower-case).
type header struct {
	raw        []byte
	count      map[string]int
	terminated bool // the empty line after the fields was seen
}

// readHeader reads the header block up to and including the empty line,
// at most MaxHeaderBytes.
func readHeader(br *bufio.Reader) (*header, error) {
	h := &header{count: make(map[string]int)}
	for {
		line, err := readLine(br, MaxHeaderBytes-len(h.raw))
		h.raw = append(h.raw, line...)
		if err == io.EOF {
			if len(line) > 0 {
				h.countField(line)
			}
			return h, nil
		}
		if err != nil {
			return nil, err
		}
		if string(line) == "\r\n" || string(line) == "\n" {
			h.terminated = true
			return h, nil
		}
		h.countField(line)
	}
}

// readLine returns the next line with its line end, failing if it would
// take more than limit octets. It returns io.EOF with the last partial
// line at the end of input.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > limit {
			return nil, mailerr.Permanent(mailerr.BadInput,
				fmt.Sprintf("message header block over %d octets", MaxHeaderBytes), nil)
		}
		line = append(line, frag...)
		switch {
		case err == nil, err == io.EOF:
			return line, err
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			var me *mailerr.Error
			if errors.As(err, &me) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			return nil, fmt.Errorf("dkim: read message: %w", err)
		}
	}
}

// countField counts the field a line starts; continuation lines (leading
// WSP) and lines without a colon start none.
func (h *header) countField(line []byte) {
	if line[0] == ' ' || line[0] == '\t' {
		return
	}
	name, _, ok := strings.Cut(string(line), ":")
	if !ok {
		return
	}
	h.count[strings.ToLower(strings.TrimSpace(name))]++
}

// signedKeys is the h= list: each field of SignedFields as often as it
// occurs, From once more.
func (h *header) signedKeys() []string {
	var keys []string
	for _, f := range SignedFields {
		n := h.count[strings.ToLower(f)]
		if f == "From" {
			n++
		}
		for range n {
			keys = append(keys, f)
		}
	}
	return keys
}

// blankGuard passes writes through, failing once a run of CR and LF
// octets exceeds MaxBlankRun. Spaces and tabs do not end a run: the
// canonicalizer keeps buffering line ends across them (they are dropped
// as trailing whitespace), so they neither count nor reset.
type blankGuard struct {
	w   io.Writer
	run int
}

func (g *blankGuard) Write(p []byte) (int, error) {
	for _, c := range p {
		switch c {
		case ' ', '\t':
		case '\r', '\n':
			g.run++
			if g.run > MaxBlankRun {
				return 0, mailerr.Permanent(mailerr.BadInput,
					fmt.Sprintf("message body has a run of over %d line-end octets", MaxBlankRun), nil)
			}
		default:
			g.run = 0
		}
	}
	return g.w.Write(p)
}

// ctxReader fails reads once ctx is done, so a slow or endless message
// cannot hold Sign past its deadline.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
