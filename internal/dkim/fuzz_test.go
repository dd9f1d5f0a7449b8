package dkim

import (
	"context"
	"strings"
	"testing"
)

// clean reports whether every CR in s is followed by LF and every LF
// preceded by CR: the messages SMTP can carry (posthorn's dot reader
// refuses the others), for which signing must verify.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r':
			if i+1 >= len(s) || s[i+1] != '\n' {
				return false
			}
		case '\n':
			if i == 0 || s[i-1] != '\r' {
				return false
			}
		}
	}
	return true
}

// FuzzSign signs arbitrary messages: no panic, and whatever a clean,
// complete message signs to must verify with go-msgauth.
func FuzzSign(f *testing.F) {
	f.Add(plainMsg)
	f.Add("From: a@example.test\r\n\r\n")
	f.Add("From: a@example.test\r\nTo: b\r\n c\r\nFrom: d\r\n\r\n  \r\n\r\nx")
	f.Add("from :x\r\n\tcontinued\r\nSubject:\r\n\r\nbody \t\r\n")
	f.Add("\tFrom: x\r\nFrom: y\r\n\r\n")
	f.Add("From: a\nTo: b\n\nbare LF\n")
	f.Add("From: a\r\nSubject: no body")
	k := testKeys(f, "example.test")
	f.Fuzz(func(t *testing.T, msg string) {
		sig, err := k.Sign(context.Background(), "example.test", strings.NewReader(msg))
		if err != nil {
			return
		}
		if !strings.HasPrefix(sig, "DKIM-Signature:") || !strings.HasSuffix(sig, "\r\n") {
			t.Fatalf("bad field %q", sig)
		}
		// go-msgauth's verifier needs the empty line after the header
		// fields, and the body must be SMTP-clean.
		if !clean(msg) || !strings.Contains(msg, "\r\n\r\n") || msg[0] == ' ' || msg[0] == '\t' {
			return
		}
		if v := verify(t, k, sig+msg); v.Err != nil {
			t.Fatalf("signature does not verify: %v\n%q", v.Err, msg)
		}
	})
}

// FuzzParseKey feeds arbitrary key files to the parser.
func FuzzParseKey(f *testing.F) {
	f.Add(testKeyPEM())
	f.Add([]byte(smallRSA))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := parseKey(data)
		if err != nil {
			return
		}
		if publicKeyRecord(key.Public()) == "" {
			t.Fatalf("parsed key %T has no record", key)
		}
	})
}
