package mime

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
)

// consume does what a mail reader does with a message: decode every
// header field and every leaf, text converted to UTF-8.
func consume(root *Part, buf []byte) error {
	return root.Walk(func(path string, p *Part) error {
		if path != "1" || p != root { // a single part is visited twice: "" and "1"
			h := &p.Header
			for i := 0; i < h.Len(); i++ {
				_ = DecodeText(h.Field(i).Value)
			}
		}
		if path == "" && len(p.Parts) == 0 {
			return nil // the body is read as part "1"
		}
		if p.IsMultipart() && len(p.Parts) > 0 {
			return nil
		}
		var r io.Reader = p.Body()
		if len(p.ContentType) > 5 && p.ContentType[:5] == "text/" {
			if t, err := p.Text(); err == nil {
				r = t
			}
		}
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
}

// BenchmarkCorpus parses and fully decodes every corpus message.
func BenchmarkCorpus(b *testing.B) {
	var msgs [][]byte
	var total int64
	for _, f := range corpusFiles(b) {
		m, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, m)
		total += int64(len(m))
	}
	buf := make([]byte, 32<<10)
	ctx := context.Background()
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, m := range msgs {
			root, err := ParseBytes(ctx, m)
			if err != nil {
				b.Fatal(err)
			}
			if err := consume(root, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkParseOnly parses the corpus without reading bodies: the cost
// of BODYSTRUCTURE.
func BenchmarkParseOnly(b *testing.B) {
	var msgs [][]byte
	var total int64
	for _, f := range corpusFiles(b) {
		m, _ := os.ReadFile(f)
		msgs = append(msgs, m)
		total += int64(len(m))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, m := range msgs {
			if _, err := Parse(context.Background(), bytes.NewReader(m), int64(len(m))); err != nil {
				b.Fatal(err)
			}
		}
	}
}
