package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/imapserver/imapwire"
)

// Import sources: a Maildir with Dovecot's Maildir++ folders (".Sent",
// ".Foo.Bar", names in modified UTF-7, flags in the ":2,FRS" info and
// keywords in dovecot-keywords), or an mbox file (mboxrd, flags from
// Status and X-Status).

// maxImportMessage bounds one imported message.
const maxImportMessage = 64 << 20

// importMsg is one message read from a source.
type importMsg struct {
	data  []byte // CRLF line endings
	flags []string
	date  time.Time
}

// folder is one mailbox of a source.
type folder struct {
	name string // posthorn mailbox name ("/" separated)
	dir  string // Maildir folder directory ("" for an mbox)
}

// maildirFolders lists a Maildir's folders: the root is INBOX, ".A.B" is
// "A/B". Directories without cur/ or new/ are skipped.
func maildirFolders(root string) ([]folder, error) {
	out := []folder{{name: "INBOX", dir: root}}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || len(n) < 2 || n[0] != '.' || n == ".." {
			continue
		}
		if !isMaildir(filepath.Join(root, n)) {
			continue
		}
		name, err := maildirFolderName(n[1:])
		if err != nil {
			return nil, fmt.Errorf("folder %q: %w", n, err)
		}
		out = append(out, folder{name: name, dir: filepath.Join(root, n)})
	}
	sort.Slice(out[1:], func(i, j int) bool { return out[1+i].name < out[1+j].name })
	return out, nil
}

// maildirFolderName turns a Maildir++ folder name ("Foo.Bar", modified
// UTF-7) into a mailbox name ("Foo/Bar"). Dovecot's ".INBOX.x" children
// keep their INBOX parent.
func maildirFolderName(n string) (string, error) {
	parts := strings.Split(n, ".")
	for i, p := range parts {
		if p == "" {
			return "", errors.New("empty level in folder name")
		}
		d, err := imapwire.DecodeUTF7(p)
		if err != nil {
			return "", err
		}
		if strings.Contains(d, "/") {
			return "", errors.New(`"/" in a folder name`)
		}
		parts[i] = d
	}
	if strings.EqualFold(parts[0], "INBOX") {
		parts[0] = "INBOX"
	}
	return strings.Join(parts, "/"), nil
}

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// maildirFiles lists a folder's message files in new/ and cur/.
func maildirFiles(dir string) ([]string, error) {
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, filepath.Join(dir, sub, e.Name()))
			}
		}
	}
	// By file name: Maildir names start with the delivery time.
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	return out, nil
}

// dovecotKeywords reads a folder's dovecot-keywords ("0 $Label1" lines):
// the keyword of each info letter a-z.
func dovecotKeywords(dir string) map[byte]string {
	b, err := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if err != nil || len(b) > 1<<20 {
		return nil
	}
	kw := map[byte]string{}
	for _, l := range strings.Split(string(b), "\n") {
		var n int
		var word string
		if _, err := fmt.Sscanf(l, "%d %s", &n, &word); err == nil && n >= 0 && n < 26 && validKeyword(word) {
			kw[byte('a'+n)] = word
		}
	}
	return kw
}

// validKeyword accepts an IMAP atom fit to be a keyword.
func validKeyword(k string) bool {
	return k != "" && len(k) <= 100 && !strings.ContainsAny(k, "(){%*\"\\] ") &&
		!strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f })
}

// maildirFlags maps a file name's info (":2,DFRST" and keyword letters)
// to IMAP flags (Maildir spec; Dovecot's keyword letters).
func maildirFlags(name string, kw map[byte]string) []string {
	_, info, ok := strings.Cut(name, ":2,")
	if !ok {
		_, info, ok = strings.Cut(name, "!2,") // the separator on some file systems
	}
	if !ok {
		return nil
	}
	sys := map[byte]string{'D': `\Draft`, 'F': `\Flagged`, 'R': `\Answered`, 'S': `\Seen`, 'T': `\Deleted`}
	var out []string
	for i := 0; i < len(info); i++ {
		f := sys[info[i]]
		if f == "" {
			f = kw[info[i]]
		}
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// readMaildirMessage reads one file as a message.
func readMaildirMessage(path string, kw map[byte]string) (importMsg, error) {
	f, err := os.Open(path)
	if err != nil {
		return importMsg{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return importMsg{}, err
	}
	if fi.Size() > maxImportMessage {
		return importMsg{}, fmt.Errorf("%s: over %d bytes", path, maxImportMessage)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxImportMessage+1))
	if err != nil {
		return importMsg{}, err
	}
	return importMsg{data: toCRLF(b), flags: maildirFlags(filepath.Base(path), kw), date: fi.ModTime()}, nil
}

// toCRLF ends every line with CRLF (Maildir and mbox files use LF).
func toCRLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b...)
			break
		}
		line := bytes.TrimSuffix(b[:i], []byte("\r"))
		out = append(append(out, line...), '\r', '\n')
		b = b[i+1:]
	}
	return out
}

