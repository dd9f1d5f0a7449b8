package mime

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeText(t *testing.T) {
	tests := []struct{ in, want string }{
		// RFC 2047 section 8.
		{"=?ISO-8859-1?Q?a?=", "a"},
		{"=?ISO-8859-1?Q?a?= b", "a b"},
		{"=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"},
		{"=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab"},
		{"=?ISO-8859-1?Q?a?=\r\n   =?ISO-8859-1?Q?b?=", "ab"},
		{"=?ISO-8859-1?Q?a_b?=", "a b"},
		{"=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b"},
		{"=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"},
		{"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen"},
		{"=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
		{"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
			"If you can read this you understand the example."},
		// RFC 2231 section 5 language suffix.
		{"=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"},
		// Common mistakes.
		{"=?utf-8?b?w6k?=", "é"},                             // no padding
		{"=?UTF-8?B?4pyI?= =?UTF-8?B?77iP?=", "✈️"},          // one character per word
		{"=?utf-8?b?4pw=?= =?utf-8?b?iA==?=", "✈"},           // a character split across words
		{"=?utf-8?q?a b?=", "a b"},                           // a space inside Q
		{"x=?utf-8?q?=C3=A9?=y", "xéy"},                      // run into text
		{"\"=?utf-8?q?=C3=A9?=\"", "\"é\""},                  // inside quotes
		{"=?x-unknown?q?caf=C3=A9?=", "café"},                // unknown charset, UTF-8 bytes
		{"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"}, // not a word
		{"=?utf-8?x?abc?=", "=?utf-8?x?abc?="},               // unknown encoding
		{"a =?utf-8?q?b?= c", "a b c"},
		{"=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=", "テスト"},
		{"=?gb2312?B?1tDOxA==?=", "中文"},
		{"=?koi8-r?B?8NLJ18XU?=", "Привет"},
		{"=?windows-1252?Q?=80?=", "€"},
		{"plain", "plain"},
		{"caf\xe9", "café"}, // raw Latin-1 in a header
		{"grüße", "grüße"},  // RFC 6532
	}
	for _, tt := range tests {
		if got := DecodeText(tt.in); got != tt.want {
			t.Errorf("DecodeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeText(t *testing.T) {
	tests := []string{
		"Hello",
		"café",
		"Grüße aus Köln, schöne Grüße",
		strings.Repeat("日本語のテキスト", 20),
		"=?not a word?=",
		"tab\there",
		strings.Repeat("é", 200),
		"a_b=c?d",
	}
	for _, in := range tests {
		enc := EncodeText(in)
		for _, w := range strings.Fields(enc) {
			if strings.HasPrefix(w, "=?") && len(w) > 75 {
				t.Errorf("EncodeText(%q): word of %d chars", in, len(w))
			}
		}
		if got := DecodeText(enc); got != in {
			t.Errorf("EncodeText(%q) = %q decodes to %q", in, enc, got)
		}
		if !utf8.ValidString(enc) || (!isASCII(enc) && needsEncoding(in)) {
			t.Errorf("EncodeText(%q) = %q is not ASCII", in, enc)
		}
	}
}
