package smtpclient

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/smtp"
)

// txnOutcome says what a transaction left behind.
type txnOutcome int

const (
	txnDone   txnOutcome = iota // recipients decided; the connection is reusable
	txnBroken                   // recipients decided; close the connection
	txnRetry                    // nothing decided: try another connection
)

// stepKind is the command a pipelined reply answers.
type stepKind int

const (
	stepRSET stepKind = iota
	stepMAIL
	stepRCPT
	stepDATA
)

type step struct {
	kind    stepKind
	line    string
	timeout time.Duration
	rcpt    int // index into the envelope, for stepRCPT
}

// txn is the state of one transaction while its replies come in.
type txn struct {
	c        *conn
	res      *Result
	idx      []int
	accepted []int
	mailOK   bool
	decided  bool // some recipient's result was set
	dataOK   bool // 354 received
}

// transact runs one mail transaction for the recipients idx on c.
func (cl *Client) transact(ctx context.Context, c *conn, m *message, idx []int, res *Result) (txnOutcome, error) {
	t := &txn{c: c, res: res, idx: idx}
	plan, size, failure := cl.decide(ctx, c, m)
	if failure != nil {
		t.failAll(failure)
		return txnDone, nil
	}
	rc, err := m.body.Open()
	if err != nil {
		t.failAll(localFailure("4.3.0", "cannot read the queued message", "", err))
		return txnDone, nil
	}
	defer rc.Close()
	steps := cl.steps(c, m, idx, plan, size)
	c.txns++
	if out, err := cl.exchange(t, steps); out != txnDone || !t.dataOK {
		return out, err
	}
	res.Converted = plan != nil
	res.PeerDSN = c.ext.dsn
	if err := cl.sendBody(ctx, c, rc, plan); err != nil {
		t.failAccepted(ioFailure(c.host, "while sending the message", err))
		return txnBroken, nil
	}
	rep, err := c.read(cl.cfg.DataTermTimeout)
	if err != nil {
		// RFC 5321 §6.1: the peer may have taken it; a duplicate is
		// better than a loss.
		t.failAccepted(ioFailure(c.host, "waiting for the reply to the final dot", err))
		return txnBroken, nil
	}
	for _, i := range t.accepted {
		res.setReply(i, rep, c.host)
	}
	if rep.Code == smtp.C421ServiceUnavail {
		return txnBroken, nil
	}
	return txnDone, nil
}

// decide checks what the peer's extensions allow: SMTPUTF8, 8BITMIME (or
// a conversion plan), SIZE. A non-nil failure applies to every recipient.
func (cl *Client) decide(ctx context.Context, c *conn, m *message) (plan *conversion, size int64, failure error) {
	if m.utf8 && !c.ext.smtputf8 {
		return nil, 0, localFailure("5.6.7", "the message needs SMTPUTF8 (RFC 6531: internationalized addresses or headers) and the receiving server does not offer it", c.host, nil)
	}
	size = m.body.Size
	if m.env.eightBit() && (!c.ext.eightBit || m.env.BodyType == BodyBinaryMIME) {
		cv := m.convert(ctx)
		if cv.err != nil {
			return nil, 0, cv.err
		}
		if cv.needed {
			plan, size = cv, cv.size
		}
	}
	if c.ext.size > 0 && size > c.ext.size {
		return nil, 0, localFailure("5.3.4", "message of "+strconv.FormatInt(size, 10)+" octets exceeds the receiving server's limit of "+strconv.FormatInt(c.ext.size, 10), c.host, nil)
	}
	return plan, size, nil
}

// steps builds the commands of a transaction: RSET on a used connection,
// MAIL with its parameters, one RCPT per recipient, and DATA when the
// peer pipelines (RFC 2920 §3.1: DATA may end a group).
func (cl *Client) steps(c *conn, m *message, idx []int, plan *conversion, size int64) []step {
	var s []step
	if c.txns > 0 {
		s = append(s, step{kind: stepRSET, line: "RSET", timeout: cl.cfg.CommandTimeout})
	}
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + m.env.From + ">")
	if c.ext.sizeOK {
		b.WriteString(" SIZE=" + strconv.FormatInt(size, 10))
	}
	if m.env.eightBit() && plan == nil && c.ext.eightBit {
		b.WriteString(" BODY=8BITMIME")
	}
	if m.utf8 {
		b.WriteString(" SMTPUTF8")
	}
	if c.ext.dsn {
		if r := strings.ToUpper(m.env.Ret); r == "FULL" || r == "HDRS" {
			b.WriteString(" RET=" + r)
		}
		if m.env.EnvID != "" {
			b.WriteString(" ENVID=" + xtext(m.env.EnvID))
		}
	}
	s = append(s, step{kind: stepMAIL, line: b.String(), timeout: cl.cfg.MailTimeout})
	for _, i := range idx {
		r := &m.env.Rcpts[i]
		line := "RCPT TO:<" + r.Addr + ">"
		if c.ext.dsn {
			if r.Notify != "" {
				line += " NOTIFY=" + strings.ToUpper(r.Notify)
			}
			line += orcptParam(r.ORCPT, m.utf8)
		}
		s = append(s, step{kind: stepRCPT, line: line, timeout: cl.cfg.RcptTimeout, rcpt: i})
	}
	return append(s, step{kind: stepDATA, line: "DATA", timeout: cl.cfg.DataInitTimeout})
}

