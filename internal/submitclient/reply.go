package submitclient

import "github.com/posthorn/posthorn/internal/smtp"

// A user agent talks to one submission server: a reply of more than 100
// lines is not one it needs to read.
const maxReplyLines = 100

// ErrMalformed reports a reply (or a dialog) that is not SMTP.
var ErrMalformed = smtp.ErrMalformedReply

func readReply(lr *smtp.LineReader) (smtp.Reply, error) { return smtp.ReadReply(lr, maxReplyLines) }
