package smtp

import (
	"bytes"
	"testing"
)

func TestReplyAppendTo(t *testing.T) {
	tests := []struct {
		name string
		r    Reply
		want string
	}{
		{"single", Reply{Code: 250, Lines: []string{"Ok"}}, "250 Ok\r\n"},
		{"enhanced", Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"Ok"}}, "250 2.0.0 Ok\r\n"},
		{"multi", Reply{Code: 250, Lines: []string{"mx", "SIZE 10", "HELP"}}, "250-mx\r\n250-SIZE 10\r\n250 HELP\r\n"},
		{"multi enhanced", Reply{Code: 214, Enhanced: "2.0.0", Lines: []string{"a", "b"}}, "214-2.0.0 a\r\n214 2.0.0 b\r\n"},
		{"no lines", Reply{Code: 354}, "354\r\n"},
		{"empty text", Reply{Code: 334, Lines: []string{""}}, "334 \r\n"},
		{"no lines enhanced", Reply{Code: 250, Enhanced: "2.0.0"}, "250 2.0.0\r\n"},
		{"injection cut", Reply{Code: 550, Lines: []string{"no\r\n250 ok"}}, "550 no\r\n"},
		{"control replaced", Reply{Code: 550, Lines: []string{"a\x00b"}}, "550 a?b\r\n"},
		{"bad code", Reply{Code: 99, Lines: []string{"x"}}, "451 x\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.r.AppendTo(nil)); got != tt.want {
				t.Errorf("AppendTo = %q, want %q", got, tt.want)
			}
			var b bytes.Buffer
			n, err := tt.r.WriteTo(&b)
			if err != nil || b.String() != tt.want || n != int64(len(tt.want)) {
				t.Errorf("WriteTo = %q, %d, %v", b.String(), n, err)
			}
		})
	}
}

func TestErrorReply(t *testing.T) {
	e := &Error{Code: 452, Enhanced: "4.5.3", Msg: "Too many recipients"}
	if !e.Temporary() {
		t.Error("452 should be temporary")
	}
	if got := e.Reply().String(); got != "452 4.5.3 Too many recipients\r\n" {
		t.Errorf("Reply = %q", got)
	}
	if got := e.Error(); got != "452 4.5.3 Too many recipients" {
		t.Errorf("Error = %q", got)
	}
}
