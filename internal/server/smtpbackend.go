package server

import (
	"context"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/delivery"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/smtpserver"
)

// smtpBackend joins the SMTP engine to routing and intake: RCPT is
// resolved by the router, the data goes into an intake spool, and Commit
// waits for the group commit.
type smtpBackend struct {
	router *delivery.Router
	intake *intake.Service
}

func (b *smtpBackend) Begin(ctx context.Context, c *smtpserver.ConnInfo, from string, opts smtpserver.MailOptions) (smtpserver.Transaction, error) {
	m := &intake.Message{
		ID:       intake.NewID(),
		From:     from,
		SMTPUTF8: opts.SMTPUTF8,
		BodyType: opts.Body,
		EnvID:    opts.EnvID,
		Ret:      opts.Ret,
	}
	return &smtpTxn{b: b, msg: m, seen: map[int64]bool{}}, nil
}

// smtpTxn is one mail transaction.
type smtpTxn struct {
	b    *smtpBackend
	msg  *intake.Message
	seen map[int64]bool // local users already added (aliases deduplicate)
}

func (t *smtpTxn) ID() string { return t.msg.ID }

func (t *smtpTxn) AddRecipient(ctx context.Context, to string, _ smtpserver.RcptOptions) error {
	targets, err := t.b.router.Resolve(ctx, to)
	if err != nil {
		return err
	}
	for _, tg := range targets {
		if t.seen[tg.UserID] {
			continue
		}
		t.seen[tg.UserID] = true
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

func (t *smtpTxn) Write(p []byte) (int, error) {
	if t.msg.Body == nil {
		t.msg.Body = t.b.intake.NewSpool()
	}
	return t.msg.Body.Write(p)
}

func (t *smtpTxn) Commit(ctx context.Context) error {
	if t.msg.Body == nil {
		t.msg.Body = t.b.intake.NewSpool()
	}
	t.msg.Arrived = time.Now()
	err := t.b.intake.Submit(ctx, t.msg)
	t.release()
	return err
}

func (t *smtpTxn) Abort() { t.release() }

func (t *smtpTxn) release() {
	if t.msg.Body != nil {
		t.msg.Body.Close()
		t.msg.Body = nil
	}
}
