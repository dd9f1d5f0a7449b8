package pop3client

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDotReader(t *testing.T) {
	tests := []struct {
		name, in, want string
		max            int64
		bufSize        int
		wantErr        error
		rest           string // what must remain unread after the terminator
	}{
		{name: "plain", in: "a\r\nb\r\n.\r\nNEXT", want: "a\r\nb\r\n", rest: "NEXT"},
		{name: "empty", in: ".\r\n", want: ""},
		{name: "unstuff", in: "..dot\r\n...\r\n.x\r\n.\r\n", want: ".dot\r\n..\r\nx\r\n"},
		{name: "stuffed lone dot", in: "..\r\n.\r\n", want: ".\r\n"},
		{name: "LF only", in: "a\n..b\n.\nNEXT", want: "a\n.b\n", rest: "NEXT"},
		{name: "dot CR not LF", in: ".\rx\r\n.\r\n", want: "\rx\r\n"},
		{name: "long line crosses buffer", in: strings.Repeat("x", 100) + "\r\n.y\r\n.\r\n", want: strings.Repeat("x", 100) + "\r\ny\r\n", bufSize: 16},
		{name: "dot in long line not at start", in: strings.Repeat("x", 20) + ".\r\n.\r\n", want: strings.Repeat("x", 20) + ".\r\n", bufSize: 16},
		{name: "eof before end", in: "a\r\nb", wantErr: io.ErrUnexpectedEOF},
		{name: "eof after dot", in: "a\r\n.", wantErr: io.ErrUnexpectedEOF},
		{name: "eof at line start", in: "a\r\n", wantErr: io.ErrUnexpectedEOF},
		{name: "too big", in: "0123456789\r\n.\r\n", max: 5, wantErr: ErrTooLong},
		{name: "exactly max", in: "0123\r\n.\r\n", max: 6, want: "0123\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.bufSize
			if size == 0 {
				size = 4096
			}
			br := bufio.NewReaderSize(strings.NewReader(tt.in), size)
			max := tt.max
			if max == 0 {
				max = 1 << 20
			}
			got, err := io.ReadAll(newDotReader(br, max))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tt.rest {
				t.Errorf("left %q, want %q", rest, tt.rest)
			}
		})
	}
}

func TestReadLines(t *testing.T) {
	tests := []struct {
		name, in string
		maxLine  int
		maxLines int
		want     []string
		wantErr  error
	}{
		{name: "ok", in: "1 10\r\n..2 x\r\n.\r\n", maxLine: 100, maxLines: 10, want: []string{"1 10", ".2 x"}},
		{name: "too many", in: "a\r\nb\r\nc\r\n.\r\n", maxLine: 100, maxLines: 2, wantErr: ErrTooLong},
		{name: "line too long", in: strings.Repeat("a", 50) + "\r\n.\r\n", maxLine: 20, maxLines: 2, wantErr: ErrTooLong},
		{name: "eof", in: "a\r\n", maxLine: 100, maxLines: 10, wantErr: io.EOF},
		{name: "eof mid line", in: "a\r\nb", maxLine: 100, maxLines: 10, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := readLines(bufio.NewReaderSize(strings.NewReader(tt.in), 32), tt.maxLine, tt.maxLines, func(l []byte) error {
				got = append(got, string(l))
				return nil
			})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// FuzzDotReader checks that the multi-line reader never panics and never
// returns more than its limit.
func FuzzDotReader(f *testing.F) {
	f.Add([]byte("a\r\n..b\r\n.\r\n"), uint16(100))
	f.Add([]byte(".\n"), uint16(1))
	f.Fuzz(func(t *testing.T, in []byte, max uint16) {
		br := bufio.NewReaderSize(strings.NewReader(string(in)), 16)
		got, err := io.ReadAll(newDotReader(br, int64(max)))
		if int64(len(got)) > int64(max) {
			t.Fatalf("read %d octets over the limit %d", len(got), max)
		}
		if err == nil && len(in) > 0 && len(got) == 0 && in[0] != '.' {
			t.Fatalf("input %q not starting with a dot gave an empty body", in)
		}
	})
}
