package dkim

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

const plainMsg = "From: Alice <alice@example.test>\r\n" +
	"To: bob@peer.test\r\n" +
	"Subject: Hello\r\n" +
	"Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n" +
	"Message-ID: <1@example.test>\r\n" +
	"\r\n" +
	"Hi Bob.\r\n"

func TestSignVerifies(t *testing.T) {
	k := testKeys(t, "example.test", "other.test")
	tests := []struct {
		name, domain, msg string
		wantKeys          string // the h= list go-msgauth reads back
	}{
		{"plain", "example.test", plainMsg, "From:From:To:Subject:Date:Message-ID"},
		{"domain case", "EXAMPLE.test", plainMsg, "From:From:To:Subject:Date:Message-ID"},
		{"second domain", "other.test", plainMsg, "From:From:To:Subject:Date:Message-ID"},
		{"all fields, folded, unsigned ones skipped",
			"example.test",
			"Received: from a by b; Mon, 05 Jan 2026 10:00:00 +0000\r\n" +
				"From: alice@example.test\r\n" +
				"To: bob@peer.test,\r\n\tcarol@peer.test\r\n" +
				"Cc: dave@peer.test\r\n" +
				"Reply-To: list@example.test\r\n" +
				"In-Reply-To: <0@peer.test>\r\n" +
				"References: <0@peer.test>\r\n" +
				"Subject:   spaced    subject  \r\n" +
				"Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n" +
				"Message-ID: <2@example.test>\r\n" +
				"MIME-Version: 1.0\r\n" +
				"Content-Type: text/plain; charset=utf-8\r\n" +
				"Content-Transfer-Encoding: 8bit\r\n" +
				"X-Mailer: posthorn\r\n" +
				"\r\n" +
				"Grüße  \r\n\r\n\r\n",
			"From:From:To:Cc:Subject:Date:Message-ID:MIME-Version:Content-Type:Content-Transfer-Encoding:Reply-To:In-Reply-To:References"},
		{"two To fields", "example.test",
			"From: a@example.test\r\nTo: b@x.test\r\nTo: c@x.test\r\n\r\nbody\r\n", "From:From:To:To"},
		{"empty body", "example.test", "From: a@example.test\r\n\r\n", "From:From"},
		{"body without final CRLF", "example.test", "From: a@example.test\r\n\r\nno newline", "From:From"},
		{"long run of empty lines under the limit", "example.test",
			"From: a@example.test\r\n\r\nabove\r\n" + strings.Repeat("\r\n", MaxBlankRun/4) + "below\r\n", "From:From"},
		{"lower-case field names", "example.test", "from: a@example.test\r\nsubject: x\r\n\r\nb\r\n", "From:From:Subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := sign(t, k, tt.domain, tt.msg)
			v := verify(t, k, signed)
			if v.Err != nil {
				t.Fatalf("verification failed: %v\n%s", v.Err, signed)
			}
			if v.Domain != strings.ToLower(tt.domain) {
				t.Errorf("d= %q, want %q", v.Domain, tt.domain)
			}
			if got := strings.Join(v.HeaderKeys, ":"); got != tt.wantKeys {
				t.Errorf("h= %q, want %q", got, tt.wantKeys)
			}
		})
	}
}

