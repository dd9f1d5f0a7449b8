package smtpserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"
)

// BenchmarkIdleSessions reports the memory one idle session costs the
// server (heap and goroutine stacks), client sockets included: an idle
// connection must stay small (target: under 16 KiB).
func BenchmarkIdleSessions(b *testing.B) {
	const n = 500
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := New(Config{Hostname: "mx.test"}, &discardBackend{}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	go srv.Serve(context.Background(), ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		conns := make([]net.Conn, 0, n)
		buf := make([]byte, 64)
		for range n {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c.Write([]byte("EHLO client.test\r\n"))
			io.ReadAtLeast(c, buf, 10) // banner (and maybe more)
			conns = append(conns, c)
		}
		time.Sleep(100 * time.Millisecond) // let every session reach its idle read
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapInuse+after.StackInuse-before.HeapInuse-before.StackInuse) / n
		b.ReportMetric(per, "bytes/idle-session")
		for _, c := range conns {
			c.Close()
		}
	}
}
