package submitclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/deadlineconn"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/smtp"
)

// TLSMode says how the connection is secured.
type TLSMode int

const (
	TLSNone     TLSMode = iota // plain TCP
	TLSStartTLS                // STARTTLS before anything else (RFC 3207); required
	TLSImplicit                // TLS from the first byte (RFC 8314, port 465)
)

// Options configure a Client.
type Options struct {
	TLS       TLSMode
	TLSConfig *tls.Config // nil: system roots, ServerName from the address
	// AllowPlaintextAuth permits AUTH over a connection without TLS to a
	// host that is not loopback.
	AllowPlaintextAuth bool
	LocalName          string        // EHLO name; "" means "localhost"
	Timeout            time.Duration // idle limit of each read and write; 0: 5 minutes (RFC 5321 §4.5.3.2)
	Logger             *slog.Logger  // nil: nothing is logged
	Dialer             *net.Dialer   // nil: a default dialer
}

// Client is one submission session. Its methods must not be called
// concurrently.
type Client struct {
	o      Options
	dc     *deadlineconn.Conn
	conn   net.Conn
	lr     *smtp.LineReader
	isTLS  bool
	ext    map[string]string // EHLO keywords (upper case) and their parameters
	broken error
}

// Dial connects to addr ("host:port"), secures the connection as o.TLS
// says, reads the greeting and says EHLO.
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

