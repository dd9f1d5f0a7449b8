// Package mailerr is the error class that every layer of posthorn wraps
// and each protocol maps to its own reply: SMTP to a reply code and an
// enhanced status code (RFC 3463), POP3 and IMAP to -ERR/NO with a
// response code.
//
// An error is temporary unless marked permanent: a failure we do not
// understand must make the client retry, never lose mail.
package mailerr

import (
	"errors"
	"fmt"
)

// Reason says why an operation failed, in terms a protocol can map.
type Reason int

const (
	Unknown     Reason = iota // internal failure: temporary
	Unavailable               // store or network unreachable: temporary
	DiskFull                  // no space for the data: temporary
	OverQuota                 // the mailbox is over its quota
	NoSuchUser                // no such local user or mailbox
	NotLocal                  // the domain is not ours (relay needed)
	Policy                    // refused by policy (relay, rate, sender)
	TooBig                    // message over the size limit
	BadInput                  // syntax or content that cannot be accepted
	InUse                     // a lock is held by another session
	AuthFailed                // credentials did not match
	Exists                    // the object already exists
)

var reasonNames = [...]string{"unknown", "unavailable", "disk full", "over quota",
	"no such user", "not local", "policy", "too big", "bad input", "in use",
	"authentication failed", "exists"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Error carries the class and reason of a failure; Err is the cause that
// gets logged, Msg the text a client may see.
type Error struct {
	Permanent bool
	Reason    Reason
	Msg       string
	Err       error
}

func (e *Error) Error() string {
	s := e.Msg
	if s == "" {
		s = e.Reason.String()
	}
	if e.Err != nil {
		return s + ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary makes a temporary error with a reason and a client-visible text.
func Temporary(r Reason, msg string, cause error) *Error {
	return &Error{Reason: r, Msg: msg, Err: cause}
}

// Permanent makes a permanent error with a reason and a client-visible text.
func Permanent(r Reason, msg string, cause error) *Error {
	return &Error{Permanent: true, Reason: r, Msg: msg, Err: cause}
}

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ReasonOf returns the reason in err's chain, Unknown if there is none.
func ReasonOf(err error) Reason {
	if e := As(err); e != nil {
		return e.Reason
	}
	return Unknown
}

// IsPermanent reports whether err is marked permanent; unmarked errors are
// temporary.
func IsPermanent(err error) bool {
	e := As(err)
	return e != nil && e.Permanent
}

// Is reports whether err carries reason r.
func Is(err error, r Reason) bool { return err != nil && ReasonOf(err) == r }
