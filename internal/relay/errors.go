package relay

import (
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtpclient"
)

// failure makes a routing failure in the form smtpclient results use: a
// *mailerr.Error wrapping a *smtpclient.ReplyError whose Enhanced status
// a DSN reports. The status class decides permanence.
func failure(enhanced string, reason mailerr.Reason, text string, cause error) error {
	re := &smtpclient.ReplyError{Enhanced: enhanced, Text: text, Err: cause}
	if enhanced[0] == '5' {
		return mailerr.Permanent(reason, text, re)
	}
	return mailerr.Temporary(reason, text, re)
}

// dnsFailure is a temporary lookup failure (RFC 3463 X.4.3: directory
// server failure).
func dnsFailure(text string, cause error) error {
	return failure("4.4.3", mailerr.Unavailable, text, cause)
}
