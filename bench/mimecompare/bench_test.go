package main

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCorpus runs every library over the corpus in one run:
// go test -bench . (MB/s is the corpus size over the time taken).
func BenchmarkCorpus(b *testing.B) {
	files, err := corpusFiles(filepath.Join("..", "..", "..", "shared", "testdata", "mime"))
	if err != nil || len(files) == 0 {
		if os.Getenv("CI") == "true" {
			b.Fatalf("corpus missing: %v", err)
		}
		b.Skipf("corpus missing: %v", err)
	}
	var msgs [][]byte
	var total int64
	for _, f := range files {
		m, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, m)
		total += int64(len(m))
	}
	for _, l := range libs() {
		b.Run(l.name, func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for _, m := range msgs {
					safeRun(l, m)
				}
			}
		})
	}
}
