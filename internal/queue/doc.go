// Package queue is posthorn's store-and-forward relay queue: it delivers
// the remote recipients that intake committed (one store row per
// recipient), retries temporary failures with exponential backoff, and
// reports failures to the sender with delivery status notifications.
//
// The way of an entry: Runner claims due entries with a lease
// (Store.ClaimDue, owner = this node), holds them in memory per
// destination domain (the "active queue", at most Config.MaxActive
// entries), groups the recipients of one message for one domain (at most
// 100) into one delivery, and hands each group to the Deliverer. At most
// Config.Workers deliveries run at once, and at most
// Config.PerDestination per domain, taken round-robin across domains, so
// one slow domain cannot hold every worker. A domain where no server
// answered twice in a row is "dead" for a while (min(first_retry, 5m)):
// its claimed entries are deferred without a connection, so that a dead
// destination's backlog costs no workers (Postfix's dead-destination
// rule). Delivered entries are removed by a group commit (remover.go):
// the deliveries that finish while one removal transaction runs share
// the next, so a relayed message costs a share of one store write.
//
// Due work is noticed three ways: Kick (this process committed remote
// recipients), the due watch (every Config.WatchInterval, one indexed
// read of the earliest due time: a retry whose time came, `posthorn
// queue retry` from another process, another node's released leases)
// and the scan (Config.ScanInterval, which also samples the queue's
// length for the metrics).
//
// Outcomes, per recipient:
//   - delivered: the entry is removed; a success DSN ("relayed", RFC 3461
//     §6.2) is sent when NOTIFY asks for SUCCESS and the peer did not take
//     the DSN parameters (then it owes the notice itself);
//   - permanent failure (5xx, null MX, ...) or a temporary failure older
//     than max_age: the entry is removed and a failure DSN is sent, unless
//     NOTIFY=NEVER (or NOTIFY lacks FAILURE) or the sender is null;
//   - temporary failure: attempts+1, next attempt after first_retry
//     doubled per attempt up to max_interval, plus up to a tenth at random,
//     and never after the entry expires (RFC 5321 §4.5.4.1); when the
//     recipient's NOTIFY lists DELAY (explicitly: never by default, like
//     Postfix) and the message has waited Config.DelayWarning (4h), its
//     sender gets one delay notice (Action: delayed, Will-Retry-Until),
//     recorded in the entry's stored NOTIFY (delay.go).
//
// A report is an intake.Message committed in the same transaction that
// removes the entries it is about (Store.QueueFail), so it is neither
// lost nor sent twice; the Resolver says whether the sender is a local
// user (its mailbox) or remote (queued like any mail).
//
// DSN format: RFC 3464 message/delivery-status in an RFC 6522
// multipart/report, from "Mail Delivery System <MAILER-DAEMON@hostname>"
// with the null reverse-path, Auto-Submitted: auto-replied (RFC 3834).
// Per recipient: Original-Recipient (ORCPT), Final-Recipient, Action,
// Status (RFC 3463), Remote-MTA, Diagnostic-Code "smtp; <reply>" (or
// "X-Posthorn; <reason>" when no server answered) and Last-Attempt-Date.
// The original is returned whole (message/rfc822) for RET=FULL up to
// Config.ReturnFullMax and without RET up to Config.ReturnDefaultMax,
// else (RET=HDRS, larger messages, BINARYMIME bodies, success notices)
// its header only (text/rfc822-headers). Internationalised messages and
// addresses get the RFC 6533 types (message/global-delivery-status,
// message/global, message/global-headers, utf-8 address type).
//
// Crash safety: a claim moves an entry's next attempt to its lease's
// end, so an entry whose runner died becomes due again by itself; Run
// releases the owner's leases when it starts (after kill -9) and when it
// stops, and renews them every third of the lease while it holds them.
// An outcome that cannot be recorded leaves the entry leased: it is tried
// again later, so a delivery may repeat (RFC 5321 §6.1 accepts that) but
// is never lost.
//
// Left out: adaptive per-destination concurrency (Postfix's
// slow start), destinations per MX host rather than per domain, dead
// destinations shared between nodes, and a check of the lease owner when
// recording outcomes (leases are renewed instead), and a configuration
// key for the delay warning (interface.md's [queue] has none, so the
// server keeps the 4h default).
package queue
