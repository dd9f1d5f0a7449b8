package loadgen

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// scripted serves each connection with a fixed dialogue: for each step,
// read one line (unless expect is empty) and write reply as is.
func scripted(t *testing.T, steps [][2]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(time.Minute))
				br := bufio.NewReader(nc)
				for _, s := range steps {
					if s[0] != "" {
						line, err := br.ReadString('\n')
						if err != nil || !strings.HasPrefix(line, s[0]) {
							return
						}
					}
					if _, err := nc.Write([]byte(s[1])); err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

func TestRunScripted(t *testing.T) {
	tests := []struct {
		name   string
		steps  [][2]string
		mode   TLSMode
		failed map[int]int
		errSub string
	}{
		{"STARTTLS injection", [][2]string{
			{"", "220 hi\r\n"},
			{"EHLO", "250-x\r\n250 STARTTLS\r\n"},
			{"STARTTLS", "220 go\r\n250 injected\r\n"},
		}, TLSStartTLS, map[int]int{0: 1}, "after the STARTTLS reply"},
		{"greeting refused", [][2]string{{"", "554 go away\r\n"}}, TLSNone, map[int]int{554: 1}, "greeting: 554"},
		{"garbage greeting", [][2]string{{"", "HTTP/1.1 400 Bad\r\n"}}, TLSNone, map[int]int{0: 1}, "bad reply line"},
		{"EHLO refused", [][2]string{{"", "220 hi\r\n"}, {"EHLO", "502 no\r\n"}}, TLSNone, map[int]int{502: 1}, "EHLO: 502"},
		{"hang up after MAIL", [][2]string{{"", "220 hi\r\n"}, {"EHLO", "250 x\r\n"}, {"MAIL", ""}}, TLSNone, map[int]int{0: 1}, "EOF"},
		{"SIZE declared", [][2]string{
			{"", "220 hi\r\n"},
			{"EHLO", "250-x\r\n250 SIZE 10\r\n"},
			{"MAIL FROM:<bench@localhost> SIZE=", "552 too big\r\n"},
		}, TLSNone, map[int]int{552: 1}, "MAIL: 552"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := scripted(t, tt.steps)
			res, err := Run(context.Background(), Config{Target: addr, Messages: 1, Concurrency: 1, TLS: tt.mode, Insecure: true, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if !mapsEqual(res.Failed, tt.failed) || !strings.Contains(res.FirstError, tt.errSub) {
				t.Errorf("failed %v, first error %q; want %v, %q", res.Failed, res.FirstError, tt.failed, tt.errSub)
			}
		})
	}
}