// exchange sends the steps (all at once when the peer pipelines) and
// reads their replies in order.
func (cl *Client) exchange(t *txn, steps []step) (txnOutcome, error) {
	c := t.c
	if c.ext.pipelining {
		for _, s := range steps {
			c.send(s.line)
		}
		if err := c.flush(cl.cfg.CommandTimeout); err != nil {
			return t.ioError(steps[0], err)
		}
	}
	for _, s := range steps {
		if !c.ext.pipelining {
			if !t.mailOK && s.kind != stepRSET && s.kind != stepMAIL || s.kind == stepDATA && len(t.accepted) == 0 {
				return txnDone, nil
			}
			c.send(s.line)
			if err := c.flush(s.timeout); err != nil {
				return t.ioError(s, err)
			}
		}
		rep, err := c.read(s.timeout)
		if err != nil {
			return t.ioError(s, err)
		}
		if out, err, stop := t.reply(s, rep); stop {
			return out, err
		}
	}
	return txnDone, nil
}

// reply handles the reply to one step; stop ends the exchange.
func (t *txn) reply(s step, rep smtp.Reply) (out txnOutcome, err error, stop bool) {
	c := t.c
	gone := rep.Code == smtp.C421ServiceUnavail
	switch s.kind {
	case stepRSET:
		if rep.Code != smtp.C250OK {
			return txnRetry, replyFailure(rep, c.host), true
		}
	case stepMAIL:
		if gone {
			return txnRetry, replyFailure(rep, c.host), true
		}
		t.mailOK = rep.Code == smtp.C250OK
		if !t.mailOK {
			t.failAll(replyFailure(rep, c.host))
		}
	case stepRCPT:
		if !t.mailOK {
			break // already decided by MAIL's reply
		}
		t.res.setReply(s.rcpt, rep, c.host)
		t.decided = true
		if rep.Code == smtp.C250OK || rep.Code == smtp.C251UserNotLocal {
			t.res.Rcpts[s.rcpt].Err = errPending
			t.accepted = append(t.accepted, s.rcpt)
		}
		if gone {
			t.failAccepted(replyFailure(rep, c.host))
			return txnBroken, nil, true
		}
	case stepDATA:
		if rep.Code == smtp.C354StartData {
			if len(t.accepted) == 0 {
				// A server that takes DATA without recipients is broken;
				// sending "." would make an empty delivery.
				return txnBroken, nil, true
			}
			t.dataOK = true
			return txnDone, nil, true
		}
		if len(t.accepted) > 0 {
			t.failAccepted(replyFailure(rep, c.host))
		}
		if gone {
			return txnBroken, nil, true
		}
	}
	return txnDone, nil, false
}

// errPending marks a recipient accepted by RCPT whose outcome waits for
// the reply to the final dot; it never leaves transact.
var errPending = localFailure("4.4.2", "transaction not completed", "", nil)

// ioError ends an exchange that lost the connection. Before any result
// was set nothing is decided, so another connection may try; after, the
// recipients still open fail temporarily.
func (t *txn) ioError(s step, err error) (txnOutcome, error) {
	f := ioFailure(t.c.host, "after "+strings.SplitN(s.line, " ", 2)[0], err)
	if !t.decided && (s.kind == stepRSET || s.kind == stepMAIL || !t.mailOK && !t.c.ext.pipelining) {
		return txnRetry, f
	}
	for _, i := range t.idx {
		if r := &t.res.Rcpts[i]; r.Err == errPending || r.Err == nil && r.Code == 0 {
			t.res.setErr(i, f)
		}
	}
	return txnBroken, nil
}

func (t *txn) failAll(err error) {
	for _, i := range t.idx {
		t.res.setErr(i, err)
	}
	t.decided = true
}

func (t *txn) failAccepted(err error) {
	for _, i := range t.accepted {
		t.res.setErr(i, err)
	}
	t.accepted = nil
}

// sendBody streams the message (converted when plan is set) through the
// dot-stuffing writer; each block written gets DataBlockTimeout.
func (cl *Client) sendBody(ctx context.Context, c *conn, r io.Reader, plan *conversion) error {
	c.wtimeout = cl.cfg.DataBlockTimeout
	dw := smtp.NewDotWriter(c.bw)
	var err error
	if plan != nil {
		err = plan.write(ctx, r, dw)
	} else {
		_, err = io.Copy(dw, r)
	}
	if err != nil {
		return err
	}
	if err := dw.Close(); err != nil {
		return err
	}
	return c.flush(cl.cfg.DataBlockTimeout)
}

// xtext encodes s as RFC 3461 §4 xtext, escaping every octet outside
// "!" to "~" as well as "+" and "=".
func xtext(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '!' && c <= '~' && c != '+' && c != '=' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('+')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// orcptParam formats ORCPT=addr-type;xtext (RFC 3461 §4.2). A UTF-8
// address goes out only in an SMTPUTF8 transaction (RFC 6533 lets UTF-8
// through xtext there); otherwise it is left out, as the parameter is
// optional.
func orcptParam(orcpt string, utf8 bool) string {
	typ, addr, ok := strings.Cut(orcpt, ";")
	if !ok || typ == "" || addr == "" || !isASCII(typ) {
		return ""
	}
	if isASCII(addr) {
		return " ORCPT=" + typ + ";" + xtext(addr)
	}
	if !utf8 {
		return ""
	}
	return " ORCPT=" + typ + ";" + smtp.EncodeXtext(addr)
}
