package mime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCorpusLettersAgree uses the letters corpus, where one message in
// a language is sent in several charsets and transfer encodings
// (test_<language>_<shape>_<charset>_over_<encoding>.txt). Whatever the
// encoding, the decoded result must be the same: subject, addresses,
// (display names present and decoded),
// the tree, every text part converted to UTF-8, every other part's bytes.
func TestCorpusLettersAgree(t *testing.T) {
	dir := filepath.Join(testdataDir(t), "mime", "letters")
	files, _ := filepath.Glob(filepath.Join(dir, "test_*_over_*.txt"))
	if len(files) < 100 {
		t.Fatalf("letters corpus: %d files", len(files))
	}
	re := regexp.MustCompile(`^(test_[a-z]+_[a-z_]+?)_([a-z0-9-]+)_over_([a-z0-9-]+)\.txt$`)
	groups := map[string][]string{}
	for _, f := range files {
		m := re.FindStringSubmatch(filepath.Base(f))
		if m == nil {
			t.Fatalf("unexpected name %s", f)
		}
		groups[m[1]] = append(groups[m[1]], f)
	}
	checked := 0
	for g, fs := range groups {
		want := summarize(t, fs[0])
		for _, f := range fs[1:] {
			if got := summarize(t, f); got != want {
				t.Errorf("%s: %s differs from %s:\n%s\nwant:\n%s", g, filepath.Base(f), filepath.Base(fs[0]), got, want)
			}
			checked++
		}
	}
	t.Logf("%d groups, %d variants compared", len(groups), checked)
}

// summarize renders what a reader sees of a message.
func summarize(t *testing.T, path string) string {
	root := parseFile(t, path)
	var b strings.Builder
	fmt.Fprintf(&b, "subject %q\n", root.Header.Subject())
	for _, f := range []string{"From", "To", "Cc", "Reply-To"} {
		// Display names vary between the variants (the corpus writes
		// "Last, First" in some); the addresses do not.
		as, err := root.Header.Addresses(f)
		fmt.Fprintf(&b, "%s %v:", f, err)
		for _, a := range as {
			if !utf8.ValidString(a.Name) || a.Name == "" {
				t.Errorf("%s: %s: display name %q", path, f, a.Name)
			}
			fmt.Fprintf(&b, " %s", a.Address)
		}
		b.WriteString("\n")
	}
	root.Leaves(func(p string, c *Part) error {
		fmt.Fprintf(&b, "%s %s %q %q ", p, c.ContentType, c.Disposition, c.Filename())
		if strings.HasPrefix(c.ContentType, "text/") {
			txt, err := c.ReadAllText()
			if err != nil {
				t.Errorf("%s: part %s: %v", path, p, err)
			}
			if !utf8.ValidString(txt) || strings.ContainsRune(txt, utf8.RuneError) {
				t.Errorf("%s: part %s: text has invalid or replaced characters", path, p)
			}
			txt = strings.Trim(strings.ReplaceAll(txt, "\r\n", "\n"), "\n")
			fmt.Fprintf(&b, "text %q\n", txt)
			return nil
		}
		h := sha256.New()
		io.Copy(h, c.Body())
		fmt.Fprintf(&b, "sha %s\n", hex.EncodeToString(h.Sum(nil))[:16])
		return nil
	})
	return b.String()
}