// NewClient runs the start of a session over nc: TLS for TLSImplicit,
// the greeting, EHLO, and STARTTLS with a second EHLO for TLSStartTLS.
// On error the caller closes nc.
func NewClient(ctx context.Context, nc net.Conn, o Options) (*Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.LocalName == "" {
		o.LocalName = "localhost"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dc := &deadlineconn.Conn{Conn: nc, Timeout: o.Timeout}
	c := &Client{o: o, dc: dc, conn: dc}
	c.lr = &smtp.LineReader{R: bufio.NewReader(dc)}
	defer dc.Begin(ctx)()
	if o.TLS == TLSImplicit {
		if err := c.handshake(ctx); err != nil {
			return nil, err
		}
	}
	rep, err := c.read()
	if err != nil {
		return nil, err
	}
	if rep.Code != smtp.C220ServiceReady {
		return nil, refusal("the connection", rep)
	}
	if err := c.hello(); err != nil {
		return nil, err
	}
	if o.TLS == TLSStartTLS {
		if err := c.startTLS(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// IsTLS reports whether the session is encrypted.
func (c *Client) IsTLS() bool { return c.isTLS }

// Extension reports whether the server offered an EHLO keyword, and its
// parameters.
func (c *Client) Extension(name string) (string, bool) {
	p, ok := c.ext[strings.ToUpper(name)]
	return p, ok
}

func (c *Client) handshake(ctx context.Context) error {
	tc := tls.Client(c.dc, c.o.TLSConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		return mailerr.Permanent(mailerr.Policy, "SMTP TLS handshake failed", err)
	}
	c.conn, c.isTLS = tc, true
	c.lr = &smtp.LineReader{R: bufio.NewReader(tc)}
	return nil
}

func (c *Client) hello() error {
	rep, err := c.roundTrip("EHLO " + c.o.LocalName)
	if err != nil {
		return err
	}
	if rep.Code != smtp.C250OK {
		return refusal("EHLO", rep)
	}
	c.ext = map[string]string{}
	for _, l := range rep.Lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		c.ext[strings.ToUpper(k)] = v
	}
	return nil
}

func (c *Client) startTLS(ctx context.Context) error {
	if _, ok := c.ext["STARTTLS"]; !ok {
		return mailerr.Permanent(mailerr.Policy, "server does not offer STARTTLS (use --tls implicit or --tls none)", nil)
	}
	rep, err := c.roundTrip("STARTTLS")
	if err != nil {
		return err
	}
	if rep.Code != smtp.C220ServiceReady {
		return refusal("STARTTLS", rep)
	}
	if c.lr.R.Buffered() > 0 {
		// Sent in plaintext after the 220: possibly an attacker's.
		return c.fail(fmt.Errorf("%w: data after the STARTTLS reply", ErrMalformed))
	}
	if err := c.handshake(ctx); err != nil {
		return err
	}
	return c.hello() // RFC 3207 §4.2: forget what was learnt before TLS
}

// fail marks the session broken and classifies err.
func (c *Client) fail(err error) error {
	if c.broken == nil {
		c.broken = err
	}
	if mailerr.As(err) != nil {
		return err
	}
	if errors.Is(err, ErrMalformed) {
		return mailerr.Temporary(mailerr.Unknown, "SMTP protocol error", err)
	}
	return netError("connection failed", err)
}

func (c *Client) read() (smtp.Reply, error) {
	rep, err := readReply(c.lr)
	if err != nil {
		return smtp.Reply{}, c.fail(err)
	}
	c.o.Logger.Debug("smtp reply", "code", rep.Code, "text", strings.Join(rep.Lines, " "))
	return rep, nil
}

func (c *Client) roundTrip(line string) (smtp.Reply, error) {
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return smtp.Reply{}, c.fail(err)
	}
	return c.read()
}

func (c *Client) op(ctx context.Context) (func(), error) {
	if c.broken != nil {
		return func() {}, fmt.Errorf("submitclient: session unusable after an earlier error: %w", c.broken)
	}
	return c.dc.Begin(ctx), nil
}

// ErrPlaintext refuses to send a password without TLS to a host that is
// not loopback.
var ErrPlaintext = errors.New("submitclient: refusing to send a password over an unencrypted connection")

// Auth authenticates with PLAIN, or LOGIN when the server offers only
// that (RFC 4954).
func (c *Client) Auth(ctx context.Context, user, pass string) error {
	if !c.isTLS && !c.o.AllowPlaintextAuth && !deadlineconn.IsLoopback(c.dc.RemoteAddr()) {
		return mailerr.Permanent(mailerr.Policy, "not sending the password", ErrPlaintext)
	}
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return err
	}
	mechs, ok := c.ext["AUTH"]
	if !ok {
		return mailerr.Permanent(mailerr.Policy, "server does not offer AUTH", nil)
	}
	var mech string
	for _, m := range strings.Fields(strings.ToUpper(mechs)) {
		if m == "PLAIN" || (m == "LOGIN" && mech == "") {
			mech = m
		}
	}
	switch mech {
	case "PLAIN":
		rep, err := c.roundTrip("AUTH PLAIN " + b64("\x00"+user+"\x00"+pass))
		if err != nil {
			return err
		}
		return c.authDone("AUTH PLAIN", rep)
	case "LOGIN":
		rep, err := c.roundTrip("AUTH LOGIN")
		for _, s := range []string{user, pass} {
			if err != nil || rep.Code != smtp.C334AuthChallenge {
				break
			}
			rep, err = c.roundTrip(b64(s))
		}
		if err != nil {
			return err
		}
		return c.authDone("AUTH LOGIN", rep)
	}
	return mailerr.Permanent(mailerr.Policy, "no common AUTH mechanism (the server offers "+mechs+")", nil)
}

func (c *Client) authDone(cmd string, rep smtp.Reply) error {
	if rep.Code == smtp.C235AuthOK {
		return nil
	}
	if rep.Code == smtp.C334AuthChallenge {
		// A challenge we cannot answer: cancel (RFC 4954 §4).
		if rep, err := c.roundTrip("*"); err != nil || rep.Code < 400 {
			return c.fail(fmt.Errorf("%w: unexpected challenge to %s", ErrMalformed, cmd))
		}
	}
	return refusal(cmd, rep)
}

// Envelope is the reverse-path and the forward-paths of a transaction.
type Envelope struct {
	From string   // "" for the null reverse-path
	To   []string // every recipient, Bcc included
	// EightBit says the message has octets over 127 (BODY=8BITMIME).
	EightBit bool
}

// Send runs one transaction: MAIL, every RCPT, then DATA with body
// (size octets, or -1 when unknown). If any recipient is refused, it
// resets the transaction and returns that refusal without sending DATA.
func (c *Client) Send(ctx context.Context, env Envelope, body io.Reader, size int64) error {
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return err
	}
	if len(env.To) == 0 {
		return mailerr.Permanent(mailerr.BadInput, "no recipients", nil)
	}
	mail, err := c.mailCommand(env, size)
	if err != nil {
		return err
	}
	if err := c.expect(mail, mail, smtp.C250OK); err != nil {
		return err
	}
	for _, to := range env.To {
		if strings.ContainsAny(to, "<>\r\n ") {
			c.reset()
			return mailerr.Permanent(mailerr.BadInput, "bad recipient address", fmt.Errorf("%q", to))
		}
		cmd := "RCPT TO:<" + to + ">"
		if err := c.expect(cmd, cmd, smtp.C250OK, smtp.C251UserNotLocal); err != nil {
			c.reset()
			return err
		}
	}
	if err := c.expect("DATA", "DATA", smtp.C354StartData); err != nil {
		c.reset()
		return err
	}
	dw := smtp.NewDotWriter(c.conn)
	bw := bufio.NewWriterSize(dw, 32*1024)
	if _, err := io.Copy(bw, body); err != nil {
		// No final dot: the server drops the partial message.
		return c.fail(fmt.Errorf("submitclient: sending the message: %w", err))
	}
	if err := bw.Flush(); err != nil {
		return c.fail(err)
	}
	if err := dw.Close(); err != nil {
		return c.fail(err)
	}
	rep, err := c.read()
	if err != nil {
		return err
	}
	if rep.Code != smtp.C250OK {
		return refusal("the message", rep)
	}
	return nil
}

