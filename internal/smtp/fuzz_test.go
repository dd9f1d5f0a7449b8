package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"MAIL FROM:<a@b.example> SIZE=10 BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=x+2B",
		"RCPT TO:<@r.example:u@[IPv6:::1]> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40d",
		`MAIL FROM:<"q\"x"@d> AUTH=<>`, "RCPT TO:<postmaster>", "EHLO x", "MAIL FROM: <jö@ü.example> SMTPUTF8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand([]byte(line))
		if err != nil {
			checkErr(t, err)
			return
		}
		switch c.Verb {
		case "MAIL":
			m, err := ParseMail(c.Arg)
			if err != nil {
				checkErr(t, err)
				return
			}
			// A parsed path prints to something that parses to the same.
			if !m.From.IsNull() {
				arg := "FROM:<" + m.From.String() + "> SMTPUTF8"
				m2, err := ParseMail(arg)
				if err != nil || m2.From != m.From {
					t.Fatalf("reparse %q: %+v %v, want %+v", arg, m2.From, err, m.From)
				}
			}
		case "RCPT":
			if _, err := ParseRcpt(c.Arg, strings.Contains(line, "8")); err != nil {
				checkErr(t, err)
			}
		}
	})
}

func checkErr(t *testing.T, err error) {
	var e *Error
	if !errors.As(err, &e) || e.Code < 500 || e.Code > 559 {
		t.Fatalf("error %v is not a 5xx *Error", err)
	}
	if r := e.Reply().String(); strings.Count(r, "\r\n") != 1 {
		t.Fatalf("reply %q is not one line", r)
	}
}

func FuzzDotReader(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "a\n.\n.\r\n", "a\r.\r\r\n.\r\n", "..\r\n.\r\n", ".\r\n", "x\r\n.\rb\r\n.\r\n"} {
		f.Add([]byte(s), uint16(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, max uint16) {
		src := bytes.NewReader(in)
		br := bufio.NewReaderSize(src, 16)
		d := NewDotReader(br, int64(max))
		out, err := io.ReadAll(d)
		consumed := len(in) - br.Buffered() - src.Len()
		bare := 0
		for i := 0; i < consumed; i++ {
			if in[i] == '\n' && (i == 0 || in[i-1] != '\r') || in[i] == '\r' && (i+1 >= len(in) || in[i+1] != '\n') {
				bare++
			}
		}
		if len(out) > consumed+bare {
			t.Fatalf("output %d octets from %d input with %d bare", len(out), consumed, bare)
		}
		if max > 0 && len(out) > int(max) {
			t.Fatalf("output %d over limit %d", len(out), max)
		}
		ended := err == nil || errors.Is(err, ErrTooBig)
		if ended {
			c := in[:consumed]
			if !bytes.Equal(c, []byte(".\r\n")) && !bytes.HasSuffix(c, []byte("\r\n.\r\n")) {
				t.Fatalf("ended after %q", c)
			}
			if errors.Is(err, ErrTooBig) != (max > 0 && d.Size() > int64(max)) {
				t.Fatalf("too big = %v with size %d max %d", err, d.Size(), max)
			}
			if err == nil && !crlfOnly(out) {
				t.Fatalf("bare CR or LF in output %q", out)
			}
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("unexpected error %v", err)
		}
		high := false
		for _, c := range in[:consumed] {
			high = high || c >= 0x80
		}
		if d.EightBit() != high {
			t.Fatalf("EightBit() = %v, input has 8-bit octets: %v", d.EightBit(), high)
		}
		// The output does not depend on how the input is buffered and read.
		d2 := NewDotReader(bufio.NewReaderSize(bytes.NewReader(in), 4096), int64(max))
		var out2 []byte
		var err2 error
		for buf := make([]byte, 7); err2 == nil; {
			var n int
			n, err2 = d2.Read(buf)
			out2 = append(out2, buf[:n]...)
		}
		if errors.Is(err2, io.EOF) {
			err2 = nil
		}
		if !bytes.Equal(out, out2) || !errors.Is(err2, err) && err2 != err {
			t.Fatalf("4096/7 buffers: %q, %v; 16/ReadAll: %q, %v", out2, err2, out, err)
		}
		checkRoundTrip(t, in)
	})
}

// crlfOnly reports whether every CR in b is followed by LF and every LF
// preceded by CR.
func crlfOnly(b []byte) bool {
	for i, c := range b {
		if c == '\r' && (i+1 >= len(b) || b[i+1] != '\n') || c == '\n' && (i == 0 || b[i-1] != '\r') {
			return false
		}
	}
	return true
}
