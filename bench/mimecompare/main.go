package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/mime"
)

func main() {
	corpus := flag.String("corpus", filepath.Join("..", "..", "..", "shared", "testdata", "mime"), "the MIME corpus")
	largest := flag.Int("largest", 5, "files for the peak-heap table")
	rounds := flag.Int("rounds", 10, "interleaved timing rounds (the best counts; 0: peak heap only)")
	synthetic := flag.Int("synthetic", 50, "also measure peak heap on a made-up message with an attachment of this many MB (0: none)")
	peakRuns := flag.Int("peakruns", 7, "peak-heap measurements per library and file (median and maximum reported)")
	flag.Parse()
	files, err := corpusFiles(*corpus)
	if err != nil || len(files) == 0 {
		fmt.Fprintln(os.Stderr, "mimecompare: no corpus:", err)
		os.Exit(1)
	}
	// Peak heap first, while the live heap is small, so garbage
	// allowed by the GC pacer does not hide what a library holds.
	extra := ""
	if *synthetic > 0 {
		if extra, err = syntheticMessage(*synthetic); err != nil {
			fmt.Fprintln(os.Stderr, "mimecompare:", err)
			os.Exit(1)
		}
		defer os.Remove(extra)
	}
	peakHeap(append([]string(nil), files...), *largest, extra, max(*peakRuns, 1))
	if *rounds <= 0 {
		return
	}
	msgs := make([][]byte, len(files))
	var total int64
	for i, f := range files {
		if msgs[i], err = os.ReadFile(f); err != nil {
			fmt.Fprintln(os.Stderr, "mimecompare:", err)
			os.Exit(1)
		}
		total += int64(len(msgs[i]))
	}
	fmt.Printf("Corpus: %d files, %.1f MB.\n\n", len(msgs), float64(total)/1e6)
	throughput(msgs, files, total, *rounds)
}

