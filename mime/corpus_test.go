package mime

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusFiles lists the messages of the public corpus (every file but
// the README, SOURCES and licence texts).
func corpusFiles(t testing.TB) []string {
	t.Helper()
	dir := filepath.Join(testdataDir(t), "mime")
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if d.IsDir() {
			if d.Name() == "LICENSES" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel, _ := filepath.Rel(dir, path); rel == "README.md" || rel == "SOURCES.md" {
			return nil
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 1000 {
		t.Fatalf("corpus has %d files, expected over 1,000", len(files))
	}
	return files
}

// TestCorpusNeverFails parses every corpus message, decodes every leaf
// and checks the invariants of the tree: offsets nest and stay within
// the message, every leaf decodes, and text converts to UTF-8.
func TestCorpusNeverFails(t *testing.T) {
	files := corpusFiles(t)
	defects := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		root, err := ParseBytes(context.Background(), b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		checkTree(t, f, root, 0, int64(len(b)))
		err = root.Walk(func(path string, p *Part) error {
			defects += len(p.Defects)
			if _, err := io.Copy(io.Discard, p.Body()); err != nil {
				return err
			}
			if r, err := p.Text(); err == nil {
				if _, err := io.Copy(io.Discard, r); err != nil {
					return err
				}
			}
			p.Header.Subject()
			p.Header.Addresses("From")
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	t.Logf("%d files, %d defects recorded", len(files), defects)
}

// checkTree asserts that offsets are ordered and nested.
func checkTree(t *testing.T, name string, p *Part, lo, hi int64) {
	t.Helper()
	if !(lo <= p.Offset && p.Offset <= p.BodyOffset && p.BodyOffset <= p.End && p.End <= hi) {
		t.Errorf("%s: part offsets [%d %d %d] outside [%d %d]\n%s", name, p.Offset, p.BodyOffset, p.End, lo, hi, dump(p))
		return
	}
	prev := p.BodyOffset
	for _, c := range p.Parts {
		checkTree(t, name, c, prev, p.End)
		prev = c.End
	}
	if strings.HasPrefix(p.ContentType, "multipart/") && len(p.Parts) == 0 && len(p.Defects) == 0 {
		t.Errorf("%s: multipart without parts and without a defect\n%s", name, dump(p))
	}
}
