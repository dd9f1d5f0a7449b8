package submitclient

import (
	"bufio"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/smtp"
)

func lineReader(s string) *smtp.LineReader {
	return &smtp.LineReader{R: bufio.NewReader(strings.NewReader(s))}
}

// FuzzReadReply checks the reply parser never panics, keeps its bounds,
// and that a reply it accepts renders back to the same reply.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\r\n250 b\r\n", "550 5.1.1 x\r\n", "354\r\n", "2\r\n", "250-\n250 \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rep, err := readReply(lineReader(in))
		if err != nil {
			return
		}
		if len(rep.Lines) > maxReplyLines || rep.Code < 200 || rep.Code > 559 {
			t.Fatalf("out of bounds: %+v", rep)
		}
		rep2, err := readReply(lineReader(rep.String()))
		if err != nil {
			t.Fatalf("rendered %q does not parse: %v", rep.String(), err)
		}
		if rep2.Code != rep.Code || rep2.Enhanced != rep.Enhanced {
			t.Fatalf("round trip %+v -> %+v", rep, rep2)
		}
	})
}
