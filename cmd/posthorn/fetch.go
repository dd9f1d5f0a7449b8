package main

// posthorn fetch: a POP3 client that lists a maildrop or saves its
// messages into a Maildir, an mbox or a directory of .eml files.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/pop3client"
)

// fetchOpts are the parsed flags of fetch.
type fetchOpts struct {
	conn               muaFlags
	list, onlyNew, del bool
	state              string
	maildir, mbox, dir string
	tlsMode            tlsMode
}

func cmdFetch(ctx context.Context, io *stdio, args []string) int {
	return exitCode(io.err, "fetch", runFetch(ctx, io, args))
}

func parseFetch(args []string) (*fetchOpts, error) {
	o := &fetchOpts{}
	fs := newFlags("fetch")
	o.conn.register(fs)
	fs.BoolVar(&o.list, "list", false, "list the maildrop: number, size, UIDL")
	fs.BoolVar(&o.onlyNew, "new", false, "only messages whose UIDL was not fetched before")
	fs.BoolVar(&o.del, "delete", false, "delete each message on the server once it is saved")
	fs.StringVar(&o.state, "state", "", "the file remembering fetched UIDLs")
	fs.StringVar(&o.maildir, "maildir", "", "save into this Maildir")
	fs.StringVar(&o.mbox, "mbox", "", "append to this mbox file (mboxrd)")
	fs.StringVar(&o.dir, "dir", "", "save one .eml file each into this directory")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usageError("unexpected argument %q", pos[0])
	}
	if o.tlsMode, err = o.conn.resolveTLS("995", "2995"); err != nil {
		return nil, err
	}
	if o.conn.user == "" {
		return nil, usageError("--user is required")
	}
	dests := 0
	for _, d := range []string{o.maildir, o.mbox, o.dir} {
		if d != "" {
			dests++
		}
	}
	switch {
	case o.list && (dests > 0 || o.del || o.onlyNew):
		return nil, usageError("--list takes no destination, --new or --delete")
	case !o.list && dests != 1:
		return nil, usageError("give exactly one of --maildir DIR, --mbox FILE, --dir DIR (or --list)")
	}
	return o, nil
}

func runFetch(ctx context.Context, sio *stdio, args []string) error {
	o, err := parseFetch(args)
	if err != nil {
		return err
	}
	cfg, err := o.conn.tlsConfig(sio)
	if err != nil {
		return err
	}
	pass, err := muaPassword(sio, o.conn.pwStdin, o.conn.user, o.conn.server)
	if err != nil {
		return err
	}
	mode := map[string]pop3client.TLSMode{"none": pop3client.TLSNone, "starttls": pop3client.TLSStartTLS, "implicit": pop3client.TLSImplicit}[o.tlsMode.mode]
	c, err := pop3client.Dial(ctx, o.conn.server, pop3client.Options{
		TLS: mode, TLSConfig: cfg,
		AllowPlaintextAuth: o.tlsMode.explicit && o.tlsMode.mode == "none",
	})
	if err != nil {
		return fmt.Errorf("%s: %w", o.conn.server, err)
	}
	defer c.Close()
	if err := c.Login(ctx, o.conn.user, pass); err != nil {
		return fmt.Errorf("%s: %w", o.conn.server, err)
	}
	msgs, err := c.Maildrop(ctx)
	noUIDL := errors.Is(err, pop3client.ErrNoUIDL)
	if err != nil && !noUIDL {
		return err
	}
	if o.list {
		for _, m := range msgs {
			fmt.Fprintln(sio.out, strings.TrimSpace(fmt.Sprintf("%d %d %s", m.Number, m.Size, m.UID)))
		}
		return c.Quit(ctx)
	}
	if noUIDL && o.onlyNew {
		return fmt.Errorf("--new needs UIDL, which the server refused: %w", err)
	}
	return fetchAll(ctx, sio, o, c, msgs, noUIDL)
}

