package mime

import (
	"context"
	"strings"
	"testing"
)

func TestHeaderParsing(t *testing.T) {
	tests := []struct {
		name    string
		msg     string
		fields  [][2]string // name, unfolded value
		body    string
		defects []DefectKind
	}{
		{"crlf", "A: 1\r\nB: 2\r\n\r\nbody", [][2]string{{"A", "1"}, {"B", "2"}}, "body", nil},
		{"lf only", "A: 1\nB: 2\n\nbody\n", [][2]string{{"A", "1"}, {"B", "2"}}, "body\n", nil},
		{"folded", "Subject: a\r\n b\r\n\tc\r\n\r\n", [][2]string{{"Subject", "a b\tc"}}, "", nil},
		{"mbox From line", "From alice@x Mon Jan 1 00:00:00 2024\nA: 1\n\nb", [][2]string{{"A", "1"}}, "b", []DefectKind{DefectMboxFrom}},
		{"name with space", "X Mailer : y\n\n", [][2]string{{"X Mailer", "y"}}, "", nil},
		{"first line folded", " A: 1\nB: 2\n\nx", [][2]string{{"A", "1"}, {"B", "2"}}, "x", []DefectKind{DefectFirstLineFolded}},
		{"no blank line", "A: 1\nthis is body\n", [][2]string{{"A", "1"}}, "this is body\n", []DefectKind{DefectBadHeaderLine}},
		{"no body", "A: 1\r\n", [][2]string{{"A", "1"}}, "", []DefectKind{DefectNoHeaderEnd}},
		{"empty message", "", nil, "", nil},
		{"8-bit utf-8", "Subject: grüße\n\n", [][2]string{{"Subject", "grüße"}}, "", nil},
		{"empty value", "A:\nB:  \n\n", [][2]string{{"A", ""}, {"B", ""}}, "", nil},
		{"colon in value", "A: b: c\n\n", [][2]string{{"A", "b: c"}}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseBytes(context.Background(), []byte(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if p.Header.Len() != len(tt.fields) {
				t.Fatalf("%d fields, want %d: %q", p.Header.Len(), len(tt.fields), p.Header.Raw())
			}
			for i, f := range tt.fields {
				got := p.Header.Field(i)
				if got.Name != f[0] || got.Value != f[1] {
					t.Errorf("field %d = %q: %q, want %q: %q", i, got.Name, got.Value, f[0], f[1])
				}
				if v := p.Header.Get(strings.ToUpper(f[0])); v != p.Header.Get(f[0]) {
					t.Errorf("lookup is case-sensitive for %q", f[0])
				}
			}
			if got := tt.msg[p.BodyOffset:p.End]; got != tt.body {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			var kinds []DefectKind
			for _, d := range p.Defects {
				kinds = append(kinds, d.Kind)
			}
			if len(kinds) != len(tt.defects) {
				t.Fatalf("defects %v, want %v", p.Defects, tt.defects)
			}
			for i := range kinds {
				if kinds[i] != tt.defects[i] {
					t.Errorf("defect %d is %v, want %v", i, kinds[i], tt.defects[i])
				}
			}
		})
	}
}

func TestHeaderAccessors(t *testing.T) {
	msg := "Received: a\r\nreceived: b\r\nSubject: =?utf-8?q?caf=C3=A9?= ok\r\n" +
		"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\nMessage-ID: (c) <abc@x> \r\n\r\n"
	p, err := ParseBytes(context.Background(), []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	h := &p.Header
	if got := h.Values("RECEIVED"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("Values = %q", got)
	}
	if got := h.Subject(); got != "café ok" {
		t.Errorf("Subject = %q", got)
	}
	d, err := h.Date()
	if err != nil || d.Year() != 2003 || d.Hour() != 10 {
		t.Errorf("Date = %v, %v", d, err)
	}
	if got := h.MessageID(); got != "abc@x" {
		t.Errorf("MessageID = %q", got)
	}
	if h.Has("X-None") || h.Get("X-None") != "" {
		t.Error("absent field found")
	}
	if got := h.Field(0).Raw; got != "Received: a\r\n" {
		t.Errorf("Raw = %q", got)
	}
	if fs := h.Fields(); len(fs) != 5 || fs[4].Name != "Message-ID" {
		t.Errorf("Fields = %v", fs)
	}
}

func TestParseDate(t *testing.T) {
	good := []string{
		"Tue, 1 Jul 2003 10:52:37 +0200",
		"1 Jul 2003 10:52:37 +0200",
		"Tue, 01 Jul 2003 10:52:37 GMT",
		"Tue, 1 Jul 03 10:52:37 +0200",
		"Tue,  1 Jul 2003 10:52:37 +0200 (CEST)",
		"Tue, 1 Jul 2003 10:52 +0200",
		"Tue Jul 1 10:52:37 2003",
	}
	for _, s := range good {
		if d, err := ParseDate(s); err != nil || d.Year() != 2003 || d.Month() != 7 || d.Day() != 1 {
			t.Errorf("ParseDate(%q) = %v, %v", s, d, err)
		}
	}
	if _, err := ParseDate("yesterday"); err == nil {
		t.Error("ParseDate accepted nonsense")
	}
}
