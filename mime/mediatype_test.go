package mime

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseMediaType(t *testing.T) {
	tests := []struct {
		in     string
		mt     string
		params map[string]string
		bad    bool
	}{
		{"text/plain", "text/plain", nil, false},
		{"Text/HTML; Charset=\"UTF-8\"", "text/html", map[string]string{"charset": "UTF-8"}, false},
		{"multipart/mixed; boundary=\"a;b\\\"c\"", "multipart/mixed", map[string]string{"boundary": "a;b\"c"}, false},
		{"text/plain (a comment); charset=us-ascii (another)", "text/plain", map[string]string{"charset": "us-ascii"}, false},
		// RFC 2231 sections 3, 4 and 4.1.
		{"message/external-body; access-type=URL; URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
			"message/external-body", map[string]string{"access-type": "URL", "url": "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"}, false},
		{"application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
			"application/x-stuff", map[string]string{"title": "This is ***fun***"}, false},
		{"application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
			"application/x-stuff", map[string]string{"title": "This is even more ***fun*** isn't it!"}, false},
		{"attachment; filename*=UTF-8''%e2%82%ac%20rates.txt", "attachment", map[string]string{"filename": "€ rates.txt"}, false},
		{"attachment; filename*=iso-8859-1''caf%E9.txt", "attachment", map[string]string{"filename": "café.txt"}, false},
		{"attachment; filename=\"x.txt\"; filename*=utf-8''y.txt", "attachment", map[string]string{"filename": "y.txt"}, false},
		// Continuations out of order are sorted.
		{"a/b; n*1=\"2\"; n*0=\"1\"", "a/b", map[string]string{"n": "12"}, false},
		// Common mistakes.
		{"attachment; filename=\"=?utf-8?B?0J/RgNC40LLQtdGC?=.txt\"", "attachment", map[string]string{"filename": "Привет.txt"}, false},
		{"attachment; filename=my file.txt", "attachment", map[string]string{"filename": "my file.txt"}, false},
		{"text/plain; charset=utf-8;", "text/plain", map[string]string{"charset": "utf-8"}, false},
		{"text/plain;charset=utf-8", "text/plain", map[string]string{"charset": "utf-8"}, false},
		{"multipart/mixed; foo; boundary=\"xyz\"", "multipart/mixed", map[string]string{"boundary": "xyz"}, true},
		{"multipart/mixed; charset=; boundary=xyz", "multipart/mixed", map[string]string{"charset": "", "boundary": "xyz"}, false},
		{"multipart/mixed; boundary=\"xyz", "multipart/mixed", map[string]string{"boundary": "xyz"}, false},
		{"multipart/mixed; a=1; a=2; boundary=b", "multipart/mixed", map[string]string{"a": "1", "boundary": "b"}, true},
		{"attachment; filename=\"caf\xe9.txt\"", "attachment", map[string]string{"filename": "café.txt"}, false},
		{"text/plain charset=us-ascii", "text/plain", nil, true},
		{"", "", nil, false},
	}
	for _, tt := range tests {
		mt, params, err := ParseMediaType(tt.in)
		if mt != tt.mt || !reflect.DeepEqual(params, tt.params) || (err != nil) != tt.bad {
			t.Errorf("ParseMediaType(%q) = %q, %q, %v; want %q, %q, bad=%v", tt.in, mt, params, err, tt.mt, tt.params, tt.bad)
		}
		if err != nil && !errors.Is(err, ErrBadMediaType) {
			t.Errorf("error %v does not wrap ErrBadMediaType", err)
		}
	}
}

func TestParamRoundTrip(t *testing.T) {
	names := []string{"cat.jpg", "my file.txt", "naïve résumé.pdf", "日本語のファイル名がとても長い場合のテスト.docx",
		"quote\"and\\slash.txt", "semi;colon.txt", "100%.txt", ""}
	for _, n := range names {
		v := withParams("attachment", [][2]string{{"filename", n}})
		_, params, err := ParseMediaType(v)
		if err != nil || params["filename"] != n {
			t.Errorf("%q -> %q -> %q, %v", n, v, params["filename"], err)
		}
	}
}
