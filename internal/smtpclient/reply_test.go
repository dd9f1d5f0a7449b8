package smtpclient

import (
	"bufio"
	"reflect"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/smtp"
)

func readString(s string) (smtp.Reply, error) {
	return readReply(&smtp.LineReader{R: bufio.NewReader(strings.NewReader(s))})
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		in      string
		want    smtp.Reply
		wantErr bool
	}{
		{"250 ok\r\n", smtp.Reply{Code: 250, Lines: []string{"ok"}}, false},
		{"250\r\n", smtp.Reply{Code: 250, Lines: []string{""}}, false},
		{"550 5.1.1 no such user\r\n", smtp.Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"no such user"}}, false},
		{"550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n", smtp.Reply{Code: 550, Enhanced: "5.7.1", Lines: []string{"first", "second", "third"}}, false},
		{"250-mx.test hello\r\n250-PIPELINING\r\n250 SIZE 100\r\n", smtp.Reply{Code: 250, Lines: []string{"mx.test hello", "PIPELINING", "SIZE 100"}}, false},
		{"451 5.1.1 class mismatch\r\n", smtp.Reply{Code: 451, Lines: []string{"5.1.1 class mismatch"}}, false},
		{"250 2.0.0\r\n", smtp.Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{""}}, false},
		{"250 2.0.00000 odd\r\n", smtp.Reply{Code: 250, Lines: []string{"2.0.00000 odd"}}, false},
		{"421 bye\n", smtp.Reply{Code: 421, Lines: []string{"bye"}}, false},
		{"250 ctl\x1b[31m\r\n", smtp.Reply{Code: 250, Lines: []string{"ctl?[31m"}}, false},
		{"250-a\r\n251 b\r\n", smtp.Reply{}, true},
		{"25 short\r\n", smtp.Reply{}, true},
		{"abc def\r\n", smtp.Reply{}, true},
		{"250xok\r\n", smtp.Reply{}, true},
		{"650 bad class\r\n", smtp.Reply{}, true},
		{"260 bad second digit\r\n", smtp.Reply{}, true},
		{"250-unterminated\r\n", smtp.Reply{}, true},
		{"250 " + strings.Repeat("x", maxReplyLine) + "\r\n", smtp.Reply{}, true},
		{strings.Repeat("250-x\r\n", maxReplyLines+1), smtp.Reply{}, true},
	}
	for _, tc := range tests {
		got, err := readString(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseEHLO(t *testing.T) {
	rep := smtp.Reply{Code: 250, Lines: []string{"mx.test", "pipelining", "SIZE 35882577", "8BITMIME", "AUTH=LOGIN", "AUTH PLAIN CRAM-MD5", "DSN", "SMTPUTF8", "STARTTLS", "X-UNKNOWN"}}
	x := parseEHLO(rep)
	if !x.pipelining || !x.eightBit || !x.dsn || !x.smtputf8 || !x.starttls || !x.sizeOK || x.size != 35882577 ||
		!x.auth["LOGIN"] || !x.auth["PLAIN"] || !x.auth["CRAM-MD5"] {
		t.Errorf("parsed %+v", x)
	}
	if y := parseEHLO(smtp.Reply{Code: 250, Lines: []string{"PIPELINING"}}); y.pipelining {
		t.Error("the greeting line was read as a keyword")
	}
}
