package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/delivery"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtp"
	"github.com/posthorn/posthorn/internal/smtpserver"
)

// maxReceived is the hop count over which a message is taken to be in a
// loop (RFC 5321 §6.3; Postfix's hopcount_limit).
const maxReceived = 50

// smtpBackend joins the SMTP engine to routing and intake: RCPT is
// resolved by the router, the data goes into an intake spool, and Commit
// waits for the group commit. With a submission policy, authenticated
// users may relay and their messages are checked, completed and signed.
type smtpBackend struct {
	router   *delivery.Router
	intake   *intake.Service
	hostname string
	sub      *submission // nil on the MX listener
	kick     func()      // wakes the relay queue after remote recipients were committed
	log      *slog.Logger
}

// forListener returns the backend for a listener: submission listeners get
// the submission policy.
func (b *smtpBackend) forListener(sub *submission) *smtpBackend {
	c := *b
	c.sub = sub
	return &c
}

func (b *smtpBackend) Begin(ctx context.Context, c *smtpserver.ConnInfo, from string, opts smtpserver.MailOptions) (smtpserver.Transaction, error) {
	t := &smtpTxn{b: b, user: c.AuthUser, seen: map[string]bool{}}
	if b.sub != nil && c.AuthUser != "" {
		if err := b.sub.checkSender(ctx, c.AuthUser, from); err != nil {
			return nil, err
		}
		if err := b.sub.limits.message(c.AuthUser); err != nil {
			b.log.Warn("sending limit reached", "user", c.AuthUser, "remote", c.Remote, "limit", "messages per hour")
			return nil, err
		}
	}
	t.msg = &intake.Message{
		ID:       intake.NewID(),
		From:     from,
		SMTPUTF8: opts.SMTPUTF8,
		BodyType: opts.Body,
		EnvID:    opts.EnvID,
		Ret:      opts.Ret,
	}
	return t, nil
}

// smtpTxn is one mail transaction.
type smtpTxn struct {
	b    *smtpBackend
	msg  *intake.Message
	user string          // authenticated user, "" on the MX listener
	seen map[string]bool // targets already added (aliases deduplicate)

	hdr     []byte // the header section while it is being collected
	hdrDone bool
	scan    headerScan
	werr    error
}

func (t *smtpTxn) ID() string { return t.msg.ID }

func (t *smtpTxn) AddRecipient(ctx context.Context, to string, opts smtpserver.RcptOptions) error {
	targets, err := t.b.router.Resolve(ctx, to)
	if mailerr.Is(err, mailerr.NotLocal) && t.user != "" && t.b.sub != nil {
		targets, err = []delivery.Target{{Address: to, Remote: true}}, nil // authenticated relay
	}
	if err != nil {
		return err
	}
	if t.user != "" && t.b.sub != nil {
		if err := t.b.sub.limits.recipient(t.user); err != nil {
			t.b.log.Warn("sending limit reached", "user", t.user, "limit", "recipients per hour")
			return err
		}
	}
	for _, tg := range targets {
		if tg.Remote {
			key := strings.ToLower(tg.Address)
			if t.seen[key] {
				continue
			}
			t.seen[key] = true
			rr := intake.RemoteRecipient{Address: tg.Address}
			if tg.Address == to || len(targets) == 1 {
				rr.Notify, rr.ORCPT = opts.Notify, opts.ORCPT
			}
			t.msg.Remote = append(t.msg.Remote, rr)
			continue
		}
		key := fmt.Sprintf("#%d", tg.UserID)
		if t.seen[key] {
			continue
		}
		t.seen[key] = true
		t.msg.Local = append(t.msg.Local, intake.LocalRecipient{
			UserID:  tg.UserID,
			Address: tg.Address,
			Mailbox: "INBOX",
			Prefix:  tracePrefix(t.msg.From, tg.Address),
		})
	}
	return nil
}

// tracePrefix is what local delivery adds in front of the stored message
// (RFC 5321 §4.4 Return-Path, RFC 9228 Delivered-To).
func tracePrefix(from, to string) []byte {
	var sb strings.Builder
	sb.Grow(len(from) + len(to) + 32)
	sb.WriteString("Return-Path: <")
	sb.WriteString(from)
	sb.WriteString(">\r\nDelivered-To: ")
	sb.WriteString(to)
	sb.WriteString("\r\n")
	return []byte(sb.String())
}

// Write collects the header section (to count hops and, on submission, to
// check and complete it), then streams the rest into the spool.
func (t *smtpTxn) Write(p []byte) (int, error) {
	if t.werr != nil {
		return 0, t.werr
	}
	if t.msg.Body == nil {
		t.msg.Body = t.b.intake.NewSpool()
	}
	if t.hdrDone {
		return t.msg.Body.Write(p)
	}
	t.hdr = append(t.hdr, p...)
	if h, ok := scanHeader(t.hdr, len(t.hdr) >= maxHeaderScan); ok {
		t.werr = t.endHeader(h)
	}
	return len(p), t.werr
}

// endHeader writes the collected header section, completed for
// submission (RFC 6409 §8.1, §8.3: Date and Message-ID).
func (t *smtpTxn) endHeader(h headerScan) error {
	t.scan, t.hdrDone = h, true
	buf := t.hdr
	t.hdr = nil
	if t.user == "" || t.b.sub == nil || (h.hasDate && h.hasMsgID) {
		_, err := t.msg.Body.Write(buf)
		return err
	}
	var add bytes.Buffer
	if !h.hasDate {
		add.WriteString("Date: " + time.Now().Format(time.RFC1123Z) + "\r\n")
	}
	if !h.hasMsgID {
		add.WriteString("Message-ID: <" + strings.ToLower(t.msg.ID) + "@" + t.b.hostname + ">\r\n")
	}
	if !h.terminated {
		add.WriteString("\r\n") // a header-less message gets a header section of its own
	}
	for _, part := range [][]byte{buf[:h.end], add.Bytes(), buf[h.end:]} {
		if _, err := t.msg.Body.Write(part); err != nil {
			return err
		}
	}
	return nil
}

func (t *smtpTxn) Commit(ctx context.Context) error {
	defer t.release()
	if t.msg.Body == nil {
		t.msg.Body = t.b.intake.NewSpool()
	}
	if !t.hdrDone {
		h, _ := scanHeader(t.hdr, true)
		if err := t.endHeader(h); err != nil {
			return err
		}
	}
	if t.scan.received > maxReceived {
		return &smtp.Error{Code: smtp.C554TransactionFai, Enhanced: "5.4.6",
			Msg: fmt.Sprintf("Routing loop detected (%d Received: fields)", t.scan.received)}
	}
	if t.user != "" && t.b.sub != nil {
		if err := t.b.sub.checkFrom(ctx, t.user, t.scan.from); err != nil {
			return err
		}
		if len(t.msg.Remote) > 0 {
			if err := t.b.sub.sign(t.msg, t.scan.from); err != nil {
				return err
			}
		}
	}
	t.msg.Arrived = time.Now()
	if err := t.b.intake.Submit(ctx, t.msg); err != nil {
		return err
	}
	if len(t.msg.Remote) > 0 && t.b.kick != nil {
		t.b.kick()
	}
	return nil
}

func (t *smtpTxn) Abort() { t.release() }

func (t *smtpTxn) release() {
	if t.msg.Body != nil {
		t.msg.Body.Close()
		t.msg.Body = nil
	}
}
