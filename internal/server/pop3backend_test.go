package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/pop3server"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/store/sqlite"
)

// pop3Fixture is a SQLite store with one user, served over POP3 on
// 127.0.0.1 by the real backend.
type pop3Fixture struct {
	st   *sqlite.Store
	u    store.User
	addr string
	msgs [][]byte // what RETR n must yield, un-stuffed: msgs[n-1]
}

// newPOP3Fixture stores msgs in the user's INBOX: the odd ones through
// the group commit (with a per-recipient prefix), the even ones by
// AppendBatch (without), so both shapes of a stored message are read.
func newPOP3Fixture(tb testing.TB, msgs [][]byte) *pop3Fixture {
	tb.Helper()
	ctx := tb.Context()
	st, err := sqlite.Open(ctx, tb.TempDir(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	cred, err := auth.NewCredentials("secret pw")
	if err != nil {
		tb.Fatal(err)
	}
	u, err := st.AddUser(ctx, "bob@example.test", cred)
	if err != nil {
		tb.Fatal(err)
	}
	mb, err := st.MailboxByName(ctx, u.ID, "INBOX")
	if err != nil {
		tb.Fatal(err)
	}
	in := intake.New(st, tb.TempDir(), nil, nil)
	tb.Cleanup(func() { in.Close() })
	var batch []*intake.Message
	flush := func() {
		if len(batch) > 0 {
			if err := st.CommitBatch(ctx, batch); err != nil {
				tb.Fatal(err)
			}
			for _, m := range batch {
				m.Body.Close()
			}
			batch = batch[:0]
		}
	}
	for i, m := range msgs {
		if i%2 == 1 {
			if _, err := st.AppendBatch(ctx, mb.ID, []store.NewMessage{{Data: m, Date: time.Unix(1700000000, 0)}}); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		sp := in.NewSpool()
		sp.Write(m)
		batch = append(batch, &intake.Message{ID: intake.NewID(), Body: sp, From: "s@example.org",
			Local: []intake.LocalRecipient{{UserID: u.ID, Address: u.Address, Mailbox: "INBOX",
				Prefix: []byte("Return-Path: <s@example.org>\r\nDelivered-To: " + u.Address + "\r\n")}}})
		flush() // one at a time: UIDs follow the order of msgs
	}
	f := &pop3Fixture{st: st, u: u}
	// What each message reads as: its stored bytes, prefix included.
	infos, err := st.Messages(ctx, mb.ID)
	if err != nil {
		tb.Fatal(err)
	}
	for _, mi := range infos {
		rc, err := st.OpenMessage(ctx, mi.ID)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		f.msgs = append(f.msgs, b)
	}
	lg := &logins{store: st, throttle: auth.NewThrottle(10, time.Minute)}
	srv := pop3server.New(pop3server.Config{AllowPlaintextAuth: true},
		&pop3Backend{logins: lg, seq: newOwnerSeq()}, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ctx, ln)
	tb.Cleanup(func() { srv.Shutdown(tb.Context()) })
	f.addr = ln.Addr().String()
	return f
}

// pop3Client is the least a POP3 client does, one command at a time like
// Python's poplib.
type pop3Client struct {
	tb testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialPOP3(tb testing.TB, addr string) *pop3Client {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	p := &pop3Client{tb: tb, c: c, br: bufio.NewReaderSize(c, 64<<10)}
	p.status()
	return p
}

// cmd sends one command and returns its status line.
func (p *pop3Client) cmd(line string) string {
	p.tb.Helper()
	if _, err := io.WriteString(p.c, line+"\r\n"); err != nil {
		p.tb.Fatal(err)
	}
	return p.status()
}

func (p *pop3Client) status() string {
	p.tb.Helper()
	l, err := p.br.ReadString('\n')
	if err != nil {
		p.tb.Fatal(err)
	}
	if !strings.HasPrefix(l, "+OK") {
		p.tb.Fatalf("POP3 reply %q", l)
	}
	return l
}

// multiline reads a multi-line body up to its "." line and appends it,
// un-stuffed, with CRLF line ends, to dst.
func (p *pop3Client) multiline(dst []byte) []byte {
	p.tb.Helper()
	for {
		l, err := p.br.ReadSlice('\n')
		for err == bufio.ErrBufferFull {
			dst = append(dst, l...)
			l, err = p.br.ReadSlice('\n')
		}
		if err != nil {
			p.tb.Fatal(err)
		}
		if string(l) == ".\r\n" {
			return dst
		}
		if l[0] == '.' {
			l = l[1:]
		}
		dst = append(dst, l...)
	}
}

// TestPOP3RetrSQLite downloads every message of a store over POP3 and
// compares it byte for byte with the stored message: a message that is
// one chunk, one that is several, one that ends without CRLF, lines that
// start with dots, and messages with and without a prefix.
func TestPOP3RetrSQLite(t *testing.T) {
	big := bytes.Repeat([]byte("..a line that starts with two dots, long enough to fill chunks\r\n"), 3000)
	msgs := [][]byte{
		[]byte("Subject: one\r\n\r\nbody\r\n.\r\n..\r\n.x\r\n"),
		[]byte("Subject: two\r\n\r\nno final line end"),
		append([]byte("Subject: big\r\n\r\n"), big...), // about 190 KB: three 64 KiB chunks
		[]byte("Subject: four\r\n\r\n.\r\n"),
		[]byte("Subject: five\r\n\r\n" + strings.Repeat("x", 64<<10-17) + "\r\n"), // ends at a chunk boundary
	}
	f := newPOP3Fixture(t, msgs)
	p := dialPOP3(t, f.addr)
	defer p.c.Close()
	p.cmd("USER bob@example.test")
	p.cmd("PASS secret pw")
	var total int
	for _, m := range f.msgs {
		total += len(m)
	}
	if got, want := p.cmd("STAT"), fmt.Sprintf("+OK %d %d\r\n", len(f.msgs), total); got != want {
		t.Fatalf("STAT = %q, want %q", got, want)
	}
	for round := range 2 { // the second time round reads every message again
		for i, want := range f.msgs {
			st := p.cmd("RETR " + strconv.Itoa(i+1))
			if !strings.HasPrefix(st, fmt.Sprintf("+OK %d ", len(want))) {
				t.Errorf("RETR %d: %q, want size %d", i+1, st, len(want))
			}
			got := p.multiline(nil)
			if !bytes.HasSuffix(want, []byte("\r\n")) {
				want = append(bytes.Clone(want), '\r', '\n') // the server ends the last line
			}
			if !bytes.Equal(got, want) {
				t.Errorf("round %d RETR %d: %d octets differ from the stored %d", round, i+1, len(got), len(want))
			}
		}
	}
	// TOP still stops after the header and n body lines.
	p.cmd("TOP 1 1")
	if got := string(p.multiline(nil)); !strings.HasSuffix(got, "Subject: one\r\n\r\nbody\r\n") {
		t.Errorf("TOP 1 1 = %q", got)
	}
	p.cmd("QUIT")
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPOP3Download1000 is bench/pop3-compare.sh in one process: a
// session that logs in, STATs and RETRs 1,000 messages of about 1.5 KB
// one command at a time, and quits, against the SQLite store. cpu-ms/op
// is the whole process's (client included); compare runs side by side.
func BenchmarkPOP3Download1000(b *testing.B) {
	msgs := make([][]byte, 1000)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, "From: bench@client.test\r\nTo: bob@example.test\r\nSubject: message %d\r\n"+
			"Message-ID: <%d@client.test>\r\n\r\n%s", i, i, bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"), 20))
	}
	f := newPOP3Fixture(b, msgs)
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		p := dialPOP3(b, f.addr)
		p.cmd("USER bob@example.test")
		p.cmd("PASS secret pw")
		p.cmd("STAT")
		for i := range f.msgs {
			p.cmd("RETR " + strconv.Itoa(i+1))
			buf = p.multiline(buf[:0])
		}
		p.cmd("QUIT")
		p.c.Close()
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// countingStore counts the reads the maildrop makes of the store.
type countingStore struct {
	*sqlite.Store
	batches, opens int
}

func (c *countingStore) ReadMessages(ctx context.Context, mailboxID int64, first, last uint32,
	fn func(id int64, prefix, body []byte) error) error {
	c.batches++
	return c.Store.ReadMessages(ctx, mailboxID, first, last, fn)
}

func (c *countingStore) OpenMessage(ctx context.Context, id int64) (io.ReadCloser, error) {
	c.opens++
	return c.Store.OpenMessage(ctx, id)
}

// TestMaildropReadAhead drives the maildrop as the engine does, in
// several orders, and checks what it reads and how often it asks the
// store: in order, a few batches; out of order, one message at a time;
// a large message, always streamed; a message expunged after it was
// read ahead, still served from the snapshot; one expunged before, an
// error of its own that leaves the rest readable.
func TestMaildropReadAhead(t *testing.T) {
	const n = 300
	msgs := make([][]byte, n)
	for i := range msgs {
		size := 100 + i*37%3000
		if i%97 == 50 {
			size = 100 << 10 // two chunks: streamed by OpenMessage
		}
		msgs[i] = fmt.Appendf(nil, "Subject: %d\r\n\r\n%s", i, bytes.Repeat([]byte{'a' + byte(i%26)}, size))
	}
	f := newPOP3Fixture(t, msgs)
	ctx := t.Context()
	cs := &countingStore{Store: f.st}
	be := &pop3Backend{logins: &logins{store: cs, throttle: auth.NewThrottle(10, time.Minute)}, seq: newOwnerSeq()}
	md, err := be.Login(ctx, "bob@example.test", "secret pw", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	read := func(i int) ([]byte, error) {
		rc, err := md.Open(ctx, i)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	check := func(order string, idx []int) {
		t.Helper()
		for _, i := range idx {
			got, err := read(i)
			if err != nil {
				t.Fatalf("%s: message %d: %v", order, i, err)
			}
			if !bytes.Equal(got, f.msgs[i]) {
				t.Fatalf("%s: message %d: %d octets, want %d", order, i, len(got), len(f.msgs[i]))
			}
		}
	}
	seq := make([]int, n)
	for i := range seq {
		seq[i] = i
	}
	large := 0
	for _, m := range f.msgs {
		if len(m) > readAheadLarge {
			large++
		}
	}

	check("in order", seq)
	// Windows of 8, 16, 32, 64, 64, ... and the byte bound: far fewer
	// reads than messages, and every large message opened on its own.
	t.Logf("in order: %d batch reads, %d opens (%d large messages)", cs.batches, cs.opens, large)
	if cs.opens != large || cs.batches < 5 || cs.batches > 8 {
		t.Errorf("in order: %d batch reads and %d opens for %d messages (%d large)", cs.batches, cs.opens, n, large)
	}

	cs.batches, cs.opens = 0, 0
	rev := make([]int, n)
	for i := range rev {
		rev[i] = n - 1 - i
	}
	check("reverse", rev)
	// The tail is still in the last batch; the rest is opened one by one.
	if cs.batches != 0 || cs.opens < n-readAheadMax || cs.opens >= n {
		t.Errorf("reverse: %d batch reads and %d opens, want 0 and about %d", cs.batches, cs.opens, n)
	}

	// 10 out of order (one message), 11 in order (a batch of 11 to 18);
	// then expunge 12 (as an IMAP client might) and 40 (not read ahead
	// yet), and go on in order.
	cs.batches, cs.opens = 0, 0
	check("restart", []int{10, 11})
	if cs.opens != 1 || cs.batches != 1 {
		t.Errorf("restart: %d batch reads and %d opens, want 1 and 1", cs.batches, cs.opens)
	}
	mdr := md.(*maildrop)
	if err := f.st.Expunge(ctx, mdr.mailbox, []int64{mdr.ids[12], mdr.ids[40]}); err != nil {
		t.Fatal(err)
	}
	check("after expunge", []int{12}) // from the batch read before
	for i := 13; i < 40; i++ {
		if _, err := read(i); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if _, err := read(40); err == nil {
		t.Error("message 40, expunged before it was read, was served")
	}
	check("after the gap", []int{41, 42})
}
