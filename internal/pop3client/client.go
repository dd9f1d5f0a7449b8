package pop3client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/posthorn/posthorn/internal/deadlineconn"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// TLSMode says how the connection is secured.
type TLSMode int

const (
	// TLSNone is plain TCP: no encryption at all.
	TLSNone TLSMode = iota
	// TLSStartTLS upgrades a plain connection with STLS (RFC 2595 §4)
	// before anything else is sent; a server without STLS is an error.
	TLSStartTLS
	// TLSImplicit starts TLS at once (pop3s, port 995).
	TLSImplicit
)

// Options configure a Client. The zero value is usable (TLSNone, the
// default limits).
type Options struct {
	TLS       TLSMode
	TLSConfig *tls.Config // for TLSStartTLS and TLSImplicit; nil: system roots, ServerName from the address
	// AllowPlaintextAuth permits sending a password over a connection
	// without TLS to a host that is not loopback.
	AllowPlaintextAuth bool
	Timeout            time.Duration // idle limit of each read and write; 0: 2 minutes
	MaxLine            int           // a status or listing line; 0: 8192 octets
	MaxListing         int           // lines of a LIST, UIDL or CAPA response; 0: 1,000,000
	MaxMessage         int64         // a retrieved message; 0: 1 GiB
	Logger             *slog.Logger  // nil: nothing is logged
	Dialer             *net.Dialer   // nil: a default dialer
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.MaxLine <= 0 {
		o.MaxLine = 8192
	}
	if o.MaxListing <= 0 {
		o.MaxListing = 1_000_000
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 1 << 30
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Client is one POP3 session. Its methods must not be called
// concurrently.
type Client struct {
	o        Options
	dc       *deadlineconn.Conn
	conn     net.Conn // dc, or a TLS connection over it
	br       *bufio.Reader
	isTLS    bool
	greeting Response
	caps     Capabilities
	broken   error // set when the dialogue is out of step
}

// Dial connects to addr ("host:port"), secures the connection as
// o.TLS says, and reads the greeting.
func Dial(ctx context.Context, addr string, o Options) (*Client, error) {
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, netError("connect to "+addr, err)
	}
	if o.TLSConfig == nil {
		host, _, _ := net.SplitHostPort(addr)
		o.TLSConfig = &tls.Config{ServerName: host}
	}
	c, err := NewClient(ctx, nc, o)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// NewClient runs a session over an established connection: it starts
// TLS for TLSImplicit, reads the greeting, and issues STLS for
// TLSStartTLS. On error the caller closes nc.
func NewClient(ctx context.Context, nc net.Conn, o Options) (*Client, error) {
	o.defaults()
	dc := &deadlineconn.Conn{Conn: nc, Timeout: o.Timeout}
	c := &Client{o: o, dc: dc, conn: dc}
	c.br = bufio.NewReaderSize(c.conn, max(o.MaxLine, 4096))
	defer dc.Begin(ctx)()
	if o.TLS == TLSImplicit {
		if err := c.handshake(ctx); err != nil {
			return nil, err
		}
	}
	r, err := c.readResponse()
	if err != nil {
		return nil, netError("greeting", err)
	}
	if !r.OK {
		return nil, classify(&Error{Command: "the connection", Response: r}, false)
	}
	c.greeting = r
	o.Logger.Debug("pop3 greeting", "text", r.Text, "tls", c.isTLS)
	if o.TLS == TLSStartTLS {
		if err := c.startTLS(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Greeting returns the server's greeting.
func (c *Client) Greeting() Response { return c.greeting }

// IsTLS reports whether the session is encrypted.
func (c *Client) IsTLS() bool { return c.isTLS }

// TLSConnectionState returns the TLS state; ok is false without TLS.
func (c *Client) TLSConnectionState() (tls.ConnectionState, bool) {
	tc, ok := c.conn.(*tls.Conn)
	if !ok {
		return tls.ConnectionState{}, false
	}
	return tc.ConnectionState(), true
}

func (c *Client) handshake(ctx context.Context) error {
	tc := tls.Client(c.dc, c.o.TLSConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		return mailerr.Permanent(mailerr.Policy, "POP3 TLS handshake failed", err)
	}
	c.conn, c.isTLS = tc, true
	c.br = bufio.NewReaderSize(tc, max(c.o.MaxLine, 4096))
	return nil
}

// startTLS runs STLS (RFC 2595 §4). Capabilities learnt before are
// forgotten, as the RFC requires.
func (c *Client) startTLS(ctx context.Context) error {
	if _, err := c.cmd("STLS", "STLS", false); err != nil {
		return fmt.Errorf("server does not offer STLS (use --tls implicit or --tls none): %w", err)
	}
	if c.br.Buffered() > 0 {
		// Bytes after the +OK were sent in plaintext and could be an
		// attacker's; nothing may be read from them (CVE-2011-0411 style).
		return c.fail(fmt.Errorf("%w: data after the STLS response", ErrMalformed))
	}
	c.caps = nil
	return c.handshake(ctx)
}

// op binds a public call to ctx and refuses work on a broken session.
func (c *Client) op(ctx context.Context) (func(), error) {
	if c.broken != nil {
		return func() {}, fmt.Errorf("pop3: session unusable after an earlier error: %w", c.broken)
	}
	return c.dc.Begin(ctx), nil
}

// fail marks the session broken and returns err classified.
func (c *Client) fail(err error) error {
	if c.broken == nil {
		c.broken = err
	}
	if mailerr.As(err) != nil {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return netError("connection failed", err)
	}
	return mailerr.Temporary(mailerr.Unknown, "POP3 protocol error", err)
}

// readResponse reads one status line.
func (c *Client) readResponse() (Response, error) {
	line, err := readLine(c.br, c.o.MaxLine)
	if err != nil {
		return Response{}, err
	}
	return ParseResponse(line)
}

// send writes one command line.
func (c *Client) send(line string) error {
	_, err := io.WriteString(c.conn, line+"\r\n")
	return err
}

// cmd sends a command line and reads its status line. A -ERR comes back
// as a classified *Error; show is the command as it may be displayed
// (without a password).
func (c *Client) cmd(line, show string, login bool) (Response, error) {
	if err := c.send(line); err != nil {
		return Response{}, c.fail(err)
	}
	r, err := c.readResponse()
	if err != nil {
		return Response{}, c.fail(err)
	}
	c.o.Logger.Debug("pop3", "command", show, "ok", r.OK, "text", r.Text)
	if !r.OK {
		return r, classify(&Error{Command: show, Response: r}, login)
	}
	return r, nil
}

// Close drops the connection without QUIT: nothing marked for deletion
// is deleted (RFC 1939 §6).
func (c *Client) Close() error { return c.conn.Close() }
