package smtp

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 600)
	tests := []struct {
		name  string
		input string
		limit int
		want  []string // "!" marks ErrLineTooLong
		final error
	}{
		{"crlf", "HELO a\r\nQUIT\r\n", 512, []string{"HELO a", "QUIT"}, io.EOF},
		{"bare lf", "HELO a\nQUIT\n", 512, []string{"HELO a", "QUIT"}, io.EOF},
		{"bare cr stays", "A\rB\r\n", 512, []string{"A\rB"}, io.EOF},
		{"exact limit", "abc\r\n", 5, []string{"abc"}, io.EOF},
		{"over limit", "abcd\r\nok\r\n", 5, []string{"!", "ok"}, io.EOF},
		{"long over buffer", long + "\r\nok\r\n", 512, []string{"!", "ok"}, io.EOF},
		{"long under limit", long + "\r\nok\r\n", 1000, []string{long, "ok"}, io.EOF},
		{"partial at eof", "QUI", 512, nil, io.ErrUnexpectedEOF},
		{"over limit at eof", long, 512, nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := LineReader{R: bufio.NewReaderSize(strings.NewReader(tt.input), 16)}
			for i, w := range tt.want {
				line, err := lr.ReadLine(tt.limit)
				if w == "!" {
					if !errors.Is(err, ErrLineTooLong) {
						t.Fatalf("line %d: err %v, want ErrLineTooLong", i, err)
					}
					continue
				}
				if err != nil || string(line) != w {
					t.Fatalf("line %d: %q, %v; want %q", i, line, err, w)
				}
			}
			if _, err := lr.ReadLine(tt.limit); !errors.Is(err, tt.final) {
				t.Fatalf("final err %v, want %v", err, tt.final)
			}
		})
	}
}
