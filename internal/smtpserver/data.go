package smtpserver

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/smtp"
)

// copyPool holds the buffers message data is copied through.
var copyPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// txWriter passes data to the transaction and remembers the first write
// error; after one it swallows the rest, so that the session still reads
// the data to its end and stays in step.
type txWriter struct {
	t   Transaction
	n   int64
	err error
}

func (w *txWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if w.err == nil {
		if _, err := w.t.Write(p); err != nil {
			w.err = err
		}
	}
	return len(p), nil
}

// dataAllowed checks the state for DATA or BDAT and answers when it is
// wrong. RFC 5321 §3.3 allows 503 or 554 when no recipient was accepted;
// posthorn sends 554 5.5.1 "No valid recipients" (MAIL was given, RCPT was
// tried) and 503 5.5.1 when MAIL is missing.
func (s *session) dataAllowed() bool {
	switch {
	case s.tx == nil:
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "Need MAIL and RCPT before DATA")
	case len(s.tx.rcpts) == 0:
		s.reply(smtp.C554TransactionFai, smtp.E551InvalidCommand, "No valid recipients")
	default:
		return true
	}
	return false
}

// cmdData receives a message with DATA (RFC 5321 §4.1.1.4). A returned
// error (read failure) ends the session.
func (s *session) cmdData(arg string) error {
	if arg != "" {
		s.reply(smtp.C501ParamSyntax, smtp.E554InvalidArgs, "DATA takes no arguments")
		return nil
	}
	if !s.dataAllowed() {
		return nil
	}
	switch {
	case s.tx.bdat != nil: // RFC 3030 §2: DATA and BDAT do not mix
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "DATA not allowed after BDAT")
		return nil
	case s.tx.opts.Body == "BINARYMIME": // RFC 3030 §3
		s.reply(smtp.C503BadSequence, smtp.E551InvalidCommand, "BODY=BINARYMIME requires BDAT")
		return nil
	}
	s.replyRaw(smtp.C354StartData, "", "Start mail input; end with <CRLF>.<CRLF>")
	s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeouts.DataInit))
	if err := s.flush(); err != nil {
		return err
	}
	w := &txWriter{t: s.tx.t}
	s.writeReceived(w)
	s.beginData()
	dr := smtp.NewDotReader(s.br, s.cfg.MaxMessageSize)
	bp := copyPool.Get().(*[]byte)
	s.inData = true
	_, err := io.CopyBuffer(w, dr, *bp)
	s.inData = false
	copyPool.Put(bp)
	s.shrinkReader()
	switch {
	case errors.Is(err, smtp.ErrTooBig):
		s.finishTooBig(dr.Size())
		return nil
	case err != nil:
		s.abortTx()
		s.log.Info("smtp DATA read failed", "err", err)
		if isTimeout(err) {
			s.readFailed(err)
		}
		return err
	}
	s.finishMessage(w)
	return nil
}

// finishTooBig answers a message over the limit: nothing is stored.
func (s *session) finishTooBig(size int64) {
	s.logMessage(s.tx, size, smtp.C552ExceededStor)
	s.abortTx()
	s.reply(smtp.C552ExceededStor, smtp.E534MsgTooBig, "Message too big")
}

// finishMessage commits a fully received message and answers. Only after
// Commit returns nil is it ours; then 250.
func (s *session) finishMessage(w *txWriter) {
	tx := s.tx
	s.tx = nil
	err := w.err
	if err == nil {
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeouts.DataTerm)
		err = tx.t.Commit(ctx)
		cancel()
	}
	if err != nil {
		tx.t.Abort()
		e := replyFor(err, stageData)
		s.log.Warn("smtp message not accepted", "queue_id", tx.t.ID(), "code", e.Code, "err", err)
		s.logMessage(tx, w.n, e.Code)
		s.replyErr(e)
		return
	}
	s.messages++
	s.logMessage(tx, w.n, smtp.C250OK)
	s.reply(smtp.C250OK, smtp.E200Other, "Ok: queued as "+tx.t.ID())
}

func (s *session) logMessage(tx *transaction, size int64, code int) {
	s.srv.m.message(s.cfg.ListenerName, code, size)
	s.log.Info("smtp message", "queue_id", tx.t.ID(), "from", tx.from, "rcpts", len(tx.rcpts), "size", size, "code", code)
}
