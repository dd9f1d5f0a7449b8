package mime

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"os"
	"regexp"
	"testing"
)

// TestCorpusRFCStructure checks, for every part of the corpus that the
// parser found well-formed (no defects), what RFC 2045/2046/5322 say its
// bytes must be, independently of how the parser found them:
//   - the header is the bytes from Offset to BodyOffset, ended by a
//     blank line, and the fields' Raw bytes are exactly those bytes;
//   - between two children of a multipart stand only the line break
//     and the delimiter line (RFC 2046 5.1.1), before the first child
//     only the preamble and a delimiter line, after the last child a
//     line break and the close delimiter;
//   - a base64 body that decoded without repair re-encodes to its own
//     characters (white space and padding aside).
func TestCorpusRFCStructure(t *testing.T) {
	var checkedParts, checkedB64, files int
	for _, f := range corpusFiles(t) {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		root, err := ParseBytes(context.Background(), msg)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if countDefects(root) == 0 {
			files++
		}
		var visit func(p *Part)
		visit = func(p *Part) {
			for _, c := range p.Parts {
				visit(c)
			}
			if len(p.Defects) > 0 {
				return
			}
			checkedParts++
			checkHeaderBytes(t, f, msg, p)
			if len(p.Parts) > 0 && p.IsMultipart() && allClean(p.Parts) {
				checkDelimiters(t, f, msg, p)
			}
			if p.TransferEncoding == "base64" && len(p.Parts) == 0 && checkBase64(t, f, msg, p) {
				checkedB64++
			}
		}
		visit(root)
	}
	t.Logf("%d defect-free files; %d well-formed parts checked, %d base64 bodies re-encoded", files, checkedParts, checkedB64)
	if checkedParts < 2000 || checkedB64 < 200 {
		t.Errorf("too few parts checked: %d parts, %d base64", checkedParts, checkedB64)
	}
}

func allClean(ps []*Part) bool {
	for _, p := range ps {
		if len(p.Defects) > 0 {
			return false
		}
	}
	return true
}

var blankLine = regexp.MustCompile(`(^|\n)\r?\n$`)

func checkHeaderBytes(t *testing.T, name string, msg []byte, p *Part) {
	t.Helper()
	hdr := msg[p.Offset:p.BodyOffset]
	if p.BodyOffset == int64(len(msg)) && !blankLine.Match(hdr) {
		return // a header that ends the message; recorded on the root only
	}
	if !blankLine.Match(hdr) {
		t.Errorf("%s: header at %d does not end with a blank line: %q", name, p.Offset, tail(hdr))
		return
	}
	if !bytes.HasPrefix(hdr, []byte(p.Header.Raw())) || len(bytes.TrimLeft(hdr[len(p.Header.Raw()):], "\r\n")) != 0 {
		t.Errorf("%s: header fields at %d are not the header bytes", name, p.Offset)
	}
}

func checkDelimiters(t *testing.T, name string, msg []byte, p *Part) {
	t.Helper()
	b := regexp.QuoteMeta(p.Params["boundary"])
	// RFC 2046 5.1.1 lets text follow a delimiter on its line.
	first := regexp.MustCompile(`(^|\n)--` + b + `[^\n]*\n$`)
	between := regexp.MustCompile(`^(\r?\n)?--` + b + `[ \t]*\r?\n$`)
	last := regexp.MustCompile(`^(\r?\n)?--` + b + `--`)
	if pre := msg[p.BodyOffset:p.Parts[0].Offset]; !first.Match(pre) {
		t.Errorf("%s: before the first part at %d: %q", name, p.Parts[0].Offset, tail(pre))
	}
	for i := 1; i < len(p.Parts); i++ {
		if gap := msg[p.Parts[i-1].End:p.Parts[i].Offset]; !between.Match(gap) {
			t.Errorf("%s: between parts at %d: %q", name, p.Parts[i].Offset, gap)
		}
	}
	if end := msg[p.Parts[len(p.Parts)-1].End:p.End]; !last.Match(end) {
		t.Errorf("%s: after the last part at %d: %q", name, p.Parts[len(p.Parts)-1].End, tail(end))
	}
}

func checkBase64(t *testing.T, name string, msg []byte, p *Part) bool {
	t.Helper()
	br := p.Body()
	dec, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if len(br.Defects()) > 0 {
		return false
	}
	want := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, msg[p.BodyOffset:p.End])
	want = bytes.TrimRight(want, "=")
	got := base64.RawStdEncoding.EncodeToString(dec)
	// Encoders should zero the unused bits of the last character (RFC
	// 4648 3.5); some did not, so that character is compared by count.
	if len(got) != len(want) || len(got) > 0 && got[:len(got)-1] != string(want[:len(want)-1]) {
		t.Errorf("%s: base64 part at %d decodes to bytes that do not re-encode to it", name, p.Offset)
	}
	return true
}

func tail(b []byte) []byte {
	if len(b) > 80 {
		return b[len(b)-80:]
	}
	return b
}
