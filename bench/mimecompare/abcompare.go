//go:build ignore

// Command abcompare measures posthorn/mime at the working tree against
// a copy of it at an earlier revision, in one process: full parse and
// decode of the corpus in memory (ParseBytes), through a ReaderAt
// (bytes.Reader) and from files (the six largest), old and new taking
// turns in rounds whose order rotates. It prints the best MB/s of each,
// the median of the per-round speed ratios and the bytes allocated per
// pass. Run it with ab-compare.sh, which builds the old copy.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	oldmime "abcompare/oldmime"
	newmime "github.com/posthorn/posthorn/mime"
)

func consumeNew(root *newmime.Part) {
	root.Walk(func(path string, p *newmime.Part) error {
		if path != "1" || p != root {
			for i := 0; i < p.Header.Len(); i++ {
				_ = newmime.DecodeText(p.Header.Field(i).Value)
			}
		}
		if path == "" && len(p.Parts) == 0 || p.IsMultipart() && len(p.Parts) > 0 {
			return nil
		}
		var body io.Reader = p.Body()
		if strings.HasPrefix(p.ContentType, "text/") {
			if t, err := p.Text(); err == nil {
				body = t
			}
		}
		io.Copy(io.Discard, body)
		return nil
	})
}

func consumeOld(root *oldmime.Part) {
	root.Walk(func(path string, p *oldmime.Part) error {
		if path != "1" || p != root {
			for i := 0; i < p.Header.Len(); i++ {
				_ = oldmime.DecodeText(p.Header.Field(i).Value)
			}
		}
		if path == "" && len(p.Parts) == 0 || p.IsMultipart() && len(p.Parts) > 0 {
			return nil
		}
		var body io.Reader = p.Body()
		if strings.HasPrefix(p.ContentType, "text/") {
			if t, err := p.Text(); err == nil {
				body = t
			}
		}
		io.Copy(io.Discard, body)
		return nil
	})
}

func main() {
	files, msgs, err := loadCorpus(os.Getenv("CORPUS"))
	if err != nil || len(files) < 6 {
		fmt.Fprintln(os.Stderr, "abcompare: no corpus:", err)
		os.Exit(1)
	}
	rounds := 31
	if n, err := strconv.Atoi(os.Getenv("ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	fmt.Printf("%s, %d rounds, old and new alternating, order rotating\n\n", runtime.Version(), rounds)
	fmt.Println("| workload | old MB/s (best) | new MB/s (best) | new/old speed (median of per-round ratios) | old KB allocated/pass | new KB allocated/pass |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, v := range variants(files, msgs) {
		measureAB(v, rounds)
	}
}

// loadCorpus lists the messages under dir and reads them.
func loadCorpus(dir string) (files []string, msgs [][]byte, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "LICENSES" || strings.HasPrefix(d.Name(), ".") && p != dir) {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() != "README.md" && d.Name() != "SOURCES.md" && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		return nil
	})
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		msgs = append(msgs, b)
	}
	return files, msgs, err
}

// variant is one workload: run[0] with the old package, run[1] with the new.
type variant struct {
	name  string
	bytes int64
	run   [2]func()
}

func variants(files []string, msgs [][]byte) []variant {
	ctx := context.Background()
	var total int64
	for _, m := range msgs {
		total += int64(len(m))
	}
	big := slices.Clone(files)
	slices.SortFunc(big, func(a, b string) int { return int(size(b) - size(a)) })
	big = big[:6]
	var bigTotal int64
	for _, f := range big {
		bigTotal += size(f)
	}
	fromFiles := func(parse func(f *os.File, size int64)) func() {
		return func() {
			for _, f := range big {
				if fh, err := os.Open(f); err == nil {
					parse(fh, size(f))
					fh.Close()
				}
			}
		}
	}
	return []variant{
		{"in memory (ParseBytes), whole corpus", total, [2]func(){
			func() {
				for _, m := range msgs {
					r, _ := oldmime.ParseBytes(ctx, m)
					consumeOld(r)
				}
			},
			func() {
				for _, m := range msgs {
					r, _ := newmime.ParseBytes(ctx, m)
					consumeNew(r)
				}
			}}},
		{"ReaderAt (bytes.Reader), whole corpus", total, [2]func(){
			func() {
				for _, m := range msgs {
					r, _ := oldmime.Parse(ctx, bytes.NewReader(m), int64(len(m)))
					consumeOld(r)
				}
			},
			func() {
				for _, m := range msgs {
					r, _ := newmime.Parse(ctx, bytes.NewReader(m), int64(len(m)))
					consumeNew(r)
				}
			}}},
		{"os.File, the 6 largest files", bigTotal, [2]func(){
			fromFiles(func(f *os.File, n int64) {
				r, _ := oldmime.Parse(ctx, f, n)
				consumeOld(r)
			}),
			fromFiles(func(f *os.File, n int64) {
				r, _ := newmime.Parse(ctx, f, n)
				consumeNew(r)
			})}},
	}
}

// measureAB runs both sides of v rounds times, taking turns, and prints
// a table row.
func measureAB(v variant, rounds int) {
	var d [2][]time.Duration
	var alloc [2]uint64
	for r := 0; r < rounds; r++ {
		for k := 0; k < 2; k++ {
			i := (k + r) % 2
			runtime.GC()
			var a, b runtime.MemStats
			runtime.ReadMemStats(&a)
			t := time.Now()
			v.run[i]()
			d[i] = append(d[i], time.Since(t))
			runtime.ReadMemStats(&b)
			alloc[i] = b.TotalAlloc - a.TotalAlloc
		}
	}
	var ratios []float64
	for r := range rounds {
		ratios = append(ratios, d[0][r].Seconds()/d[1][r].Seconds())
	}
	slices.Sort(ratios)
	best := func(x []time.Duration) float64 { return float64(v.bytes) / slices.Min(x).Seconds() / 1e6 }
	fmt.Printf("| %s | %.1f | %.1f | %.2fx | %.0f | %.0f |\n", v.name, best(d[0]), best(d[1]),
		ratios[rounds/2], float64(alloc[0])/1024, float64(alloc[1])/1024)
}

func size(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}
