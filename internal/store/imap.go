package store

import (
	"io"
	"time"
)

// FlagOp says how SetFlags changes a message's flags (IMAP STORE).
type FlagOp int

const (
	FlagsReplace FlagOp = iota // FLAGS
	FlagsAdd                   // +FLAGS
	FlagsRemove                // -FLAGS
)

// MailboxStatus is what IMAP STATUS reports of a mailbox (RFC 9051
// §6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ).
type MailboxStatus struct {
	Messages, Unseen, Deleted uint32
	Size                      int64
	UIDNext, UIDValidity      uint32
	HighestModSeq             uint64
}

// CopyResult is the outcome of a copy or move (RFC 4315 COPYUID):
// Source[i] became Dest[i] in a mailbox with DestUIDValidity.
type CopyResult struct {
	DestUIDValidity uint32
	Source, Dest    []uint32
}

// MessageReaderAt is random access to one message's octets (prefix then
// body, exactly as stored), for IMAP partial fetches.
type MessageReaderAt interface {
	io.ReaderAt
	Size() int64
	Close() error
}

// NewMessage is one message for a batch append (posthorn import): its
// octets (CRLF), flags and internal date.
type NewMessage struct {
	Data  []byte
	Flags []string
	Date  time.Time
}
