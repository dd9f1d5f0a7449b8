package submitclient

import (
	"bufio"
	"strings"

	"github.com/posthorn/posthorn/internal/smtp"
)

func lineReader(s string) *smtp.LineReader {
	return &smtp.LineReader{R: bufio.NewReader(strings.NewReader(s))}
}
