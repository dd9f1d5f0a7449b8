package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReadReply(t *testing.T) {
	long := "220 " + strings.Repeat("x", maxLine) + "\r\n"
	tests := []struct {
		name, in string
		code     int
		text     string
		wantErr  bool
	}{
		{"single", "220 mx.example.test ESMTP\r\n", 220, "mx.example.test ESMTP", false},
		{"multi", "220-mx\r\n220-more\r\n220 end\r\n", 220, "mx more end", false},
		{"bare code", "250\r\n", 250, "", false},
		{"bad code", "abc hello\r\n", 0, "", true},
		{"code out of range", "999 no\r\n", 0, "", true},
		{"bad separator", "220xhello\r\n", 0, "", true},
		{"short", "22\r\n", 0, "", true},
		{"eof mid reply", "220-first\r\n", 0, "", true},
		{"too long", long, 0, "", true},
		{"too many lines", strings.Repeat("220-x\r\n", maxReplyLines+1), 0, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, text, err := readReply(bufio.NewReaderSize(strings.NewReader(tc.in), 512))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if code != tc.code || text != tc.text {
				t.Errorf("got %d %q, want %d %q", code, text, tc.code, tc.text)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name              string
		in                string
		rss, hwm, threads int64
		wantErr           bool
	}{
		{"all", "Name:\tposthorn\nVmHWM:\t  4096 kB\nVmRSS:\t  2048 kB\nThreads:\t7\n", 2048, 4096, 7, false},
		{"missing rss", "VmHWM:\t4096 kB\nThreads:\t7\n", 0, 0, 0, true},
		{"empty value", "VmRSS:\nVmHWM:\t1 kB\nThreads:\t1\n", 0, 0, 0, true},
		{"not a number", "VmRSS:\tlots kB\nVmHWM:\t1 kB\nThreads:\t1\n", 0, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rss, hwm, th, err := parseStatus([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if rss != tc.rss || hwm != tc.hwm || th != tc.threads {
				t.Errorf("got %d %d %d, want %d %d %d", rss, hwm, th, tc.rss, tc.hwm, tc.threads)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
	}{
		{nil, false},
		{[]string{"-conns", "5", "-sources", "0"}, false},
		{[]string{"-conns", "-1"}, true},
		{[]string{"-sources", "251"}, true},
		{[]string{"-parallel", "0"}, true},
		{[]string{"extra"}, true},
	}
	for _, tc := range tests {
		if _, err := parseFlags(tc.args); (err != nil) != tc.wantErr {
			t.Errorf("parseFlags(%q) err = %v, want error %v", tc.args, err, tc.wantErr)
		}
	}
}

// fakeServer greets every connection and answers NOOP with 250, as an
// SMTP server would, until the test ends.
func fakeServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				io.WriteString(c, "220 fake ESMTP\r\n")
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(line, "QUIT") {
						io.WriteString(c, "221 bye\r\n")
						c.Close()
						return
					}
					io.WriteString(c, "250 ok\r\n")
				}
			})
		}
	})
	return ln.Addr().String()
}

func TestRunHoldsAndProbes(t *testing.T) {
	addr := fakeServer(t)
	cfg := config{target: addr, conns: 40, sources: 0, parallel: 8, probes: 3,
		pid: os.Getpid(), timeout: 10 * time.Second, noops: 10}
	res, err := run(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if res.Held != 40 || len(res.BannerMs) != 3 || res.NoopOK != 10 || res.NoopTried != 10 {
		t.Errorf("held=%d probes=%d noop=%d/%d, want 40, 3, 10/10", res.Held, len(res.BannerMs), res.NoopOK, res.NoopTried)
	}
	if res.RSSHeldKiB <= 0 || res.HWMKiB < res.RSSHeldKiB || res.ServerThreads < 1 {
		t.Errorf("memory of own process: rss=%d hwm=%d threads=%d", res.RSSHeldKiB, res.HWMKiB, res.ServerThreads)
	}
	var sb strings.Builder
	res.write(&sb)
	if !strings.Contains(sb.String(), "held=40 ") || !strings.Contains(sb.String(), "noop_ok=10/10") {
		t.Errorf("report: %q", sb.String())
	}
}

func TestRunRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := config{target: addr, conns: 5, parallel: 2, timeout: 5 * time.Second}
	res, err := run(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("want an error from a closed port")
	}
	if res == nil || res.Held != 0 {
		t.Errorf("res = %+v, want nothing held", res)
	}
}
