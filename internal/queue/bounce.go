package queue

import (
	"context"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// applyRemoval removes entries that are done, committing their report in
// the same transaction. Never a report to the null sender (RFC 5321
// §4.5.5, RFC 3464 §2): a bounce of a bounce is dropped and logged. When
// the report cannot be made for now (the store or the resolver failing
// temporarily), the failed entries are deferred instead of removed, so
// that their bounce is not lost.
func (p *plan) applyRemoval(ctx context.Context, rm removal) {
	log := p.r.log.With("msg", rm.entry.MsgID)
	var msg *intake.Message
	if rm.report != nil {
		if rm.entry.Sender == "" {
			log.Info("no report for a message from the null sender", "recipients", len(rm.report.Rcpts))
			p.r.m.report("dropped")
		} else {
			m, err := p.r.buildReport(ctx, rm.entry, rm.report)
			switch {
			case err == nil:
				msg = m
				defer m.Body.Close()
			case mailerr.IsPermanent(err):
				log.Warn("report dropped: the sender cannot be reached", "sender", rm.entry.Sender, "err", err)
				p.r.m.report("dropped")
			default:
				log.Error("making a report; retrying the failed recipients later", "err", err)
				p.keepFailed(ctx, rm, err)
				return
			}
		}
	}
	var err error
	if msg != nil {
		err = p.r.st.QueueFail(ctx, rm.ids, msg)
	} else {
		err = p.r.rm.remove(ctx, rm.ids)
	}
	if err != nil {
		log.Error("recording delivery outcomes; they are retried when the lease ends", "entries", len(rm.ids), "err", err)
		return
	}
	if msg != nil {
		kind := "failure"
		if !rm.report.failed() {
			kind = "success"
		}
		p.r.m.report(kind)
		log.Info("report queued", "report", msg.ID, "to", rm.entry.Sender, "kind", kind)
	}
	for _, rl := range rm.results {
		log.Info(rl.result, "rcpt", rl.rcpt, "host", rl.rr.Host, "code", rl.rr.Code,
			"status", rl.rr.Enhanced, "text", truncate(rl.rr.Text, 200))
		p.r.m.result(rl.result)
	}
}

// keepFailed is applyRemoval when the report cannot be made: delivered
// entries go, failed ones are deferred to report later.
func (p *plan) keepFailed(ctx context.Context, rm removal, cause error) {
	var done, failed []int64
	for _, rl := range rm.results {
		if rl.result == "delivered" {
			done = append(done, rl.id)
		} else {
			failed = append(failed, rl.id)
		}
	}
	if err := p.r.st.QueueDelivered(ctx, done); err != nil {
		p.r.log.Error("recording deliveries", "err", err)
	}
	next := p.now.Add(p.r.cfg.FirstRetry)
	if err := p.r.st.QueueDefer(ctx, failed, next, truncate("report not made: "+cause.Error(), 500)); err != nil {
		p.r.log.Error("recording a deferral", "err", err)
	}
}

// buildReport makes the DSN message: addressed to the original sender
// (wherever the resolver says that is), from the null reverse-path,
// written into a new spool together with the original message or its
// header.
func (r *Runner) buildReport(ctx context.Context, e store.QueueEntry, rep *report) (*intake.Message, error) {
	local, remote, err := r.res.Resolve(ctx, e.Sender)
	if err != nil {
		return nil, fmt.Errorf("queue: resolving %s: %w", e.Sender, err)
	}
	if len(local) == 0 && !remote {
		return nil, mailerr.Permanent(mailerr.NoSuchUser, "no recipient for "+e.Sender, nil)
	}
	rep.ID = intake.NewID()
	m := &intake.Message{ID: rep.ID, Arrived: rep.Date, SMTPUTF8: rep.UTF8, BodyType: "7BIT"}
	if rep.UTF8 || (rep.Return == returnFull && strings.EqualFold(e.BodyType, "8BITMIME")) {
		m.BodyType = "8BITMIME"
	}
	for _, t := range local {
		m.Local = append(m.Local, intake.LocalRecipient{UserID: t.UserID, Address: t.Address, Mailbox: "INBOX",
			Prefix: []byte("Return-Path: <>\r\nDelivered-To: " + t.Address + "\r\n")})
	}
	if remote {
		m.Remote = []intake.RemoteRecipient{{Address: e.Sender}}
	}
	orig, err := r.st.OpenBody(ctx, e.BodyID)
	if err != nil {
		return nil, fmt.Errorf("queue: opening the original message: %w", temporary(err))
	}
	defer orig.Close()
	sp := r.cfg.NewSpool()
	if err := writeReport(sp, rep, orig); err != nil {
		sp.Close()
		return nil, fmt.Errorf("queue: writing a report: %w", temporary(err))
	}
	m.Body = sp
	return m, nil
}

// temporary keeps err's class unless it claims to be permanent: a body
// that cannot be read now is not a reason to drop a bounce.
func temporary(err error) error {
	if mailerr.IsPermanent(err) {
		return mailerr.Temporary(mailerr.Unavailable, "cannot read the message", err)
	}
	return err
}