// corpusFiles lists the messages (not README, SOURCES, LICENSES, dot files).
func corpusFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && name == "LICENSES" || strings.HasPrefix(name, ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && name != "README.md" && name != "SOURCES.md" {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// result is one library's figures on one set of messages.
type result struct {
	mbs, allocs, kb float64
	rounds          []time.Duration // one pass per round, in round order
}

// medianRatio is the median over rounds of a's speed over b's, each
// ratio taken from two passes seconds apart in the same round.
func medianRatio(a, b result) float64 {
	var rs []float64
	for i := range min(len(a.rounds), len(b.rounds)) {
		rs = append(rs, b.rounds[i].Seconds()/a.rounds[i].Seconds())
	}
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	if n := len(rs); n%2 == 0 {
		return (rs[n/2-1] + rs[n/2]) / 2
	}
	return rs[len(rs)/2]
}

// throughput measures each library on the whole corpus and on the
// files that every library reads, interleaving the libraries in rounds
// and keeping each one's best round, so that load from other processes
// on a shared machine does not decide the comparison.
func throughput(msgs [][]byte, files []string, total int64, rounds int) {
	ls := libs()
	fails := make([][]bool, len(ls))
	common := make([]bool, len(msgs))
	for i := range common {
		common[i] = true
	}
	for li, l := range ls {
		fails[li] = make([]bool, len(msgs))
		for i, m := range msgs {
			if err := safeRun(l, m); err != nil {
				fails[li][i], common[i] = true, false
			}
		}
	}
	var commonMsgs [][]byte
	for i, m := range msgs {
		if common[i] {
			commonMsgs = append(commonMsgs, m)
		}
	}
	all := measureSet(ls, msgs, rounds)
	sub := measureSet(ls, commonMsgs, rounds)
	fmt.Printf("%d interleaved rounds, the order rotating; MB/s from each library's best round. \"All\": the %d corpus files (%.1f MB), whether or not the library gives up on a file\n", rounds, len(msgs), float64(total)/1e6)
	fmt.Printf("(giving up early is cheap). \"Common\": the %d files (%.1f MB) that every library reads without error.\n\n", len(commonMsgs), float64(sumLen(commonMsgs))/1e6)
	fmt.Println("| library | MB/s all | MB/s common | vs go-message (common, best rounds) | vs go-message (common, median of per-round ratios) | allocs/msg (common) | KB allocated/msg (common) | files given up |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	gm := 0
	for i, l := range ls {
		if strings.Contains(l.name, "go-message") {
			gm = i
		}
	}
	for i, l := range ls {
		n := 0
		for _, f := range fails[i] {
			if f {
				n++
			}
		}
		fmt.Printf("| %s | %.1f | %.1f | %.2fx | %.2fx | %.0f | %.1f | %d |\n", l.name, all[i].mbs, sub[i].mbs,
			sub[i].mbs/sub[gm].mbs, medianRatio(sub[i], sub[gm]), sub[i].allocs, sub[i].kb, n)
	}
	fmt.Println()
	for li, l := range ls {
		var ex []string
		n := 0
		for i, f := range fails[li] {
			if f {
				n++
				if len(ex) < 4 {
					err := safeRun(l, msgs[i])
					ex = append(ex, fmt.Sprintf("%s (%s)", rel(files[i]), oneLine(err)))
				}
			}
		}
		if n > 0 {
			fmt.Printf("- %s gives up on %d files, e.g. %s\n", l.name, n, strings.Join(ex, "; "))
		}
	}
	fmt.Println()
}

func sumLen(msgs [][]byte) (n int64) {
	for _, m := range msgs {
		n += int64(len(m))
	}
	return n
}

// measureSet times one pass of each library over msgs, rounds times,
// interleaved in an order that rotates, and keeps every pass (the
// fastest gives MB/s); allocations come from one pass.
func measureSet(ls []lib, msgs [][]byte, rounds int) []result {
	best := make([]time.Duration, len(ls))
	res := make([]result, len(ls))
	for r := 0; r < rounds; r++ {
		for k := range ls {
			i := (k + r) % len(ls) // the order rotates from round to round
			l := ls[i]
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			for _, m := range msgs {
				safeRun(l, m)
			}
			d := time.Since(start)
			runtime.ReadMemStats(&after)
			res[i].rounds = append(res[i].rounds, d)
			if r == 0 || d < best[i] {
				best[i] = d
			}
			n := float64(len(msgs))
			res[i].allocs = float64(after.Mallocs-before.Mallocs) / n
			res[i].kb = float64(after.TotalAlloc-before.TotalAlloc) / n / 1024
		}
	}
	total := float64(sumLen(msgs))
	for i := range res {
		res[i].mbs = total / best[i].Seconds() / 1e6
	}
	return res
}

// safeRun turns a panic into an error: a library that panics gives up.
func safeRun(l lib, m []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return runBytes(l, m)
}

// peakHeap reads each of the largest files from disk (the others as an
// io.Reader, posthorn through the file's ReaderAt) and samples the
// heap while the library parses and decodes it, with GOGC=1 so that
// garbage hardly counts. Each library is measured runs times per file,
// the libraries taking turns; the median and the largest peak are
// reported, as one sample depends on when the collector happens to run.
func peakHeap(files []string, n int, extra string, runs int) {
	sort.Slice(files, func(i, j int) bool { return size(files[i]) > size(files[j]) })
	files = files[:min(n, len(files))]
	if extra != "" {
		files = append([]string{extra}, files...)
	}
	fmt.Printf("%s, %s/%s, GOMAXPROCS=%d\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Println("Peak heap while parsing and decoding the largest files, as a fraction of the message size")
	fmt.Printf("(read from the file; heap sampled every 0.1 ms with GOGC=1, so garbage hardly counts;\n")
	fmt.Printf("median of %d runs per library and file, the libraries taking turns, then the largest of the %d in brackets):\n", runs, runs)
	fmt.Println()
	head := "| file | size |"
	sep := "|---|---:|"
	ls := libs()
	for _, l := range ls {
		head += " " + l.name + " |"
		sep += "---:|"
	}
	head += " " + ls[0].name + ": all bytes allocated |"
	sep += "---:|"
	fmt.Println(head)
	fmt.Println(sep)
	old := debug.SetGCPercent(1)
	defer debug.SetGCPercent(old)
	for _, f := range files {
		peaks := make([][]uint64, len(ls))
		failed := make([]bool, len(ls))
		for r := 0; r < runs; r++ {
			for i, l := range ls {
				if failed[i] {
					continue
				}
				peak, err := measure(l, f)
				if err != nil {
					failed[i] = true
					continue
				}
				peaks[i] = append(peaks[i], peak)
			}
		}
		sz := float64(size(f))
		line := fmt.Sprintf("| %s | %.2f MB |", rel(f), sz/1e6)
		for i := range ls {
			if failed[i] {
				line += " gave up |"
				continue
			}
			p := peaks[i]
			slices.Sort(p)
			med, top := float64(p[len(p)/2]), float64(p[len(p)-1])
			line += fmt.Sprintf(" %.3fx (%.3fx) %s |", med/sz, top/sz, kb(med))
		}
		if all, err := allocated(ls[0], f); err == nil {
			line += fmt.Sprintf(" %.3fx %s |", float64(all)/sz, kb(float64(all)))
		} else {
			line += " gave up |"
		}
		fmt.Println(line)
	}
	fmt.Println()
}

// kb formats a byte count for the peak-heap table.
func kb(n float64) string {
	if n >= 10e6 {
		return fmt.Sprintf("%.0f MB", n/1e6)
	}
	return fmt.Sprintf("%.0f KB", n/1e3)
}

// allocated runs l on the file with its pools empty and returns every
// byte it allocated: garbage and pooled buffers included, so an upper
// bound on its peak heap that no sampling can miss.
func allocated(l lib, path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	runtime.GC()
	runtime.GC() // a sync.Pool survives one collection, not two
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = l.run(f, f, st.Size())
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// measure runs l on the file and returns the peak heap above the
// baseline.
func measure(l lib, path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var s runtime.MemStats
		for {
			runtime.ReadMemStats(&s)
			if s.HeapAlloc > base && s.HeapAlloc-base > peak.Load() {
				peak.Store(s.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			default:
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	st, _ := f.Stat()
	err = l.run(f, f, st.Size())
	close(done)
	<-stopped
	return peak.Load(), err
}

func size(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

func rel(p string) string {
	if strings.Contains(p, "mimecompare-synthetic") {
		return "synthetic: text + base64 attachment"
	}
	if i := strings.Index(p, "/mime/"); i >= 0 {
		return p[i+6:]
	}
	return p
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

// syntheticMessage writes a message with a text part and an attachment
// of mb megabytes (pseudo-random bytes, base64) to a temporary file.
func syntheticMessage(mb int) (string, error) {
	f, err := os.CreateTemp("", "mimecompare-synthetic-*.eml")
	if err != nil {
		return "", err
	}
	defer f.Close()
	var seed [32]byte
	rng := rand.NewChaCha8(seed)
	b := &mime.Builder{From: mime.Address{Address: "a@example.test"}, To: []mime.Address{{Address: "b@example.test"}},
		Subject: "big", Text: "see the attachment",
		Attachments: []mime.Attachment{{Filename: "big.bin", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.LimitReader(rng, int64(mb)<<20)), nil
		}}}}
	if _, err := b.Write(context.Background(), f); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}