// fetchAll saves the messages (those not seen before, with --new),
// deleting each once it is durable with --delete, then QUITs.
func fetchAll(ctx context.Context, sio *stdio, o *fetchOpts, c *pop3client.Client, msgs []pop3client.Message, noUIDL bool) (err error) {
	var st *fetchState
	if !noUIDL {
		st, err = loadFetchState(sio, o.state, o.conn.user+"@"+o.conn.server)
		if err != nil && (o.onlyNew || o.state != "") {
			return err
		}
		if err != nil {
			fmt.Fprintf(sio.err, "posthorn fetch: warning: %v (UIDLs will not be remembered)\n", err)
			st = nil
		}
	}
	todo := msgs[:0:0]
	var total int64
	for _, m := range msgs {
		if o.onlyNew && st.seen[m.UID] {
			continue
		}
		todo = append(todo, m)
		total += m.Size
	}
	sink, err := openSink(o)
	if err != nil {
		return err
	}
	if st != nil {
		st.keepOnly(msgs)
		defer func() {
			if serr := st.save(); serr != nil && err == nil {
				err = serr
			}
		}()
	}
	bar := newProgress(sio.err, len(todo), total)
	var saved int64
	for i, m := range todo {
		bar.next(i + 1)
		n, err := sink.deliver(m, func(w io.Writer) (int64, error) {
			return c.Retr(ctx, m.Number, bar.writer(w))
		})
		if err != nil {
			bar.done()
			// No QUIT: nothing marked for deletion is deleted.
			return fmt.Errorf("message %d (%s): %w", m.Number, m.UID, err)
		}
		saved += n
		if st != nil {
			st.add(m.UID)
		}
		if o.del {
			if err := c.Dele(ctx, m.Number); err != nil {
				bar.done()
				return err
			}
		}
	}
	bar.done()
	if err := c.Quit(ctx); err != nil {
		if o.del {
			return fmt.Errorf("saved %d messages, but QUIT failed, so the server may not have deleted them: %w", len(todo), err)
		}
		return err
	}
	fmt.Fprintf(sio.out, "fetched %d of %d messages (%d bytes) into %s\n", len(todo), len(msgs), saved, sink.name())
	if o.del && len(todo) > 0 {
		fmt.Fprintf(sio.out, "deleted %d messages on the server\n", len(todo))
	}
	return nil
}

// mailSink is a destination: deliver returns only once the message is
// on disk and fsync'd.
type mailSink interface {
	deliver(m pop3client.Message, retr func(io.Writer) (int64, error)) (int64, error)
	name() string
}

func openSink(o *fetchOpts) (mailSink, error) {
	switch {
	case o.maildir != "":
		return openMaildir(o.maildir)
	case o.mbox != "":
		return &mboxSink{path: o.mbox}, nil
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return nil, err
	}
	return &dirSink{dir: o.dir}, nil
}

// writeSynced creates path (exclusively), fills it with retr and fsyncs it.
func writeSynced(path string, retr func(io.Writer) (int64, error)) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(f, 64*1024)
	n, err := retr(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return n, err
}

// syncDir fsyncs a directory so a rename into it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// maildirSink delivers into a Maildir (tmp, then rename into new): the
// file is written under a unique name in tmp/, fsync'd, renamed into new/,
// and new/ is fsync'd. Message bytes are kept as the server sent them.
type maildirSink struct {
	dir, host string
	seq       int
}

func openMaildir(dir string) (*maildirSink, error) {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	// The Maildir spec: "/" and ":" in the host name are written octal.
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	return &maildirSink{dir: dir, host: host}, nil
}

func (s *maildirSink) name() string { return "Maildir " + s.dir }

func (s *maildirSink) deliver(_ pop3client.Message, retr func(io.Writer) (int64, error)) (int64, error) {
	s.seq++
	now := time.Now()
	base := fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), s.seq, s.host)
	tmp := filepath.Join(s.dir, "tmp", base)
	n, err := writeSynced(tmp, retr)
	if err != nil {
		return n, err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "new", base)); err != nil {
		os.Remove(tmp)
		return n, err
	}
	return n, syncDir(filepath.Join(s.dir, "new"))
}

// dirSink writes one .eml file each, named by the UIDL made safe, as the
// server sent it. The same UIDL fetched again replaces its file with the
// same message.
type dirSink struct {
	dir string
	seq int
}

func (s *dirSink) name() string { return "directory " + s.dir }

