package loadgen

import (
	"bufio"
	"context"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/loadgen/loadgentest"
)

// BenchmarkRun measures the generator's own cost per message against the
// in-process sink (so it measures client plus sink, on loopback).
func BenchmarkRun(b *testing.B) {
	for _, mode := range []struct {
		name              string
		pipelining, reuse bool
	}{{"lockstep", false, false}, {"reuse", false, true}, {"pipelining-reuse", true, true}} {
		b.Run(mode.name, func(b *testing.B) {
			sink := loadgentest.Start(b, loadgentest.Options{Pipelining: true})
			b.ReportAllocs()
			res, err := Run(context.Background(), Config{
				Target: sink.Addr, Messages: b.N, Size: 4096, Concurrency: 4,
				Pipelining: mode.pipelining, Reuse: mode.reuse,
			})
			if err != nil || res.OK != b.N {
				b.Fatalf("%v, %+v", err, res)
			}
		})
	}
}

func BenchmarkReadReply(b *testing.B) {
	in := "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"
	r := strings.NewReader(in)
	br := bufio.NewReaderSize(r, maxReplyLine)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		br.Reset(r)
		if _, err := readReply(br); err != nil {
			b.Fatal(err)
		}
	}
}
