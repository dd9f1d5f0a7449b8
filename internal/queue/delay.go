package queue

import (
	"context"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

// Delay notices (RFC 3461 §4.1 NOTIFY=DELAY, RFC 3464 Action: delayed).
// Like Postfix, one notice per recipient, and only when the sender asked
// for it explicitly: a recipient whose NOTIFY lists DELAY and that is
// still deferred Config.DelayWarning after the message was queued gets
// one "delayed" report at that deferral; the message stays queued.
//
// That the notice was sent is kept in the entry's NOTIFY, where DELAY is
// replaced by delaySentMark (Store.QueueNotifyDelay rewrites it in the
// transaction that commits the report): wantsNotify then no longer finds
// DELAY, and WireNotify gives the next hop the NOTIFY the sender wrote.
// The store schema stays as it is.

// delaySentMark stands for DELAY in a stored NOTIFY once the delay notice
// was sent. It is not an RFC 3461 keyword, so it can never come from a
// client (smtp's parameter parsing refuses unknown NOTIFY values).
const delaySentMark = "X-DELAY-SENT"

// delayNotifier is the optional store method delay notices need (both
// stores should have it; a store without it sends none).
type delayNotifier interface {
	QueueNotifyDelay(ctx context.Context, notify map[int64]string, report *intake.Message) error
}

// WireNotify is the NOTIFY value to send to the next hop for a stored
// one: the sender's own, with DELAY where the queue marked it sent.
func WireNotify(notify string) string {
	if !DelayNoticeSent(notify) {
		return notify
	}
	return replaceNotify(notify, delaySentMark, "DELAY")
}

// DelayNoticeSent reports whether the stored NOTIFY value records a delay
// notice already sent (for `posthorn queue show`).
func DelayNoticeSent(notify string) bool {
	for v := range strings.SplitSeq(notify, ",") {
		if strings.EqualFold(strings.TrimSpace(v), delaySentMark) {
			return true
		}
	}
	return false
}

// replaceNotify replaces the keyword from (any case) by to in a NOTIFY
// list.
func replaceNotify(notify, from, to string) string {
	vs := strings.Split(notify, ",")
	for i, v := range vs {
		if strings.EqualFold(strings.TrimSpace(v), from) {
			vs[i] = to
		}
	}
	return strings.Join(vs, ",")
}

// delayNotice is one delay report about one group's deferred entries.
type delayNotice struct {
	entry    store.QueueEntry // the message's envelope
	notify   map[int64]string // entry id → its NOTIFY with the mark
	statuses []rcptStatus
}

// wantsDelayNotice reports whether a deferral of e at now must tell its
// sender.
func (p *plan) wantsDelayNotice(e store.QueueEntry) bool {
	dw := p.r.cfg.DelayWarning
	return dw > 0 && e.Sender != "" && wantsNotify(e.Notify, "DELAY") && p.now.Sub(e.Created) >= dw
}

// addDelay adds deferred entry e with its result to the group's notice.
func (p *plan) addDelay(dn **delayNotice, e store.QueueEntry, rr RcptResult) {
	if *dn == nil {
		*dn = &delayNotice{entry: e, notify: map[int64]string{}}
	}
	st := p.status(e, rr, actionDelayed, false)
	st.WillRetryUntil = e.Created.Add(p.r.cfg.MaxAge)
	(*dn).statuses = append((*dn).statuses, st)
	(*dn).notify[e.ID] = replaceNotify(e.Notify, "DELAY", delaySentMark)
}

// applyDelay commits one delay notice with the marks of its entries. A
// notice that cannot be made now is tried again at the next deferral;
// a sender that cannot be reached gets none (and is logged each time).
func (p *plan) applyDelay(ctx context.Context, dn *delayNotice) {
	log := p.r.log.With("msg", dn.entry.MsgID)
	dst, ok := p.r.st.(delayNotifier)
	if !ok {
		return
	}
	rep := p.report(dn.entry, dn.statuses)
	msg, err := p.r.buildReport(ctx, dn.entry, rep)
	if err != nil {
		if mailerr.IsPermanent(err) {
			log.Warn("delay notice dropped: the sender cannot be reached", "sender", dn.entry.Sender, "err", err)
			p.r.m.report("dropped")
		} else {
			log.Error("making a delay notice; trying again at the next deferral", "err", err)
		}
		return
	}
	defer msg.Body.Close()
	if err := dst.QueueNotifyDelay(ctx, dn.notify, msg); err != nil {
		log.Error("recording a delay notice; trying again at the next deferral", "err", err)
		return
	}
	p.r.m.report("delay")
	log.Info("report queued", "report", msg.ID, "to", dn.entry.Sender, "kind", "delay",
		"recipients", len(dn.statuses), "queued_for", p.now.Sub(dn.entry.Created).Round(time.Second))
}
