package imapwire

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestReadCommand(t *testing.T) {
	tests := []struct {
		name, in string
		text     string
		lits     []string
		conts    int
		err      error
	}{
		{"plain", "a1 NOOP\r\n", "a1 NOOP", nil, 0, nil},
		{"bare LF", "a1 NOOP\n", "a1 NOOP", nil, 0, nil},
		{"sync literal", "a1 LOGIN {5}\r\nalice secret\r\n", "a1 LOGIN {5} secret", []string{"alice"}, 1, nil},
		{"literal+", "a1 LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n", "a1 LOGIN {5+} {6+}", []string{"alice", "secret"}, 0, nil},
		{"binary", "a APPEND x ~{3}\r\na\x00b\r\n", "a APPEND x ~{3}", []string{"a\x00b"}, 1, nil},
		{"too long", "a1 " + strings.Repeat("x", 100) + "\r\na2 NOOP\r\n", "", nil, 0, ErrLineTooLong},
		{"literal too big", "a1 APPEND x {1000}\r\n", "", nil, 0, &LiteralError{}},
		{"eof", "a1 NOO", "", nil, 0, errors.New("eof")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bufio.NewReader(strings.NewReader(tc.in)), Limits{MaxLine: 50, MaxLiteral: 100})
			conts := 0
			l, err := r.ReadCommand(func() error { conts++; return nil })
			if tc.err != nil {
				if err == nil {
					t.Fatalf("want error, got %q", l.Text)
				}
				var le *LiteralError
				if _, ok := tc.err.(*LiteralError); ok && !errors.As(err, &le) {
					t.Errorf("want LiteralError, got %v", err)
				}
				if tc.err == ErrLineTooLong {
					if !errors.Is(err, ErrLineTooLong) {
						t.Errorf("want ErrLineTooLong, got %v", err)
					}
					// The session stays in step: the next line reads.
					l, err := r.ReadCommand(func() error { return nil })
					if err != nil || string(l.Text) != "a2 NOOP" {
						t.Errorf("after long line: %v %q", err, l)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(l.Text) != tc.text || conts != tc.conts || len(l.Literals) != len(tc.lits) {
				t.Fatalf("got %q %q conts %d", l.Text, l.Literals, conts)
			}
			for i := range tc.lits {
				if string(l.Literals[i]) != tc.lits[i] {
					t.Errorf("literal %d: %q", i, l.Literals[i])
				}
			}
		})
	}
}

func TestDecoder(t *testing.T) {
	l := &Line{Text: []byte(`"a \"q\" \\b" atom {3} NIL (\Seen $x) 1:3,5,*,7:* 42`), Literals: [][]byte{[]byte("lit")}}
	d := NewDecoder(l)
	if s := d.String(); s != `a "q" \b` {
		t.Errorf("quoted: %q", s)
	}
	d.SP()
	if s := d.AString(); s != "atom" {
		t.Errorf("atom: %q", s)
	}
	d.SP()
	if s := d.AString(); s != "lit" {
		t.Errorf("literal: %q", s)
	}
	d.SP()
	if _, ok := d.NString(); ok {
		t.Error("NIL read as a string")
	}
	d.SP()
	if f := d.FlagList(false); strings.Join(f, ",") != `\Seen,$x` {
		t.Errorf("flags: %q", f)
	}
	d.SP()
	set := d.SeqSet()
	d.SP()
	if n := d.Number(); n != 42 || !d.End() {
		t.Errorf("number %d, err %v", n, d.Err())
	}
	rs := set.Resolve(10)
	for n, want := range map[uint32]bool{1: true, 3: true, 4: false, 5: true, 6: false, 7: true, 10: true} {
		if Contains(rs, n) != want {
			t.Errorf("seq %d in set: %v", n, !want)
		}
	}
	for _, bad := range []string{`"unterminated`, "0:3", `"a\x"`, "{3}", "(\\Seen"} {
		d := NewDecoder(&Line{Text: []byte(bad)})
		switch bad[0] {
		case '"', '{':
			_ = d.String()
		case '(':
			d.FlagList(false)
		default:
			d.SeqSet()
		}
		if d.Err() == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestUTF7(t *testing.T) {
	for utf, enc := range map[string]string{
		"INBOX": "INBOX", "Äpfel": "&AMQ-pfel", "a&b": "a&-b", "日本語": "&ZeVnLIqe-", "~peter/mail/台北/日本語": "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	} {
		if got := EncodeUTF7(utf); got != enc {
			t.Errorf("EncodeUTF7(%q) = %q, want %q", utf, got, enc)
		}
		if got, err := DecodeUTF7(enc); err != nil || got != utf {
			t.Errorf("DecodeUTF7(%q) = %q, %v", enc, got, err)
		}
	}
	for _, bad := range []string{"&AGE-", "&Jjo", "a\x80"} {
		if _, err := DecodeUTF7(bad); err == nil {
			t.Errorf("DecodeUTF7(%q): no error", bad)
		}
	}
}

func TestAppendSetAndStrings(t *testing.T) {
	if got := string(AppendSet(nil, []uint32{1, 2, 3, 5, 7, 8})); got != "1:3,5,7:8" {
		t.Errorf("AppendSet: %q", got)
	}
	for in, want := range map[string]string{"a b": `"a b"`, `q"`: `"q\""`, "x\r\ny": "{4}\r\nx\r\ny", "ü": "{2}\r\nü"} {
		if got := string(AppendString(nil, in, false)); got != want {
			t.Errorf("AppendString(%q) = %q, want %q", in, got, want)
		}
	}
	if got := string(AppendAString(nil, "nil", false)); got != `"nil"` {
		t.Errorf("AppendAString(nil) = %q", got)
	}
}

// FuzzReadCommand reads and decodes arbitrary input without panicking or
// exceeding limits.
func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{"a1 NOOP\r\n", "a LOGIN {3}\r\nabc {2+}\r\nde\r\n", `a SEARCH "x\"y" 1:*,$` + "\r\n", "~{2}\r\n\x00\x00\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bufio.NewReader(strings.NewReader(string(in))), Limits{MaxLine: 1000, MaxLiteral: 1000})
		for range 10 {
			l, err := r.ReadCommand(func() error { return nil })
			if err != nil {
				if errors.Is(err, ErrLineTooLong) {
					continue
				}
				return
			}
			if len(l.Text) > 4000 {
				t.Fatalf("text over the limit: %d", len(l.Text))
			}
			d := NewDecoder(l)
			for i := 0; i < 100 && d.Err() == nil && !d.AtEnd(); i++ {
				switch d.Peek() {
				case '(':
					d.FlagList(false)
				case '"', '{', '~':
					_ = d.String()
				case ' ':
					d.SP()
				default:
					if IsSeqSetStart(d.Peek()) {
						d.SeqSet()
					} else {
						d.AString()
					}
				}
			}
		}
	})
}

func FuzzUTF7(f *testing.F) {
	f.Add("&AMQ-pfel")
	f.Add("a&-b")
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := DecodeUTF7(s)
		if err != nil {
			return
		}
		if again, err := DecodeUTF7(EncodeUTF7(dec)); err != nil || again != dec {
			t.Fatalf("round trip of %q: %q, %v", dec, again, err)
		}
	})
}
