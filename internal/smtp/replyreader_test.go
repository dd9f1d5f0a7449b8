package smtp

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func readReplyString(s string) (Reply, error) {
	return ReadReply(&LineReader{R: bufio.NewReader(strings.NewReader(s))}, 0)
}

// FuzzReadReply: the reply parser never panics, keeps its bounds, keeps
// control characters out of the text, and a reply it accepts renders back
// to the same reply.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\r\n250 b\r\n", "550-5.1.1 x\r\n550 5.1.1 y\r\n",
		"354\r\n", "2", "250 2.0\r\n", "421-\n421 \n", "250 a\tb\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rep, err := readReplyString(s)
		if err != nil {
			if rep.Code != 0 {
				t.Fatalf("error with a reply: %v", rep)
			}
			if !errors.Is(err, ErrMalformedReply) && err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if rep.Code < 200 || rep.Code > 559 || len(rep.Lines) == 0 || len(rep.Lines) > MaxReplyLines {
			t.Fatalf("bad reply %+v from %q", rep, s)
		}
		if rep.Enhanced != "" && rep.Enhanced[0] != byte('0'+rep.Code/100) {
			t.Fatalf("enhanced %q with code %d", rep.Enhanced, rep.Code)
		}
		for _, l := range rep.Lines {
			if strings.ContainsAny(l, "\r\n\x00") {
				t.Fatalf("control character in %q", l)
			}
		}
		rep2, err := readReplyString(rep.String())
		if err != nil {
			t.Fatalf("rendered %q does not parse: %v", rep.String(), err)
		}
		if rep2.Code != rep.Code || rep2.Enhanced != rep.Enhanced {
			t.Fatalf("round trip %+v -> %+v", rep, rep2)
		}
	})
}
