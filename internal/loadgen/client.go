package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// client is one SMTP connection, set up (greeting, EHLO, TLS, AUTH) and
// ready for transactions.
type client struct {
	nc      net.Conn // the TCP connection, or TLS over it
	br      *bufio.Reader
	bw      *bufio.Writer
	timeout time.Duration
	ext     map[string]string // EHLO keywords (upper case) and their parameters
	unwatch func() bool       // stops the context watcher
}

// dial connects to cfg.Target and brings the session to the point where
// MAIL may be sent. Its errors are classified with mailerr; a refusing
// reply carries a *ReplyError.
func dial(ctx context.Context, cfg *Config) (*client, error) {
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", cfg.Target)
	if err != nil {
		return nil, mailerr.Temporary(mailerr.Unavailable, "connect", err)
	}
	c := &client{nc: raw, timeout: cfg.Timeout}
	// A blocked read or write ends when the context does: a deadline in
	// the past wakes it (see arm for the race with later deadlines).
	c.unwatch = context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	c.setBuffers()
	if err := c.setup(ctx, cfg); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *client) setBuffers() {
	c.br = bufio.NewReaderSize(c.nc, maxReplyLine)
	c.bw = bufio.NewWriterSize(c.nc, 8<<10)
}

func (c *client) setup(ctx context.Context, cfg *Config) error {
	if cfg.TLS == TLSImplicit {
		if err := c.handshake(ctx, cfg); err != nil {
			return err
		}
	}
	if _, err := c.expect(ctx, "greeting", 220); err != nil {
		return err
	}
	if err := c.ehlo(ctx, cfg.Helo); err != nil {
		return err
	}
	if cfg.TLS == TLSStartTLS {
		if _, ok := c.ext["STARTTLS"]; !ok {
			return mailerr.Permanent(mailerr.Policy, "server does not announce STARTTLS", nil)
		}
		if _, err := c.command(ctx, "STARTTLS", "STARTTLS", 220); err != nil {
			return err
		}
		if c.br.Buffered() > 0 {
			// Bytes sent before TLS must not be read as if they came
			// over it (the STARTTLS injection class of bugs).
			return mailerr.Permanent(mailerr.BadInput, "data after the STARTTLS reply", errProtocol)
		}
		if err := c.handshake(ctx, cfg); err != nil {
			return err
		}
		// RFC 3207 §4.2: all knowledge from before TLS is discarded.
		if err := c.ehlo(ctx, cfg.Helo); err != nil {
			return err
		}
	}
	if cfg.User != "" {
		return c.auth(ctx, cfg)
	}
	return nil
}

// handshake puts TLS over the connection.
func (c *client) handshake(ctx context.Context, cfg *Config) error {
	tc := tlsConfig(cfg)
	conn := tls.Client(c.nc, tc)
	if err := c.arm(ctx); err != nil {
		return err
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		return mailerr.Temporary(mailerr.Unavailable, "TLS handshake", err)
	}
	c.nc = conn
	c.setBuffers()
	return nil
}

func tlsConfig(cfg *Config) *tls.Config {
	tc := &tls.Config{}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(cfg.Target)
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	tc.InsecureSkipVerify = tc.InsecureSkipVerify || cfg.Insecure
	return tc
}

// ehlo sends EHLO and records the extensions (RFC 5321 §4.1.1.1).
func (c *client) ehlo(ctx context.Context, name string) error {
	r, err := c.command(ctx, "EHLO", "EHLO "+name, 250)
	if err != nil {
		return err
	}
	c.ext = make(map[string]string, len(r.Lines))
	for _, l := range r.Lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		c.ext[strings.ToUpper(k)] = v
	}
	return nil
}

// has reports whether the server announced an extension.
func (c *client) has(ext string) bool {
	_, ok := c.ext[ext]
	return ok
}

// auth logs in with AUTH PLAIN and an initial response (RFC 4954 §4,
// RFC 4616). Like Go's net/smtp, it sends a password in clear only to a
// loopback target.
func (c *client) auth(ctx context.Context, cfg *Config) error {
	mechs := strings.Fields(strings.ToUpper(c.ext["AUTH"]))
	if !slices.Contains(mechs, "PLAIN") {
		return mailerr.Permanent(mailerr.Policy, "server does not announce AUTH PLAIN", nil)
	}
	if _, isTLS := c.nc.(*tls.Conn); !isTLS && !loopback(cfg.Target) {
		return mailerr.Permanent(mailerr.Policy, "refusing AUTH PLAIN without TLS to a non-loopback target", nil)
	}
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + cfg.User + "\x00" + cfg.Password))
	_, err := c.command(ctx, "AUTH", "AUTH PLAIN "+resp, 235)
	return err
}

func loopback(target string) bool {
	host, _, _ := net.SplitHostPort(target)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// arm sets the deadline for the next write and reply: the per-command
// timeout, or the context's deadline if sooner. Checking the context after
// setting it closes the race with the watcher: if the context ends later,
// the watcher's past deadline overrides ours.
func (c *client) arm(ctx context.Context) error {
	d := time.Now().Add(c.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(d) {
		d = dl
	}
	if err := c.nc.SetDeadline(d); err != nil {
		return mailerr.Temporary(mailerr.Unavailable, "set deadline", err)
	}
	if err := ctx.Err(); err != nil {
		return mailerr.Temporary(mailerr.Unavailable, "canceled", context.Cause(ctx))
	}
	return nil
}

// flush sends what is buffered.
func (c *client) flush(ctx context.Context) error {
	if err := c.arm(ctx); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return c.netErr(ctx, "write", err)
	}
	return nil
}

// read reads one reply.
func (c *client) read(ctx context.Context) (Reply, error) {
	if err := c.arm(ctx); err != nil {
		return Reply{}, err
	}
	r, err := readReply(c.br)
	if err != nil {
		return r, c.netErr(ctx, "read", err)
	}
	return r, nil
}

func (c *client) netErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return mailerr.Temporary(mailerr.Unavailable, op, err)
}

// expect reads a reply and fails unless its code is one of codes.
func (c *client) expect(ctx context.Context, what string, codes ...int) (Reply, error) {
	r, err := c.read(ctx)
	if err != nil {
		return r, err
	}
	if !slices.Contains(codes, r.Code) {
		return r, replyError(what, r)
	}
	return r, nil
}

// command sends one line and expects one of codes in reply.
func (c *client) command(ctx context.Context, what, line string, codes ...int) (Reply, error) {
	c.bw.WriteString(line + "\r\n")
	if err := c.flush(ctx); err != nil {
		return Reply{}, err
	}
	return c.expect(ctx, what, codes...)
}

// quit ends the session politely; errors do not matter any more.
func (c *client) quit(ctx context.Context) {
	c.command(ctx, "QUIT", "QUIT", 221)
	c.close()
}

func (c *client) close() {
	c.unwatch()
	c.nc.Close()
}