func (s *dirSink) deliver(m pop3client.Message, retr func(io.Writer) (int64, error)) (int64, error) {
	s.seq++
	name := safeUIDName(m.UID)
	if m.UID == "" {
		// No UIDL: the message number repeats across sessions, the time does not.
		name = fmt.Sprintf("msg-%d-%d-%d", time.Now().UnixNano(), os.Getpid(), s.seq)
	}
	tmp := filepath.Join(s.dir, fmt.Sprintf(".tmp-%d-%d", os.Getpid(), s.seq))
	n, err := writeSynced(tmp, retr)
	if err != nil {
		return n, err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, name+".eml")); err != nil {
		os.Remove(tmp)
		return n, err
	}
	return n, syncDir(s.dir)
}

// safeUIDName makes a UIDL a file name: letters, digits, '.', '-' and
// '_' stay, anything else becomes '_', no leading dot, at most 100
// octets; a name that had to change gets a hash of the UIDL so two
// UIDLs never share a file.
func safeUIDName(uid string) string {
	b := []byte(uid)
	changed := false
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0
		if !ok {
			b[i], changed = '_', true
		}
	}
	if len(b) > 100 {
		b, changed = b[:100], true
	}
	if !changed {
		return string(b)
	}
	sum := sha256.Sum256([]byte(uid))
	return string(b) + "-" + hex.EncodeToString(sum[:4])
}

// mboxSink appends to an mbox file in the mboxrd format: a "From " line
// per message, LF line ends, and a '>' added to every line that matches
// ">*From " so readers can undo it. A message that fails half-way is cut
// off again (the file is truncated to where it started).
type mboxSink struct{ path string }

func (s *mboxSink) name() string { return "mbox " + s.path }

func (s *mboxSink) deliver(_ pop3client.Message, retr func(io.Writer) (int64, error)) (int64, error) {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(f, 64*1024)
	mw := &mboxWriter{w: bw, now: time.Now()}
	n, err := retr(mw)
	if err == nil {
		err = mw.close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		if terr := f.Truncate(fi.Size()); terr != nil {
			err = fmt.Errorf("%w (and the partial message could not be removed: %v)", err, terr)
		}
	}
	return n, err
}

// mboxMaxPending bounds the part of a line held back to decide on
// quoting; a longer line is written as it comes, unquoted after its start.
const mboxMaxPending = 64 * 1024

// mboxWriter turns a message into one mboxrd entry.
type mboxWriter struct {
	w       *bufio.Writer
	now     time.Time
	line    []byte
	midLine bool // part of the current line is already written
	started bool // the "From " line is written
}

func (m *mboxWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			m.line = append(m.line, p...)
			if len(m.line) > mboxMaxPending {
				return 0, m.emit(false)
			}
			break
		}
		m.line = append(m.line, p[:i+1]...)
		p = p[i+1:]
		if err := m.emit(true); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// emit writes the held-back line; complete says it ends here.
