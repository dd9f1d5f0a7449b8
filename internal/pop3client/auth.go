package pop3client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/deadlineconn"
	"github.com/posthorn/posthorn/internal/mailerr"
)

// ErrPlaintext refuses to send a password without TLS to a host that is
// not loopback (see Options.AllowPlaintextAuth).
var ErrPlaintext = errors.New("pop3: refusing to send a password over an unencrypted connection")

// Capabilities asks the server for its capabilities (RFC 2449 §5) and
// caches them until STLS. A server that does not know CAPA (RFC 1939
// only) yields an empty set and no error.
func (c *Client) Capabilities(ctx context.Context) (Capabilities, error) {
	if c.caps != nil {
		return c.caps, nil
	}
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return nil, err
	}
	caps := Capabilities{}
	if _, err := c.cmd("CAPA", "CAPA", false); err != nil {
		if mailerr.As(err) != nil && c.broken == nil {
			c.caps = caps // -ERR: an old server
			return caps, nil
		}
		return nil, err
	}
	err = readLines(c.br, c.o.MaxLine, c.o.MaxListing, func(line []byte) error {
		caps.parseCapa(line)
		return nil
	})
	if err != nil {
		return nil, c.fail(err)
	}
	c.caps = caps
	return caps, nil
}

// Login authenticates: USER and PASS when the server offers USER or says
// nothing, else AUTH PLAIN when it offers SASL PLAIN.
func (c *Client) Login(ctx context.Context, user, pass string) error {
	caps, err := c.Capabilities(ctx)
	if err != nil {
		return err
	}
	if !caps.Has("USER") && caps.HasSASL("PLAIN") {
		return c.AuthPlain(ctx, user, pass)
	}
	if err := c.User(ctx, user); err != nil {
		return err
	}
	return c.Pass(ctx, pass)
}

// checkPlaintext refuses credentials over an unprotected connection.
func (c *Client) checkPlaintext() error {
	if c.isTLS || c.o.AllowPlaintextAuth || deadlineconn.IsLoopback(c.dc.RemoteAddr()) {
		return nil
	}
	return mailerr.Permanent(mailerr.Policy, "not sending the password", ErrPlaintext)
}

// User sends USER (RFC 1939 §7).
func (c *Client) User(ctx context.Context, user string) error {
	if strings.ContainsAny(user, "\r\n") || user == "" {
		return mailerr.Permanent(mailerr.BadInput, "bad POP3 user name", fmt.Errorf("pop3: user %q", user))
	}
	if err := c.checkPlaintext(); err != nil {
		return err
	}
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return err
	}
	_, err = c.cmd("USER "+user, "USER "+user, true)
	return err
}

// Pass sends PASS (RFC 1939 §7).
func (c *Client) Pass(ctx context.Context, pass string) error {
	if strings.ContainsAny(pass, "\r\n") {
		return mailerr.Permanent(mailerr.BadInput, "bad POP3 password", errors.New("pop3: password contains a line break"))
	}
	if err := c.checkPlaintext(); err != nil {
		return err
	}
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return err
	}
	_, err = c.cmd("PASS "+pass, "PASS", true)
	return err
}

// AuthPlain authenticates with AUTH PLAIN and an initial response (RFC
// 5034 §4, RFC 4616). The authorization identity is left empty.
func (c *Client) AuthPlain(ctx context.Context, user, pass string) error {
	if err := c.checkPlaintext(); err != nil {
		return err
	}
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return err
	}
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	if err := c.send("AUTH PLAIN " + resp); err != nil {
		return c.fail(err)
	}
	line, err := readLine(c.br, c.o.MaxLine)
	if err != nil {
		return c.fail(err)
	}
	if len(line) > 0 && line[0] == '+' && !hasPrefixFold(line, "+OK") {
		// A challenge after a complete PLAIN response: cancel (RFC 5034 §4).
		if err := c.send("*"); err != nil {
			return c.fail(err)
		}
		if line, err = readLine(c.br, c.o.MaxLine); err != nil {
			return c.fail(err)
		}
	}
	r, err := ParseResponse(line)
	if err != nil {
		return c.fail(err)
	}
	if !r.OK {
		return classify(&Error{Command: "AUTH PLAIN", Response: r}, true)
	}
	return nil
}
