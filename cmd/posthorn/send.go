package main

// posthorn send: compose a MIME message (or take one on stdin) and submit
// it with AUTH, as mutt or msmtp would.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/posthorn/posthorn/internal/submitclient"
	"github.com/posthorn/posthorn/mime"
)

// Bounds of what send reads: a text or HTML body, the header of a --raw
// message, and a --raw message.
const (
	maxSendBody   = 64 << 20
	maxRawHeader  = 1 << 20
	maxRawMessage = 1 << 30
)

type sendOpts struct {
	conn                muaFlags
	from, subject       string
	to, cc, bcc, attach stringList
	body, html          string
	raw, dryRun         bool
	tlsMode             tlsMode
}

func cmdSend(ctx context.Context, io *stdio, args []string) int {
	return exitCode(io.err, "send", runSend(ctx, io, args))
}

func parseSend(args []string) (*sendOpts, error) {
	o := &sendOpts{}
	fs := newFlags("send")
	o.conn.register(fs)
	fs.StringVar(&o.from, "from", "", "the sender, \"Name <addr>\" or addr")
	fs.Var(&o.to, "to", "a recipient (repeatable; may be a comma-separated list)")
	fs.Var(&o.cc, "cc", "a copy recipient (repeatable)")
	fs.Var(&o.bcc, "bcc", "a blind copy recipient: in the envelope only (repeatable)")
	fs.StringVar(&o.subject, "subject", "", "the subject")
	fs.StringVar(&o.body, "body", "", "the text body from FILE, or - for stdin")
	fs.StringVar(&o.html, "html", "", "an HTML alternative from FILE")
	fs.Var(&o.attach, "attach", "a file to attach (repeatable)")
	fs.BoolVar(&o.raw, "raw", false, "send the message on stdin as it is")
	fs.BoolVar(&o.dryRun, "dry-run", false, "write the message to stdout instead of sending it")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usageError("unexpected argument %q", pos[0])
	}
	stdinReaders := 0
	for _, b := range []bool{o.raw, o.body == "-", o.html == "-", o.conn.pwStdin} {
		if b {
			stdinReaders++
		}
	}
	switch {
	case stdinReaders > 1:
		return nil, usageError("only one of --raw, --body -, --html - and --password-stdin may read stdin")
	case o.raw && (o.subject != "" || o.body != "" || o.html != "" || len(o.attach) > 0):
		return nil, usageError("--raw sends stdin as it is: no --subject, --body, --html or --attach")
	case !o.raw && o.from == "":
		return nil, usageError("--from is required")
	case !o.raw && len(o.to)+len(o.cc)+len(o.bcc) == 0:
		return nil, usageError("give at least one --to, --cc or --bcc")
	}
	if !o.dryRun {
		if o.tlsMode, err = o.conn.resolveTLS("465", "2465"); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func runSend(ctx context.Context, sio *stdio, args []string) error {
	o, err := parseSend(args)
	if err != nil {
		return err
	}
	var pass string
	if o.conn.user != "" && !o.dryRun {
		if pass, err = muaPassword(sio, o.conn.pwStdin, o.conn.user, o.conn.server); err != nil {
			return err
		}
	}
	spool, err := os.CreateTemp("", "posthorn-send-*")
	if err != nil {
		return err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	var env submitclient.Envelope
	if o.raw {
		env, err = spoolRaw(ctx, sio.in, spool, o)
	} else {
		env, err = compose(ctx, sio.in, spool, o)
	}
	if err != nil {
		return err
	}
	size, err := spool.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if o.dryRun {
		_, err := io.Copy(sio.out, spool)
		return err
	}
	cfg, err := o.conn.tlsConfig(sio)
	if err != nil {
		return err
	}
	mode := map[string]submitclient.TLSMode{"none": submitclient.TLSNone, "starttls": submitclient.TLSStartTLS, "implicit": submitclient.TLSImplicit}[o.tlsMode.mode]
	so := submitclient.Options{TLS: mode, TLSConfig: cfg, AllowPlaintextAuth: o.tlsMode.explicit && o.tlsMode.mode == "none"}
	err = submitclient.Submit(ctx, o.conn.server, so, o.conn.user, pass, env, bufio.NewReaderSize(spool, 64*1024), size)
	if err != nil {
		return fmt.Errorf("%s: %w", o.conn.server, err)
	}
	fmt.Fprintf(sio.out, "sent to %s via %s\n", strings.Join(env.To, ", "), o.conn.server)
	return nil
}

// parseAddrs parses each flag value as an address list.
func parseAddrs(flag string, vals []string) ([]mime.Address, error) {
	var out []mime.Address
	for _, v := range vals {
		as, err := mime.ParseAddressList(v)
		if err != nil || len(as) == 0 {
			return nil, usageError("--%s %q: not an address (%v)", flag, v, err)
		}
		for _, a := range as {
			if !strings.Contains(a.Address, "@") {
				return nil, usageError("--%s %q: %q is not an address", flag, v, a.Address)
			}
		}
		out = append(out, as...)
	}
	return out, nil
}

// envelopeTo lists the recipients once each (case-insensitively).
func envelopeTo(lists ...[]mime.Address) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, a := range l {
			if k := strings.ToLower(a.Address); !seen[k] {
				seen[k] = true
				out = append(out, a.Address)
			}
		}
	}
	return out
}