func (m *mboxWriter) emit(complete bool) error {
	if !m.started {
		m.writeFrom()
	}
	line := m.line
	if complete {
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	if !m.midLine {
		if rest := strings.TrimLeft(string(line), ">"); strings.HasPrefix(rest, "From ") {
			m.w.WriteByte('>')
		}
	}
	m.w.Write(line)
	if complete {
		m.w.WriteByte('\n')
	}
	m.midLine = !complete
	m.line = m.line[:0]
	return nil
}

// writeFrom writes the separator line, with the envelope sender from a
// leading Return-Path when the message has one.
func (m *mboxWriter) writeFrom() {
	sender := "MAILER-DAEMON"
	if v, ok := strings.CutPrefix(string(m.line), "Return-Path:"); ok {
		v = strings.Trim(strings.TrimSpace(v), "<>")
		if v != "" && !strings.ContainsAny(v, " \t\r\n<>") {
			sender = v
		}
	}
	fmt.Fprintf(m.w, "From %s %s\n", sender, m.now.UTC().Format(time.ANSIC))
	m.started = true
}

// close ends the last line and writes the blank line between entries.
func (m *mboxWriter) close() error {
	if len(m.line) > 0 || m.midLine {
		m.line = append(m.line, '\n')
		m.emit(true)
	}
	if !m.started {
		m.writeFrom()
	}
	return m.w.WriteByte('\n')
}

// fetchState remembers, per server and user, the UIDLs fetched before,
// in a JSON file written atomically.
type fetchState struct {
	path, key string
	file      stateFile
	seen      map[string]bool
}

type stateFile struct {
	Version  int                 `json:"version"`
	Accounts map[string][]string `json:"accounts"` // "user@host:port" → UIDLs
}

// maxStateFile bounds the state file read.
const maxStateFile = 64 << 20

// loadFetchState reads the state file: path, or posthorn/fetch-state.json
// under $XDG_STATE_HOME or ~/.local/state. A missing file is empty.
func loadFetchState(sio *stdio, path, key string) (*fetchState, error) {
	if path == "" {
		base := sio.getenv("XDG_STATE_HOME")
		if base == "" {
			home := sio.getenv("HOME")
			if home == "" {
				return nil, errors.New("no state file: set --state, XDG_STATE_HOME or HOME")
			}
			base = filepath.Join(home, ".local", "state")
		}
		path = filepath.Join(base, "posthorn", "fetch-state.json")
	}
	st := &fetchState{path: path, key: key, seen: map[string]bool{}}
	st.file.Accounts = map[string][]string{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	if len(data) > maxStateFile {
		return nil, fmt.Errorf("state file %s: larger than %d bytes", path, maxStateFile)
	}
	if err := json.Unmarshal(data, &st.file); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if st.file.Accounts == nil {
		st.file.Accounts = map[string][]string{}
	}
	for _, u := range st.file.Accounts[key] {
		st.seen[u] = true
	}
	return st, nil
}

// keepOnly forgets UIDLs no longer on the server, so the file stays as
// small as the maildrop.
func (st *fetchState) keepOnly(msgs []pop3client.Message) {
	on := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		on[m.UID] = true
	}
	for u := range st.seen {
		if !on[u] {
			delete(st.seen, u)
		}
	}
}

func (st *fetchState) add(uid string) { st.seen[uid] = true }

// save writes the file atomically: a temporary file, fsync, rename, and
// an fsync of the directory.
func (st *fetchState) save() error {
	uids := make([]string, 0, len(st.seen))
	for u := range st.seen {
		uids = append(uids, u)
	}
	slices.Sort(uids)
	st.file.Version = 1
	st.file.Accounts[st.key] = uids
	data, err := json.MarshalIndent(st.file, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(st.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp-%d", st.path, os.Getpid())
	os.Remove(tmp)
	_, err = writeSynced(tmp, func(w io.Writer) (int64, error) {
		n, err := w.Write(data)
		return int64(n), err
	})
	if err == nil {
		err = os.Rename(tmp, st.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("state file: %w", err)
	}
	return syncDir(dir)
}

// progress draws a progress bar on stderr when it is a terminal.
type progress struct {
	w          io.Writer
	on         bool
	count, cur int
	total, got int64
	last       time.Time
}

func newProgress(w io.Writer, count int, total int64) *progress {
	return &progress{w: w, on: isTerminal(w) && count > 0, count: count, total: max(total, 1)}
}

func (p *progress) next(i int) {
	p.cur = i
	p.draw(true)
}

func (p *progress) writer(w io.Writer) io.Writer {
	if !p.on {
		return w
	}
	return progressWriter{p: p, w: w}
}

type progressWriter struct {
	p *progress
	w io.Writer
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.got += int64(n)
	pw.p.draw(false)
	return n, err
}

func (p *progress) draw(force bool) {
	if !p.on || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	const width = 30
	frac := min(float64(p.got)/float64(p.total), 1)
	fill := int(frac * width)
	fmt.Fprintf(p.w, "\r%d/%d [%s%s] %3.0f%% %.1f/%.1f MB ", p.cur, p.count,
		strings.Repeat("#", fill), strings.Repeat(" ", width-fill), frac*100,
		float64(p.got)/1e6, float64(p.total)/1e6)
}

func (p *progress) done() {
	if p.on {
		p.draw(true)
		fmt.Fprintln(p.w)
		p.on = false
	}
}
