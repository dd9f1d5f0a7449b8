package smtpclient

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// FuzzConvert feeds arbitrary messages to the 7-bit converter: it must
// not fail except with a classified error, and what it writes must be 7
// bit with lines of at most 998 octets where it re-encoded, and as long
// as it counted.
func FuzzConvert(f *testing.F) {
	f.Add(mixed8bit)
	f.Add("Subject: x\r\n\r\nnaïve\r\n")
	f.Add("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nü\r\n--b--\r\n")
	f.Add("Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nS: é\r\n\r\nx\r\n--d--\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		cv := analyse(context.Background(), bodyOf(msg))
		if cv.err != nil {
			if ReplyOf(cv.err) == nil {
				t.Fatalf("unclassified error %v", cv.err)
			}
			return
		}
		if !cv.needed {
			return
		}
		var out bytes.Buffer
		if err := cv.write(context.Background(), strings.NewReader(msg), &out); err != nil {
			t.Fatal(err)
		}
		if int64(out.Len()) != cv.size {
			t.Fatalf("counted %d, wrote %d", cv.size, out.Len())
		}
		for i, c := range out.Bytes() {
			if c >= 0x80 {
				t.Fatalf("8-bit octet at %d in %q", i, out.String())
			}
		}
	})
}
