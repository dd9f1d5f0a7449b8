package mime

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// readLeaf returns the decoded body of the leaf at path.
func readLeaf(t *testing.T, root *Part, path string) (*Part, []byte) {
	t.Helper()
	var found *Part
	root.Leaves(func(p string, c *Part) error {
		if p == path {
			found = c
		}
		return nil
	})
	if found == nil {
		t.Fatalf("no leaf %s:\n%s", path, dump(root))
	}
	b, err := io.ReadAll(found.Body())
	if err != nil {
		t.Fatal(err)
	}
	return found, b
}

// checkLines asserts RFC 5322 2.1.1: no line over 998, none over 78
// unless unavoidable (we never need it), CRLF only.
func checkLines(t *testing.T, msg []byte) {
	t.Helper()
	for i, line := range bytes.Split(msg, []byte("\r\n")) {
		if len(line) > 78 {
			t.Errorf("line %d has %d characters: %q", i+1, len(line), line)
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF", i+1)
		}
		for _, c := range line {
			if c >= 0x80 {
				t.Errorf("line %d has 8-bit data: %q", i+1, line)
				break
			}
		}
	}
}

func TestBuilderRoundTrip(t *testing.T) {
	seed := uint64(rand.Uint32())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	png := make([]byte, 5000)
	for i := range png {
		png[i] = byte(rng.IntN(256))
	}
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(rng.IntN(256))
	}
	b := &Builder{
		From:    Address{Name: "Jörg Müller", Address: "joerg@example.de"},
		To:      []Address{{Name: "Smith, John", Address: "john@example.com"}, {Address: "b@example.com"}},
		Cc:      []Address{{Name: "李小龍", Address: "lee@example.cn"}},
		Bcc:     []Address{{Address: "hidden@example.com"}},
		Subject: "Grüße — a long subject line that certainly needs folding because it goes on and on " + strings.Repeat("x", 100),
		Date:    time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		Text:    "Hello,\nthis is the text.\n\n-- \nJörg",
		HTML:    "<p>Hello, <img src=\"cid:logo\"></p>\n" + strings.Repeat("<p>long line of html that goes on</p>", 5),
		Inline:  []Attachment{{Filename: "logo.png", ContentID: "logo", Data: png}},
		Attachments: []Attachment{
			{Filename: "naïve résumé with a very long file name that needs RFC 2231 continuations.pdf", Data: []byte("%PDF-1.4\n\x00\x01binary")},
			{Filename: "notes.txt", Data: []byte("plain ascii\r\nlines\r\n")},
			{Filename: "../../etc/passwd", ContentType: "text/plain", Data: []byte("lf only\nlines\n")},
			{Filename: "big.bin", Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(big)), nil }},
		},
	}
	msg, err := b.Bytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, msg)
	if bytes.Contains(msg, []byte("hidden@example.com")) {
		t.Error("Bcc written")
	}
	root, err := ParseBytes(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if n := countDefects(root); n != 0 {
		t.Errorf("%d defects in our own output:\n%s", n, dump(root))
	}
	h := &root.Header
	if got := h.Subject(); got != b.Subject {
		t.Errorf("subject %q", got)
	}
	from, err := h.Addresses("From")
	if err != nil || len(from) != 1 || from[0] != b.From {
		t.Errorf("from %v, %v", from, err)
	}
	to, _ := h.Addresses("To")
	cc, _ := h.Addresses("Cc")
	if len(to) != 2 || to[0] != b.To[0] || to[1] != b.To[1] || len(cc) != 1 || cc[0] != b.Cc[0] {
		t.Errorf("to %v cc %v", to, cc)
	}
	if d, err := h.Date(); err != nil || !d.Equal(b.Date) {
		t.Errorf("date %v %v", d, err)
	}
	if id := h.MessageID(); !strings.HasSuffix(id, "@example.de") || len(id) < 20 {
		t.Errorf("message-id %q", id)
	}
	if h.Get("MIME-Version") != "1.0" || root.ContentType != "multipart/mixed" {
		t.Errorf("top: %s %s", h.Get("MIME-Version"), root.ContentType)
	}
	want := []struct {
		path, ctype string
		body        []byte
	}{
		{"1.1", "text/plain", []byte(crlfText(b.Text))},
		{"1.2.1", "text/html", []byte(crlfText(b.HTML))},
		{"1.2.2", "image/png", png},
		{"2", "application/pdf", b.Attachments[0].Data},
		{"3", "text/plain", b.Attachments[1].Data},
		{"4", "text/plain", b.Attachments[2].Data},
		{"5", "application/octet-stream", big},
	}
	for _, w := range want {
		p, body := readLeaf(t, root, w.path)
		if p.ContentType != w.ctype || !bytes.Equal(body, w.body) {
			t.Errorf("part %s: %s, %d bytes (equal=%v), want %s, %d bytes", w.path, p.ContentType, len(body), bytes.Equal(body, w.body), w.ctype, len(w.body))
		}
	}
	if p, _ := readLeaf(t, root, "2"); p.Filename() != b.Attachments[0].Filename || p.Disposition != "attachment" {
		t.Errorf("filename %q disposition %q", p.Filename(), p.Disposition)
	}
	if p, _ := readLeaf(t, root, "1.2.2"); p.Header.Get("Content-ID") != "<logo>" || p.Disposition != "inline" {
		t.Errorf("inline part header %q", p.Header.Raw())
	}
	if p, _ := readLeaf(t, root, "3"); p.TransferEncoding != "7bit" {
		t.Errorf("ascii CRLF attachment sent as %s", p.TransferEncoding)
	}
	if p, _ := readLeaf(t, root, "1.1"); p.TransferEncoding != "quoted-printable" || p.Charset() != "utf-8" {
		t.Errorf("text sent as %s charset %s", p.TransferEncoding, p.Charset())
	}
	// Writing again gives new boundaries and a new Message-ID.
	again, _ := b.Bytes(context.Background())
	if bytes.Equal(again, msg) {
		t.Error("two writes gave identical messages")
	}
}

