package queue

import (
	"context"
	"io"
	"time"

	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/store"
)

// Deliverer hands one message to the recipients of one destination domain
// (in production: relay routing, then smtpclient). It must return one
// RcptResult per env.Rcpts, in the same order, and must stop when ctx
// ends (the recipients it did not finish are then temporary failures).
type Deliverer interface {
	Deliver(ctx context.Context, domain string, env *Envelope, body Body) Result
}

// Envelope is the SMTP envelope of one delivery (the fields mirror
// smtpclient.Envelope).
type Envelope struct {
	From     string // reverse-path without <>, "" for the null sender
	Rcpts    []Rcpt
	BodyType string // "7BIT" (or ""), "8BITMIME" or "BINARYMIME"
	SMTPUTF8 bool   // RFC 6531
	Ret      string // RFC 3461 RET: "FULL", "HDRS" or ""
	EnvID    string // RFC 3461 ENVID, decoded; "" for none
	MsgID    string // the queue id, for logs
}

// Rcpt is one recipient with its RFC 3461 parameters.
type Rcpt struct {
	Addr   string
	Notify string // "NEVER" or a comma list of SUCCESS, FAILURE, DELAY; "" if absent
	ORCPT  string // "addr-type;address", decoded; "" if absent
}

// Body opens the stored message (from the start, each time it is called)
// and gives its size in octets.
type Body struct {
	Open func() (io.ReadCloser, error)
	Size int64
}

// Result is the outcome of one Deliver.
type Result struct {
	Rcpts []RcptResult // one per Envelope.Rcpts, in order
	// PeerDSN is true when the peer that took the message accepted the
	// DSN parameters: it then owes the success DSNs, not us (RFC 3461
	// §6.2).
	PeerDSN bool
}

// RcptResult is the outcome for one recipient: delivered, or a failure
// that is permanent (bounce now) or temporary (retry later).
type RcptResult struct {
	Rcpt      string
	Delivered bool
	Permanent bool   // a failure that retrying cannot fix (5xx, null MX, ...)
	Code      int    // the SMTP reply that decided; 0 when no server answered
	Enhanced  string // its RFC 3463 status ("5.1.1"); "" lets the queue pick a generic one
	Text      string // the reply text (lines joined with "; ") or the local reason
	Host      string // the remote MTA that answered, "" when none did
}

// Resolver says where a report (a bounce) addressed to addr goes: the
// local users it reaches, or remote (then it is queued like any mail). An
// error marked permanent means nowhere: the report is dropped and logged.
type Resolver interface {
	Resolve(ctx context.Context, addr string) (local []LocalTarget, remote bool, err error)
}

// LocalTarget is a local user a report is delivered to.
type LocalTarget struct {
	UserID  int64
	Address string // the user's address (Delivered-To)
}

// Store is what the runner needs of the store (store/sqlite implements
// it; see there for each method's contract).
type Store interface {
	ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueEntry, error)
	QueueRenew(ctx context.Context, owner string, until time.Time) (int, error)
	QueueRelease(ctx context.Context, owner string, now time.Time) (int, error)
	QueueDelivered(ctx context.Context, ids []int64) error
	QueueDefer(ctx context.Context, ids []int64, next time.Time, lastErr string) error
	QueueFail(ctx context.Context, ids []int64, report *intake.Message) error
	QueueLen(ctx context.Context) (entries, messages int64, err error)
	OpenBody(ctx context.Context, bodyID int64) (io.ReadCloser, error)
}
