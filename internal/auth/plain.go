package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"unicode/utf8"
)

// maxPlainField is RFC 4616 §2's limit: each of authzid, authcid and passwd
// is at most 255 octets.
const maxPlainField = 255

// ErrBadPlain is returned for a SASL PLAIN message that does not follow
// RFC 4616 §2.
var ErrBadPlain = errors.New("auth: malformed SASL PLAIN message")

// DecodePlain splits a SASL PLAIN message (RFC 4616 §2):
//
//	message = [authzid] UTF8NUL authcid UTF8NUL passwd
//
// b may be the decoded octets or the base64 text that SMTP, POP3 and IMAP
// carry: a valid message always holds two NULs and base64 never does, so
// the two cannot be confused. Each field is valid UTF-8 of at most 255
// octets; authcid and passwd are not empty.
func DecodePlain(b []byte) (authzid, user, pass string, err error) {
	if bytes.IndexByte(b, 0) < 0 {
		if len(b) > 4*(3*maxPlainField+2)/3+4 {
			return "", "", "", ErrBadPlain
		}
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
		n, derr := base64.StdEncoding.Decode(dec, bytes.TrimSpace(b))
		if derr != nil {
			return "", "", "", ErrBadPlain
		}
		b = dec[:n]
	}
	f := bytes.Split(b, []byte{0})
	if len(f) != 3 || len(f[1]) == 0 || len(f[2]) == 0 {
		return "", "", "", ErrBadPlain
	}
	for _, x := range f {
		if len(x) > maxPlainField || !utf8.Valid(x) {
			return "", "", "", ErrBadPlain
		}
	}
	return string(f[0]), string(f[1]), string(f[2]), nil
}
