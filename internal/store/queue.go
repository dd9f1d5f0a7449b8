package store

import "time"

// QueueEntry is one remote recipient of one queued message: a row of the
// relay queue. The entries of one message share MsgID, BodyID and the
// envelope fields (Sender, EnvID, Ret, SMTPUTF8, BodyType).
type QueueEntry struct {
	ID       int64
	MsgID    string // the queue id users see (intake.Message.ID)
	BodyID   int64
	Sender   string // envelope reverse-path without <>, "" for the null path
	Rcpt     string
	ORCPT    string // RFC 3461 ORCPT, "addr-type;address" decoded; "" if absent
	Notify   string // RFC 3461 NOTIFY: "NEVER" or a comma list; "" if absent
	EnvID    string // RFC 3461 ENVID, decoded
	Ret      string // RFC 3461 RET: "FULL", "HDRS" or ""
	SMTPUTF8 bool   // RFC 6531
	BodyType string // "7BIT", "8BITMIME" or "BINARYMIME"

	Attempts    int       // delivery attempts that failed temporarily
	NextAttempt time.Time // due at; while leased, the lease's end
	LastError   string    // the last temporary failure, for humans
	Created     time.Time // when the message was queued (max_age counts from it)

	LeaseOwner string    // the node delivering it now, "" when none
	LeaseUntil time.Time // zero when not leased

	Size int64 // the body's size in octets
}
