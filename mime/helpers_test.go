package mime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// testdataDir is ../shared/testdata beside the repository, or "" when
// it is absent (then tests skip, except under CI=true where they fail).
func testdataDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file)) // the repository
	dir := filepath.Join(root, "..", "shared", "testdata")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing at %s (required when CI=true)", dir)
		}
		t.Skipf("shared test data not found at %s: skipping", dir)
	}
	return dir
}

// leafInfo is what the inspect command reports of a leaf.
type leafInfo struct {
	path, ctype, charset, disp, filename, te string
	size                                     int64
	sha                                      string
}

func leaves(t testing.TB, root *Part) []leafInfo {
	t.Helper()
	var out []leafInfo
	err := root.Leaves(func(path string, p *Part) error {
		h := sha256.New()
		n, err := io.Copy(h, p.Body())
		if err != nil {
			return err
		}
		out = append(out, leafInfo{path, p.ContentType, p.Charset(), p.Disposition, p.Filename(),
			p.TransferEncoding, n, hex.EncodeToString(h.Sum(nil))})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dump renders the tree for failure messages.
func dump(p *Part) string {
	var b strings.Builder
	p.Walk(func(path string, c *Part) error {
		fmt.Fprintf(&b, "%-8q %s te=%s [%d,%d,%d) parts=%d defects=%v\n", path, c.ContentType,
			c.TransferEncoding, c.Offset, c.BodyOffset, c.End, len(c.Parts), c.Defects)
		return nil
	})
	return b.String()
}

func parseFile(t testing.TB, path string) *Part {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseBytes(context.Background(), b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}