// mboxReader splits an mbox into messages: each starts at a "From " line
// at the start of the file or after an empty line; ">From " lines are
// unescaped (mboxrd).
type mboxReader struct {
	r       *bufio.Reader
	pending []byte // the "From " line of the next message
	err     error
}

func newMboxReader(r io.Reader) *mboxReader { return &mboxReader{r: bufio.NewReaderSize(r, 64<<10)} }

// readLine reads one line with its LF, bounded by maxImportMessage.
func (m *mboxReader) readLine() ([]byte, error) {
	var line []byte
	for {
		part, err := m.r.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > maxImportMessage {
			return nil, errors.New("mbox line too long")
		}
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// Next returns the next message, or io.EOF after the last.
func (m *mboxReader) Next() (importMsg, error) {
	if m.err != nil {
		return importMsg{}, m.err
	}
	from := m.pending
	for from == nil {
		l, err := m.readLine()
		if len(l) > 0 && bytes.HasPrefix(l, []byte("From ")) {
			from = l
		} else if err != nil {
			m.err = err
			if err == io.EOF {
				return importMsg{}, io.EOF
			}
			return importMsg{}, err
		} else if len(bytes.TrimSpace(l)) > 0 {
			m.err = errors.New(`not an mbox: no "From " line first`)
			return importMsg{}, m.err
		}
	}
	m.pending = nil
	var body []byte
	prevEmpty := false
	for {
		l, err := m.readLine()
		if len(l) > 0 && prevEmpty && bytes.HasPrefix(l, []byte("From ")) {
			m.pending = l
			body = body[:len(body)-1] // the empty line before "From " is the separator
			break
		}
		if len(l) > 0 {
			if u := bytes.TrimLeft(l, ">"); len(u) < len(l) && bytes.HasPrefix(u, []byte("From ")) {
				l = l[1:] // mboxrd: one '>' less
			}
			line := bytes.TrimSuffix(bytes.TrimSuffix(l, []byte("\n")), []byte("\r"))
			prevEmpty = len(line) == 0
			body = append(append(body, line...), '\n')
			if len(body) > maxImportMessage {
				m.err = fmt.Errorf("mbox message over %d bytes", maxImportMessage)
				return importMsg{}, m.err
			}
		}
		if err == io.EOF {
			m.err = io.EOF
			if prevEmpty && len(body) > 1 {
				body = body[:len(body)-1] // the empty line that ends the file
			}
			break
		} else if err != nil {
			m.err = err
			return importMsg{}, err
		}
	}
	msg := importMsg{data: toCRLF(body), date: mboxDate(from)}
	msg.flags = mboxFlags(msg.data)
	if msg.date.IsZero() {
		if h, err := mail.ReadMessage(bytes.NewReader(msg.data)); err == nil {
			msg.date, _ = h.Header.Date()
		}
	}
	return msg, nil
}

// mboxDate parses "From sender Mon Jan  2 15:04:05 2006" (zero on failure).
func mboxDate(from []byte) time.Time {
	f := strings.Fields(string(from))
	if len(f) < 7 {
		return time.Time{}
	}
	for _, layout := range []string{time.ANSIC, "Mon Jan _2 15:04:05 MST 2006", "Mon Jan _2 15:04:05 -0700 2006"} {
		n := len(strings.Fields(layout))
		if len(f) >= 2+n {
			if t, err := time.Parse(layout, strings.Join(f[2:2+n], " ")); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// mboxFlags reads the Status and X-Status headers that mail readers
// write into an mbox: R seen, A answered, F flagged, T draft, D deleted.
func mboxFlags(msg []byte) []string {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(msg)
	}
	var out []string
	for _, line := range bytes.Split(msg[:end], []byte("\r\n")) {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var m map[byte]string
		switch strings.ToLower(string(name)) {
		case "status":
			m = map[byte]string{'R': `\Seen`}
		case "x-status":
			m = map[byte]string{'A': `\Answered`, 'F': `\Flagged`, 'T': `\Draft`, 'D': `\Deleted`}
		default:
			continue
		}
		for _, c := range bytes.TrimSpace(val) {
			if f := m[c]; f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}
