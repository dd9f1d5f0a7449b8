package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Helpers for the user agent tests: run send/fetch/mime as a user would
// (no --config), read what fetch wrote (Maildir, mboxrd, .eml files), and
// decode `posthorn mime inspect --json`.

// ph runs a user agent command that must succeed.
func ph(t *testing.T, stdin string, args ...string) CLIResult {
	t.Helper()
	r := RunPosthorn(t, t.TempDir(), stdin, args...)
	if r.Code != 0 {
		t.Fatalf("want exit 0:\n%v", r)
	}
	return r
}

// InspectAddr and InspectPart follow the JSON of `mime inspect --json`
// (issue 5).
type InspectAddr struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type InspectPart struct {
	Path             string  `json:"path"`
	ContentType      string  `json:"content_type"`
	Charset          *string `json:"charset"`
	Disposition      *string `json:"disposition"`
	Filename         *string `json:"filename"`
	TransferEncoding string  `json:"transfer_encoding"`
	Size             int64   `json:"size"`
	SHA256           string  `json:"sha256"`
}

type Inspected struct {
	Subject *string       `json:"subject"`
	From    []InspectAddr `json:"from"`
	To      []InspectAddr `json:"to"`
	Parts   []InspectPart `json:"parts"`
}

// inspect runs `posthorn mime inspect FILE --json`.
func inspect(t *testing.T, file string) Inspected {
	t.Helper()
	r := ph(t, "", "mime", "inspect", file, "--json")
	var in Inspected
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("mime inspect --json: %v\n%s", err, r.Stdout)
	}
	return in
}

// byFilename indexes the parts that have a filename.
func (in Inspected) byFilename() map[string]InspectPart {
	m := map[string]InspectPart{}
	for _, p := range in.Parts {
		if p.Filename != nil {
			m[*p.Filename] = p
		}
	}
	return m
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// crlfToLF normalises line ends: text parts travel in canonical CRLF
// form (RFC 2045 section 6.7 and RFC 2049 section 3), so only their text,
// not their line ends, must survive.
func crlfToLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// maildirMessages returns the files fetch delivered into DIR/new, sorted.
func maildirMessages(t *testing.T, dir string) []string {
	t.Helper()
	for _, sub := range []string{"tmp", "cur"} {
		if es, err := os.ReadDir(filepath.Join(dir, sub)); err != nil || (sub == "tmp" && len(es) != 0) {
			t.Errorf("Maildir %s/%s: %d entries, err %v (want an empty tmp and a cur)", dir, sub, len(es), err)
		}
	}
	return globSorted(t, filepath.Join(dir, "new", "*"))
}

func globSorted(t *testing.T, pattern string) []string {
	t.Helper()
	fs, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(fs)
	return fs
}

// splitMbox splits an mboxrd file (what fetch --mbox writes) into one
// file per message under dir: "From " lines separate, the blank line
// before each separator belongs to the format, and one '>' is removed
// from ">From "-quoted lines.
func splitMbox(t *testing.T, mbox, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(mbox)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("From ")) {
		t.Fatalf("mbox %s does not start with a From line: %q", mbox, head(b, 100))
	}
	if bytes.Contains(b, []byte("\r")) {
		t.Errorf("mbox %s has CR characters; mbox lines end in LF", mbox)
	}
	var msgs [][]byte
	var cur []byte
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if strings.HasPrefix(line, "From ") {
			if cur != nil {
				msgs = append(msgs, cur)
			}
			cur = []byte{}
			continue
		}
		if rest := strings.TrimLeft(line, ">"); len(rest) < len(line) && strings.HasPrefix(rest, "From ") {
			line = line[1:]
		}
		cur = append(cur, line...)
	}
	msgs = append(msgs, cur)
	var files []string
	for i, m := range msgs {
		m, ok := bytes.CutSuffix(m, []byte("\n\n"))
		if !ok {
			t.Errorf("mbox message %d does not end with the separating blank line", i+1)
		}
		f := filepath.Join(dir, "mbox-"+string(rune('a'+i))+".eml")
		if err := os.WriteFile(f, append(m, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}