// compose builds the message with the MIME library into spool.
func compose(ctx context.Context, stdin io.Reader, spool io.Writer, o *sendOpts) (submitclient.Envelope, error) {
	var env submitclient.Envelope
	from, err := parseAddrs("from", []string{o.from})
	if err != nil {
		return env, err
	}
	if len(from) != 1 {
		return env, usageError("--from %q: give one address", o.from)
	}
	b := &mime.Builder{From: from[0], Subject: o.subject}
	if b.To, err = parseAddrs("to", o.to); err != nil {
		return env, err
	}
	if b.Cc, err = parseAddrs("cc", o.cc); err != nil {
		return env, err
	}
	if b.Bcc, err = parseAddrs("bcc", o.bcc); err != nil {
		return env, err
	}
	if b.Text, err = readBody(stdin, "--body", o.body); err != nil {
		return env, err
	}
	if b.HTML, err = readBody(stdin, "--html", o.html); err != nil {
		return env, err
	}
	for _, path := range o.attach {
		a, err := attachment(path)
		if err != nil {
			return env, err
		}
		b.Attachments = append(b.Attachments, a)
	}
	if _, err := b.Write(ctx, spool); err != nil {
		return env, fmt.Errorf("composing the message: %w", err)
	}
	// Bcc goes into the envelope only; the Builder never writes it.
	return submitclient.Envelope{From: from[0].Address, To: envelopeTo(b.To, b.Cc, b.Bcc)}, nil
}

// readBody reads a body from a file or, for "-", stdin.
func readBody(stdin io.Reader, flag, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flag, err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSendBody+1))
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if len(data) > maxSendBody {
		return "", fmt.Errorf("%s %s: larger than %d bytes (attach it instead)", flag, path, maxSendBody)
	}
	return string(data), nil
}

// attachment checks that path is a readable regular file now, so a bad
// name fails before anything is sent, and streams it when the message is
// written.
func attachment(path string) (mime.Attachment, error) {
	f, err := os.Open(path)
	if err != nil {
		return mime.Attachment{}, fmt.Errorf("--attach: %w", err)
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return mime.Attachment{}, fmt.Errorf("--attach: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return mime.Attachment{}, fmt.Errorf("--attach %s: not a regular file", path)
	}
	return mime.Attachment{
		Filename: filepath.Base(path),
		Open:     func() (io.ReadCloser, error) { return os.Open(path) },
	}, nil
}

// spoolRaw copies a message from stdin to spool without its Bcc fields,
// and takes the envelope from the flags or else from the header (From;
// To, Cc and Bcc, as sendmail -t does).
func spoolRaw(ctx context.Context, stdin io.Reader, spool io.Writer, o *sendOpts) (submitclient.Envelope, error) {
	var env submitclient.Envelope
	br := bufio.NewReaderSize(stdin, 64*1024)
	head, err := readRawHeader(br)
	if err != nil {
		return env, err
	}
	root, err := mime.ParseBytes(ctx, head)
	if err != nil {
		return env, fmt.Errorf("--raw: reading the header: %w", err)
	}
	h := &root.Header
	fromList := []string{o.from}
	if o.from == "" {
		fromList = []string{h.Get("From")}
	}
	from, err := parseAddrs("from", fromList)
	if err != nil {
		return env, fmt.Errorf("--raw: no sender: give --from or a From field: %w", err)
	}
	rcpts := map[string][]string{"to": o.to, "cc": o.cc, "bcc": o.bcc}
	if len(o.to)+len(o.cc)+len(o.bcc) == 0 {
		rcpts = map[string][]string{"to": h.Values("To"), "cc": h.Values("Cc"), "bcc": h.Values("Bcc")}
	}
	var lists [][]mime.Address
	for _, k := range []string{"to", "cc", "bcc"} {
		l, err := parseAddrs(k, rcpts[k])
		if err != nil {
			return env, err
		}
		lists = append(lists, l)
	}
	env = submitclient.Envelope{From: from[0].Address, To: envelopeTo(lists...)}
	if len(env.To) == 0 {
		return env, usageError("--raw: no recipients: give --to/--cc/--bcc or To/Cc/Bcc fields")
	}
	cw := &eightBitWriter{w: spool}
	for _, f := range h.Fields() {
		if !strings.EqualFold(f.Name, "Bcc") {
			cw.Write([]byte(f.Raw))
		}
	}
	cw.Write([]byte("\r\n"))
	n, err := io.Copy(cw, io.LimitReader(br, maxRawMessage+1))
	if err != nil {
		return env, fmt.Errorf("--raw: reading stdin: %w", err)
	}
	if n > maxRawMessage {
		return env, fmt.Errorf("--raw: message larger than %d bytes", maxRawMessage)
	}
	env.EightBit = cw.eightBit
	return env, cw.err
}

// readRawHeader reads the header section up to and including the blank
// line (CRLF or LF), at most maxRawHeader bytes.
func readRawHeader(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if len(head) > maxRawHeader {
			return nil, fmt.Errorf("--raw: header larger than %d bytes", maxRawHeader)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("--raw: reading stdin: %w", err)
		}
		if t := bytes.TrimRight(line, "\r\n"); len(t) == 0 || err != nil {
			if len(head) == 0 {
				return nil, usageError("--raw: no message on stdin")
			}
			return head, nil
		}
	}
}

// eightBitWriter notes whether any octet over 127 passes (BODY=8BITMIME)
// and keeps the first write error.
type eightBitWriter struct {
	w        io.Writer
	eightBit bool
	err      error
}

func (e *eightBitWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if !e.eightBit {
		for _, c := range p {
			if c >= 0x80 {
				e.eightBit = true
				break
			}
		}
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
