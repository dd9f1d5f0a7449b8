package intake

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

// Message is one accepted message, as the store receives it.
type Message struct {
	ID       string // queue id, unique; NewID makes one
	From     string // envelope reverse-path without <>, "" for the null path
	Arrived  time.Time
	SMTPUTF8 bool   // RFC 6531
	BodyType string // "7BIT", "8BITMIME" or "BINARYMIME" (RFC 6152, RFC 3030)
	EnvID    string // RFC 3461 ENVID, may be empty
	Ret      string // RFC 3461 RET (FULL or HDRS), may be empty
	Local    []LocalRecipient
	Remote   []RemoteRecipient
	// Head is stored in front of Body in every copy: fields added once the
	// whole message was seen (DKIM-Signature), without rewriting the spool.
	Head []byte
	Body *Spool // the full message as stored: trace headers + data, CRLF
}

// LocalRecipient is a copy of the message for a mailbox on this server.
type LocalRecipient struct {
	UserID  int64
	Address string // the recipient address (goes in Delivered-To)
	Mailbox string // "INBOX" normally
	// Prefix is stored before Body in this copy only:
	// "Return-Path: <from>\r\nDelivered-To: addr\r\n".
	Prefix []byte
}

// RemoteRecipient is a recipient the relay queue delivers elsewhere.
type RemoteRecipient struct {
	Address string
	ORCPT   string // RFC 3461 ORCPT, may be empty
	Notify  string // RFC 3461 NOTIFY, may be empty
}

// Committer is implemented by every store.
type Committer interface {
	// CommitBatch stores every message in one transaction: all or
	// nothing, and nil only when durable.
	CommitBatch(ctx context.Context, msgs []*Message) error
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a 16-character queue id: base32 of 32 bits of Unix time
// (seconds, good until 2106) then 48 random bits, so ids sort roughly by
// arrival and a collision needs ~16 million messages in one second.
func NewID() string {
	var b [10]byte
	binary.BigEndian.PutUint32(b[:4], uint32(time.Now().Unix()))
	rand.Read(b[4:]) // never fails (crypto/rand, Go 1.24+)
	return idEncoding.EncodeToString(b[:])
}
