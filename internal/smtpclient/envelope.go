package smtpclient

import (
	"io"
)

// Body types of Envelope.BodyType (RFC 6152, RFC 3030), as the intake
// records them.
const (
	Body7Bit       = "7BIT"
	Body8BitMIME   = "8BITMIME"
	BodyBinaryMIME = "BINARYMIME"
)

// Envelope is the SMTP envelope of one message to one destination.
type Envelope struct {
	From  string // reverse-path without <>, "" for the null sender
	Rcpts []Rcpt
	// BodyType is Body7Bit (or ""), Body8BitMIME or BodyBinaryMIME: it
	// must not claim 7 bit for a body that holds octets >= 0x80 (the
	// intake sees every byte and can tell).
	BodyType string
	SMTPUTF8 bool   // RFC 6531: the message needs SMTPUTF8
	Ret      string // RFC 3461 RET: "FULL", "HDRS" or ""
	EnvID    string // RFC 3461 ENVID, decoded; "" for none
}

// Rcpt is one recipient and its DSN parameters (RFC 3461 §4).
type Rcpt struct {
	Addr   string
	Notify string // "NEVER" or a comma list of SUCCESS, FAILURE, DELAY; "" if absent
	ORCPT  string // "addr-type;address", decoded; "" if absent
}

// Body is the message, readable from the start as often as needed: each
// delivery attempt opens it again and streams it. Size is its length in
// octets (line endings are CRLF).
type Body struct {
	Open func() (io.ReadCloser, error)
	Size int64
}

// isASCII reports whether s holds only 7-bit octets.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// needsUTF8 reports whether the transaction needs SMTPUTF8: the message
// says so, or an address is not ASCII (RFC 6531 §3.4).
func (e *Envelope) needsUTF8() bool {
	if e.SMTPUTF8 || !isASCII(e.From) {
		return true
	}
	for _, r := range e.Rcpts {
		if !isASCII(r.Addr) {
			return true
		}
	}
	return false
}

// eightBit reports whether the body may hold 8-bit octets.
func (e *Envelope) eightBit() bool {
	return e.BodyType == Body8BitMIME || e.BodyType == BodyBinaryMIME
}