// mailCommand builds MAIL FROM with the parameters the server offers.
func (c *Client) mailCommand(env Envelope, size int64) (string, error) {
	if strings.ContainsAny(env.From, "<>\r\n ") {
		return "", mailerr.Permanent(mailerr.BadInput, "bad sender address", fmt.Errorf("%q", env.From))
	}
	cmd := "MAIL FROM:<" + env.From + ">"
	if lim, ok := c.ext["SIZE"]; ok && size >= 0 {
		if n, err := strconv.ParseInt(lim, 10, 64); err == nil && n > 0 && size > n {
			return "", mailerr.Permanent(mailerr.TooBig, "message too big",
				fmt.Errorf("%d octets, the server takes at most %d", size, n))
		}
		cmd += " SIZE=" + strconv.FormatInt(size, 10)
	}
	if _, ok := c.ext["8BITMIME"]; ok && env.EightBit {
		cmd += " BODY=8BITMIME"
	}
	if needsUTF8(env) {
		if _, ok := c.ext["SMTPUTF8"]; !ok {
			return "", mailerr.Permanent(mailerr.BadInput, "non-ASCII address, but the server does not offer SMTPUTF8", nil)
		}
		cmd += " SMTPUTF8"
	}
	return cmd, nil
}

func needsUTF8(env Envelope) bool {
	for _, a := range append([]string{env.From}, env.To...) {
		for i := 0; i < len(a); i++ {
			if a[i] >= 0x80 {
				return true
			}
		}
	}
	return false
}

// expect sends line and requires one of the codes; show names the
// command in an error.
func (c *Client) expect(line, show string, codes ...int) error {
	rep, err := c.roundTrip(line)
	if err != nil {
		return err
	}
	for _, code := range codes {
		if rep.Code == code {
			return nil
		}
	}
	return refusal(show, rep)
}

// reset abandons a transaction; its outcome does not matter.
func (c *Client) reset() { c.roundTrip("RSET") }

// Quit ends the session politely and closes the connection.
func (c *Client) Quit(ctx context.Context) error {
	defer c.conn.Close()
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return err
	}
	_, err = c.roundTrip("QUIT")
	return err
}

// Close drops the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Submit is the whole of a submission: dial, AUTH when user is not
// empty, one transaction, QUIT.
func Submit(ctx context.Context, addr string, o Options, user, pass string, env Envelope, body io.Reader, size int64) error {
	c, err := Dial(ctx, addr, o)
	if err != nil {
		return err
	}
	defer c.Close()
	if user != "" {
		if err := c.Auth(ctx, user, pass); err != nil {
			return err
		}
	}
	if err := c.Send(ctx, env, body, size); err != nil {
		return err
	}
	c.Quit(ctx) // the message is accepted; a failed QUIT changes nothing
	return nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