func TestSignHeaderOnlyMessage(t *testing.T) {
	k := testKeys(t, "example.test")
	msg := "From: a@example.test\r\nSubject: no body"
	sig, err := k.Sign(context.Background(), "example.test", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	// go-msgauth's verifier needs the empty line; a missing body and an
	// empty one canonicalize alike, so the signature holds for both.
	v := verify(t, k, sig+msg+"\r\n\r\n")
	if v.Err != nil {
		t.Fatalf("verification failed: %v", v.Err)
	}
}

// TestSignSurvivesAndBreaks checks what a relay may and may not do to a
// signed message.
func TestSignSurvivesAndBreaks(t *testing.T) {
	k := testKeys(t, "example.test")
	sig := strings.TrimSuffix(sign(t, k, "example.test", plainMsg), plainMsg)
	tests := []struct {
		name   string
		change func(msg string) string
		valid  bool
	}{
		{"unchanged", func(m string) string { return m }, true},
		{"trace fields added on top", func(m string) string {
			return "Received: from x by y; Mon, 05 Jan 2026 10:00:01 +0000\r\nX-Spam: no\r\n" + m
		}, true},
		{"absent Reply-To added by a list", func(m string) string { return "Reply-To: list@peer.test\r\n" + m }, true},
		{"whitespace refolded", func(m string) string {
			return strings.Replace(m, "Subject: Hello", "Subject:  \r\n Hello", 1)
		}, true},
		{"trailing whitespace and empty lines", func(m string) string {
			return strings.Replace(m, "Hi Bob.\r\n", "Hi   Bob. \r\n\r\n\r\n", 1)
		}, true},
		{"second From added", func(m string) string { return "From: mallory@evil.test\r\n" + m }, false},
		{"From changed", func(m string) string { return strings.Replace(m, "alice@", "mallory@", 1) }, false},
		{"Subject changed", func(m string) string { return strings.Replace(m, "Hello", "Hullo", 1) }, false},
		{"body changed", func(m string) string { return strings.Replace(m, "Bob", "Rob", 1) }, false},
		{"body appended", func(m string) string { return m + "P.S. buy now\r\n" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := verify(t, k, sig+tt.change(plainMsg))
			if (v.Err == nil) != tt.valid {
				t.Errorf("verification error %v, want valid=%v", v.Err, tt.valid)
			}
		})
	}
}

func TestSignatureField(t *testing.T) {
	k := testKeys(t, "example.test")
	sig, err := k.Sign(context.Background(), "example.test", strings.NewReader(plainMsg))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sig, "DKIM-Signature: ") || !strings.HasSuffix(sig, "\r\n") {
		t.Fatalf("not a header field: %q", sig)
	}
	lines := strings.Split(strings.TrimSuffix(sig, "\r\n"), "\r\n")
	if len(lines) < 3 {
		t.Errorf("signature not folded: %q", sig)
	}
	for i, l := range lines {
		if len(l) > 998 {
			t.Errorf("line %d is %d octets long", i, len(l))
		}
		if i > 0 && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
			t.Errorf("continuation line %d does not start with WSP: %q", i, l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("bare CR or LF in line %d: %q", i, l)
		}
	}
	for _, tag := range []string{"a=rsa-sha256;", "c=relaxed/relaxed;", "d=example.test;", "s=test;", "v=1;"} {
		if !strings.Contains(sig, tag) {
			t.Errorf("signature lacks %q: %q", tag, sig)
		}
	}
}

