package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mime"
)

// seedsDir is ../shared/testdata/seeds beside the repository.
func seedsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "testdata", "seeds")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("seeds missing at %s (required when CI=true)", dir)
		}
		t.Skipf("seeds not found at %s: skipping", dir)
	}
	return dir
}

// runMime runs "posthorn mime ARGS" in-process.
func runMime(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	io := &stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: func(string) string { return "" }}
	code = cmdMime(context.Background(), io, args)
	return code, out.String(), errb.String()
}

func TestMimeInspectJSONSeed(t *testing.T) {
	dir := seedsDir(t)
	code, out, errs := runMime("inspect", filepath.Join(dir, "seed000-multipart.eml"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want, err := os.ReadFile(filepath.Join(dir, "seed000-multipart.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got, exp any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	json.Unmarshal(want, &exp)
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("inspect --json:\n%s\nwant:\n%s", out, want)
	}
}

func TestMimeInspect(t *testing.T) {
	dir := t.TempDir()
	b := &mime.Builder{From: mime.Address{Name: "Jörg", Address: "j@x.test"}, To: []mime.Address{{Address: "b@x.test"}},
		Subject: "Grüße", Text: "hi", HTML: "<p>hi</p>",
		Attachments: []mime.Attachment{{Filename: "naïve.txt", Data: []byte("x\r\n")}}}
	msg, err := b.Bytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.eml")
	os.WriteFile(path, msg, 0o644)

	code, _, errs := runMime("--json", "inspect", path)
	if code != 2 {
		t.Errorf("flag before the subcommand: exit %d, want 2 (%s)", code, errs)
	}
	code, out, errs := runMime("inspect", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got inspectOut
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Subject == nil || *got.Subject != "Grüße" || len(got.From) != 1 || got.From[0].Name != "Jörg" || len(got.Parts) != 3 {
		t.Fatalf("inspect: %s", out)
	}
	wantPaths := []string{"1.1", "1.2", "2"}
	for i, p := range got.Parts {
		if p.Path != wantPaths[i] {
			t.Errorf("part %d path %s, want %s", i, p.Path, wantPaths[i])
		}
	}
	att := got.Parts[2]
	sum := sha256.Sum256([]byte("x\r\n"))
	if att.Filename == nil || *att.Filename != "naïve.txt" || att.Disposition == nil || *att.Disposition != "attachment" ||
		att.Size != 3 || att.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("attachment %+v", att)
	}
	if !strings.Contains(out, `"charset": null`) && got.Parts[2].Charset != nil {
		t.Errorf("charset of an attachment without one should be null")
	}

	code, out, _ = runMime("inspect", path)
	if code != 0 || !strings.Contains(out, "Subject: Grüße") || !strings.Contains(out, "  1 multipart/alternative") ||
		!strings.Contains(out, "    1.2 text/html") || !strings.Contains(out, `"naïve.txt"`) {
		t.Errorf("human output:\n%s", out)
	}
}

func TestMimeUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"inspect"}, 2},
		{[]string{"inspect", "a", "b"}, 2},
		{[]string{"inspect", "--nope", "a"}, 2},
		{[]string{"extract", "a"}, 2},
		{[]string{"inspect", "/nonexistent/message.eml"}, 1},
		{[]string{"extract", "/nonexistent/message.eml", "--dir", "/tmp"}, 1},
	}
	for _, tt := range tests {
		code, _, errs := runMime(tt.args...)
		if code != tt.code {
			t.Errorf("mime %q: exit %d, want %d", tt.args, code, tt.code)
		}
		if code != 0 && strings.Count(errs, "\n") != 1 {
			t.Errorf("mime %q: stderr is not one line: %q", tt.args, errs)
		}
	}
}

func TestMimeExtractSeed(t *testing.T) {
	src := filepath.Join(seedsDir(t), "seed000-multipart.eml")
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errs := runMime("extract", src, "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != filepath.Join(dir, "body.txt")+"\n"+filepath.Join(dir, "cat.jpg")+"\n" {
		t.Errorf("stdout %q", out)
	}
	jpg, _ := os.ReadFile(filepath.Join(dir, "cat.jpg"))
	sum := sha256.Sum256(jpg)
	if hex.EncodeToString(sum[:]) != "464cc0cb811022c265341838fa48f232d29dd526e496d070d7ea1e0efe4d731b" {
		t.Errorf("cat.jpg has the wrong bytes (%d)", len(jpg))
	}
	body, _ := os.ReadFile(filepath.Join(dir, "body.txt"))
	if !strings.HasPrefix(string(body), "Hi Bob,") {
		t.Errorf("body.txt %q", body)
	}
	// No overwrite without --force, and nothing half-written.
	os.WriteFile(filepath.Join(dir, "cat.jpg"), []byte("mine"), 0o644)
	if code, _, errs := runMime("extract", src, "--dir", dir); code != 1 || !strings.Contains(errs, "--force") {
		t.Errorf("second extract: exit %d, %q", code, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cat.jpg")); string(b) != "mine" {
		t.Error("file overwritten without --force")
	}
	if code, _, errs := runMime("extract", "--force", src, "--dir", dir); code != 0 {
		t.Errorf("extract --force: exit %d, %s", code, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cat.jpg")); !bytes.Equal(b, jpg) {
		t.Error("--force did not overwrite")
	}
}

func TestMimeExtractHostileNames(t *testing.T) {
	tmp := t.TempDir()
	var atts []mime.Attachment
	for _, n := range []string{"../../evil.txt", "..\\..\\win.txt", "/etc/passwd", "a.txt", "A.txt", "..", ".hidden", "ctrl\x01\u202ename.txt", ""} {
		atts = append(atts, mime.Attachment{Filename: n, ContentType: "application/octet-stream", Data: []byte(n + "!")})
	}
	b := &mime.Builder{From: mime.Address{Address: "a@x.test"}, Text: "body", Attachments: atts}
	msg, _ := b.Bytes(context.Background())
	path := filepath.Join(tmp, "m.eml")
	os.WriteFile(path, msg, 0o644)
	dir := filepath.Join(tmp, "out")
	code, out, errs := runMime("extract", path, "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"A (2).txt", "a.txt", "body.txt", "ctrlname.txt", "evil.txt", "hidden", "part-7.bin", "part-10.bin", "passwd", "win.txt"}
	if strings.Join(sorted(names), "|") != strings.Join(sorted(want), "|") {
		t.Errorf("files %q, want %q\nstdout:\n%s", names, want, out)
	}
	if _, err := os.Stat(filepath.Join(tmp, "evil.txt")); err == nil {
		t.Error("path traversal: wrote outside --dir")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "evil.txt")); string(b) != "../../evil.txt!" {
		t.Errorf("evil.txt holds %q", b)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestSanitizeFilename(t *testing.T) {
	tests := map[string]string{
		"cat.jpg":                         "cat.jpg",
		"../../etc/passwd":                "passwd",
		"C:\\Windows\\x.dll":              "x.dll",
		"..":                              "",
		".":                               "",
		"...":                             "",
		" .bashrc ":                       "bashrc",
		"a\x00b\nc.txt":                   "abc.txt",
		"résumé.pdf":                      "résumé.pdf",
		"x:y.txt":                         "xy.txt",
		strings.Repeat("é", 150) + ".txt": strings.Repeat("é", 98) + ".txt",
	}
	for in, want := range tests {
		if got := sanitizeFilename(in); got != want {
			t.Errorf("sanitizeFilename(%q) = %q, want %q", in, got, want)
		}
	}
}