func TestBuilderShapes(t *testing.T) {
	from := Address{Address: "a@x.test"}
	tests := []struct {
		name string
		b    Builder
		want string // content types in Walk order
	}{
		{"text", Builder{From: from, Text: "hi"}, "text/plain text/plain"},
		{"empty", Builder{From: from}, "text/plain text/plain"},
		{"html only", Builder{From: from, HTML: "<p>hi</p>"}, "text/html text/html"},
		{"alternative", Builder{From: from, Text: "hi", HTML: "<p>hi</p>"}, "multipart/alternative text/plain text/html"},
		{"attachment only", Builder{From: from, Attachments: []Attachment{{Filename: "a.gif", Data: []byte("GIF89a")}}},
			"multipart/mixed image/gif"},
		{"text and attachment", Builder{From: from, Text: "x", Attachments: []Attachment{{Data: []byte("x")}}},
			"multipart/mixed text/plain application/octet-stream"},
	}
	for _, tt := range tests {
		msg, err := tt.b.Bytes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, msg)
		root, err := ParseBytes(context.Background(), msg)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		root.Walk(func(_ string, p *Part) error { types = append(types, p.ContentType); return nil })
		if got := strings.Join(types, " "); got != tt.want {
			t.Errorf("%s: %s, want %s\n%s", tt.name, got, tt.want, msg)
		}
	}
	if _, err := (&Builder{}).Bytes(context.Background()); err == nil {
		t.Error("Builder without From accepted")
	}
	if _, err := (&Builder{From: from, Attachments: []Attachment{{ContentType: "multipart/mixed"}}}).Bytes(context.Background()); err == nil {
		t.Error("multipart attachment type accepted")
	}
}

// TestBuilderBoundaryCollision feeds the builder a Rand that repeats
// itself, so the first boundary occurs in a 7bit body, and checks that
// another one is chosen.
func TestBuilderBoundaryCollision(t *testing.T) {
	tok := bytes.Repeat([]byte{0xab}, 12)
	collide := "--=_" + strings.Repeat("ab", 12)
	rnd := io.MultiReader(bytes.NewReader(tok), bytes.NewReader(bytes.Repeat([]byte{0xcd}, 100)))
	b := &Builder{From: Address{Address: "a@x.test"}, Text: "x", Rand: rnd,
		Attachments: []Attachment{{Filename: "a.txt", Data: []byte(collide + "\r\n")}}}
	msg, err := b.Bytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	root, err := ParseBytes(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Parts) != 2 || root.Params["boundary"] == "=_"+strings.Repeat("ab", 12) {
		t.Fatalf("boundary collision not avoided:\n%s", msg)
	}
	if _, body := readLeaf(t, root, "2"); string(body) != collide+"\r\n" {
		t.Errorf("attachment %q", body)
	}
}

func TestBuilderRandomRoundTrip(t *testing.T) {
	seed := uint64(rand.Uint32())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	pieces := []string{"a", " ", "\n", "\r\n", "é", "日本", "=", "--", "From ", ".", "\t", "=?", "?=", strings.Repeat("z", 90)}
	gen := func() string {
		var s strings.Builder
		for n := rng.IntN(40); n > 0; n-- {
			s.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return s.String()
	}
	for i := 0; i < 100; i++ {
		data := []byte(gen())
		b := &Builder{From: Address{Name: strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(gen(), "\n", ""), "\r", "")), Address: "a@x.test"},
			Subject: strings.TrimSpace(gen()), Text: gen(),
			Attachments: []Attachment{{Filename: strings.TrimSpace(gen()), Data: data}}}
		msg, err := b.Bytes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, msg)
		root, err := ParseBytes(context.Background(), msg)
		if err != nil {
			t.Fatal(err)
		}
		attPath := "2"
		if b.Text == "" {
			attPath = "1"
		}
		_, body := readLeaf(t, root, attPath)
		if !bytes.Equal(body, data) {
			t.Fatalf("attachment %q came back %q\n%s", data, body, msg)
		}
		wantSubj := strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(b.Subject)), " ")
		if got := strings.Join(strings.Fields(root.Header.Subject()), " "); got != wantSubj {
			t.Fatalf("subject %q came back %q", b.Subject, got)
		}
		if _, text := readLeaf(t, root, "1"); b.Text != "" && string(text) != crlfText(b.Text) {
			t.Fatalf("text %q came back %q", b.Text, text)
		}
	}
}