func TestSignErrors(t *testing.T) {
	k := testKeys(t, "example.test")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	readErr := errors.New("disk on fire")
	tests := []struct {
		name    string
		ctx     context.Context
		domain  string
		msg     io.Reader
		check   func(error) bool
		explain string
	}{
		{"unknown domain", nil, "peer.test", strings.NewReader(plainMsg),
			func(err error) bool {
				return errors.Is(err, ErrNoKey) && mailerr.IsPermanent(err) && mailerr.Is(err, mailerr.NotLocal)
			}, "ErrNoKey, permanent NotLocal"},
		{"no From", nil, "example.test", strings.NewReader("To: b@x.test\r\n\r\nbody\r\n"),
			isBadInput, "permanent BadInput"},
		{"no header at all", nil, "example.test", strings.NewReader("\r\nbody\r\n"),
			isBadInput, "permanent BadInput"},
		{"empty message", nil, "example.test", strings.NewReader(""),
			isBadInput, "permanent BadInput"},
		{"header block too large", nil, "example.test",
			io.MultiReader(strings.NewReader("From: a@example.test\r\nX-Big: "), strings.NewReader(strings.Repeat("x", MaxHeaderBytes))),
			isBadInput, "permanent BadInput"},
		{"many header lines too large", nil, "example.test",
			io.MultiReader(strings.NewReader("From: a@example.test\r\n"), strings.NewReader(strings.Repeat("X-A: b\r\n", MaxHeaderBytes/8+1))),
			isBadInput, "permanent BadInput"},
		{"blank run too long", nil, "example.test",
			io.MultiReader(strings.NewReader(plainMsg), strings.NewReader(strings.Repeat("\r\n \t", MaxBlankRun/2+1)), strings.NewReader("x\r\n")),
			func(err error) bool { return isBadInput(err) && strings.Contains(err.Error(), "line-end octets") }, "permanent BadInput about the run"},
		{"canceled", canceled, "example.test", strings.NewReader(plainMsg),
			func(err error) bool { return errors.Is(err, context.Canceled) }, "context.Canceled"},
		{"read error in header", nil, "example.test", &errReader{"From: a@example.test\r\n", readErr},
			func(err error) bool { return errors.Is(err, readErr) && !mailerr.IsPermanent(err) }, "the read error, temporary"},
		{"read error in body", nil, "example.test", &errReader{plainMsg + "more", readErr},
			func(err error) bool { return errors.Is(err, readErr) && !mailerr.IsPermanent(err) }, "the read error, temporary"},
		{"classified read error kept", nil, "example.test",
			&errReader{plainMsg, mailerr.Temporary(mailerr.DiskFull, "spool", nil)},
			func(err error) bool { return mailerr.Is(err, mailerr.DiskFull) }, "DiskFull"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			sig, err := k.Sign(ctx, tt.domain, tt.msg)
			if err == nil {
				t.Fatalf("signed (%q), want an error", sig)
			}
			if !tt.check(err) {
				t.Errorf("error %v: want %s", err, tt.explain)
			}
		})
	}
	var nilKeys *Keys
	if _, err := nilKeys.Sign(context.Background(), "example.test", strings.NewReader(plainMsg)); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil Keys: %v, want ErrNoKey", err)
	}
}

func isBadInput(err error) bool { return mailerr.IsPermanent(err) && mailerr.Is(err, mailerr.BadInput) }

// bodyReader produces a message of a header and n octets of body lines,
// made as it is read, so the test itself holds nothing.
type bodyReader struct {
	header string
	left   int64
	line   []byte
	off    int
	onRead func()
	reads  int
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.reads++
	if r.onRead != nil && r.reads%256 == 0 {
		r.onRead()
	}
	if r.header != "" {
		n := copy(p, r.header)
		r.header = r.header[n:]
		return n, nil
	}
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		c := copy(p[n:], r.line[r.off:])
		if int64(c) > r.left {
			c = int(r.left)
		}
		n += c
		r.left -= int64(c)
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}

func TestSignLargeMessageInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("signs 128 MiB")
	}
	k := testKeys(t, "example.test")
	const size = 128 << 20
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	line := make([]byte, 0, 80)
	for range 76 {
		line = append(line, byte('A'+rng.IntN(26)))
	}
	line = append(line, "  \r\n"...)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	r := &bodyReader{header: plainMsg[:strings.Index(plainMsg, "\r\n\r\n")+4], left: size, line: line, onRead: sample}
	if _, err := k.Sign(context.Background(), "example.test", r); err != nil {
		t.Fatal(err)
	}
	if r.left != 0 {
		t.Fatalf("%d octets left unread", r.left)
	}
	// The live heap is a few buffers; what the GC lets accumulate
	// between cycles stays far under the message size.
	if grew := peak - base; grew > 32<<20 {
		t.Errorf("heap grew by %d MiB while signing %d MiB", grew>>20, size>>20)
	}
	t.Logf("heap grew by at most %d KiB over %d reads", (peak-base)>>10, r.reads)
}

func BenchmarkSign(b *testing.B) {
	k := testKeys(b, "example.test")
	body := strings.Repeat("The quick brown fox jumps over the lazy dog, again and again.\r\n", 1<<14) // 1 MiB
	msg := plainMsg + body
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Sign(context.Background(), "example.test", strings.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
}
