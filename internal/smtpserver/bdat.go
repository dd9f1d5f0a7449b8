package smtpserver

import (
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/smtp"
)

// bdatState is a message arriving in BDAT chunks (RFC 3030).
type bdatState struct {
	w    *txWriter
	sink io.Writer        // w, or a line-ending normaliser over it
	norm *smtp.Normalizer // nil for BODY=BINARYMIME, which is sent as is
	size int64            // chunk octets so far, checked against the limit
}

// parseBdat parses "chunk-size [SP end-marker]" (RFC 3030 §2).
func parseBdat(arg string) (n int64, last bool, ok bool) {
	f := strings.Fields(arg)
	if len(f) == 0 || len(f) > 2 || len(f[0]) > 20 {
		return 0, false, false
	}
	if len(f) == 2 {
		if !strings.EqualFold(f[1], "LAST") {
			return 0, false, false
		}
		last = true
	}
	for _, c := range f[0] {
		if c < '0' || c > '9' {
			return 0, false, false
		}
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	return n, last, err == nil
}

// cmdBdat receives one chunk. The chunk's octets are always read, even
// when the command is refused, so that the session stays in step (RFC
// 3030 §3). A chunk size that cannot be parsed leaves no way to find the
// next command: 501, then the connection is closed.
func (s *session) cmdBdat(arg string) error {
	n, last, ok := parseBdat(arg)
	if !ok {
		s.reply(smtp.C501ParamSyntax, smtp.E554InvalidArgs, "Syntax: BDAT size [LAST]; closing connection")
		s.end = "bad BDAT syntax"
		s.quit = true
		return errQuit
	}
	if s.tx == nil || len(s.tx.rcpts) == 0 {
		if err := s.discard(n); err != nil {
			return err
		}
		s.dataAllowed()
		return nil
	}
	if s.tx.bdat == nil {
		b := &bdatState{w: &txWriter{t: s.tx.t}}
		b.sink = b.w
		if s.tx.opts.Body != "BINARYMIME" {
			b.norm = smtp.NewNormalizer(b.w)
			b.sink = b.norm
		}
		s.writeReceived(b.w)
		s.tx.bdat = b
	}
	b := s.tx.bdat
	if b.size+n > s.cfg.MaxMessageSize {
		if err := s.discard(n); err != nil {
			return err
		}
		s.finishTooBig(b.size + n)
		return nil
	}
	b.size += n
	s.inData = true
	_, err := io.CopyN(b.sink, s.br, n)
	s.inData = false
	if err != nil {
		return s.chunkFailed(err)
	}
	if !last {
		if b.w.err != nil {
			e := replyFor(b.w.err, stageData)
			s.logMessage(s.tx, b.w.n, e.Code)
			s.abortTx()
			s.replyErr(e)
			return nil
		}
		s.reply(smtp.C250OK, smtp.E200Other, strconv.FormatInt(n, 10)+" octets received")
		return nil
	}
	if b.norm != nil {
		b.norm.Close() // errors are kept in b.w
	}
	s.finishMessage(b.w)
	return nil
}

// discard reads and drops n octets of a refused chunk.
func (s *session) discard(n int64) error {
	s.inData = true
	_, err := io.CopyN(io.Discard, s.br, n)
	s.inData = false
	if err != nil {
		return s.chunkFailed(err)
	}
	return nil
}

// chunkFailed handles a read error inside a chunk: the session ends.
func (s *session) chunkFailed(err error) error {
	s.abortTx()
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if isTimeout(err) {
		s.readFailed(err)
	}
	return err
}
