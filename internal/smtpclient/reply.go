package smtpclient

import "github.com/posthorn/posthorn/internal/smtp"

// Replies are parsed by the wire-format package; these names keep the
// client's own bounds in one place.
const (
	maxReplyLine  = smtp.MaxReplyLine
	maxReplyLines = smtp.MaxReplyLines
)

// errBadReply is a reply that is not SMTP: the connection is unusable.
var errBadReply = smtp.ErrMalformedReply

func readReply(lr *smtp.LineReader) (smtp.Reply, error) { return smtp.ReadReply(lr, maxReplyLines) }
