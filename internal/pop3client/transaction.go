package pop3client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Message is one message of the maildrop.
type Message struct {
	Number int    // message-number, from 1 (RFC 1939 §5)
	Size   int64  // octets as the server counts them (CRLF line ends)
	UID    string // unique-id from UIDL; "" when the server has none
}

// Stat returns the number of messages and their total size (STAT).
func (c *Client) Stat(ctx context.Context) (int, int64, error) {
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return 0, 0, err
	}
	r, err := c.cmd("STAT", "STAT", false)
	if err != nil {
		return 0, 0, err
	}
	n, size, err := parseStat(r.Text)
	if err != nil {
		return 0, 0, c.fail(err)
	}
	return n, size, nil
}

// List returns every message's number and size (LIST without argument).
func (c *Client) List(ctx context.Context) ([]Message, error) {
	var msgs []Message
	err := c.listing(ctx, "LIST", func(line []byte) error {
		n, size, err := parseList(line)
		msgs = append(msgs, Message{Number: n, Size: size})
		return err
	})
	return msgs, err
}

// UIDL returns every message's number and unique-id (UIDL without
// argument, RFC 1939 §7).
func (c *Client) UIDL(ctx context.Context) ([]Message, error) {
	var msgs []Message
	err := c.listing(ctx, "UIDL", func(line []byte) error {
		n, uid, err := parseUIDL(line)
		msgs = append(msgs, Message{Number: n, UID: uid})
		return err
	})
	return msgs, err
}

// ErrNoUIDL reports a server that refused UIDL.
var ErrNoUIDL = errors.New("pop3: the server does not support UIDL")

// Maildrop returns the whole listing: LIST, joined with UIDL. A server
// that refuses UIDL leaves the UIDs empty and returns ErrNoUIDL along
// with the list, so the caller can decide whether it needs them.
func (c *Client) Maildrop(ctx context.Context) ([]Message, error) {
	msgs, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	uids, err := c.UIDL(ctx)
	if err != nil {
		if c.broken == nil && mailerr.As(err) != nil {
			return msgs, fmt.Errorf("%w: %w", ErrNoUIDL, err)
		}
		return nil, err
	}
	byNum := make(map[int]string, len(uids))
	for _, u := range uids {
		byNum[u.Number] = u.UID
	}
	for i := range msgs {
		msgs[i].UID = byNum[msgs[i].Number]
	}
	return msgs, nil
}

// listing runs a command with a multi-line response of one entry a line.
func (c *Client) listing(ctx context.Context, verb string, fn func([]byte) error) error {
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return err
	}
	if _, err := c.cmd(verb, verb, false); err != nil {
		return err
	}
	if err := readLines(c.br, c.o.MaxLine, c.o.MaxListing, fn); err != nil {
		return c.fail(err)
	}
	return nil
}

// Retr retrieves message n (RETR) and writes it, dot-unstuffed and with
// the line ends the server sent, to w. It returns the octets written. An
// error from w or from the connection leaves the session unusable.
func (c *Client) Retr(ctx context.Context, n int, w io.Writer) (int64, error) {
	return c.body(ctx, "RETR "+strconv.Itoa(n), w)
}

// Top retrieves the header of message n and the first lines of its
// body (TOP, RFC 1939 §7).
func (c *Client) Top(ctx context.Context, n, lines int, w io.Writer) (int64, error) {
	return c.body(ctx, "TOP "+strconv.Itoa(n)+" "+strconv.Itoa(lines), w)
}

func (c *Client) body(ctx context.Context, line string, w io.Writer) (int64, error) {
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return 0, err
	}
	if _, err := c.cmd(line, line, false); err != nil {
		return 0, err
	}
	dr := newDotReader(c.br, c.o.MaxMessage)
	written, err := io.Copy(w, dr)
	if err != nil {
		if dr.err == nil {
			// w failed: the rest of the response is still coming.
			return written, c.fail(fmt.Errorf("pop3: writing %s: %w", line, err))
		}
		return written, c.fail(fmt.Errorf("pop3: reading %s: %w", line, err))
	}
	return written, nil
}

// Dele marks message n as deleted (DELE); it is removed when Quit
// succeeds.
func (c *Client) Dele(ctx context.Context, n int) error {
	return c.simple(ctx, "DELE "+strconv.Itoa(n))
}

// Noop does nothing (NOOP), to keep the session alive.
func (c *Client) Noop(ctx context.Context) error { return c.simple(ctx, "NOOP") }

// Rset unmarks every message marked as deleted (RSET).
func (c *Client) Rset(ctx context.Context) error { return c.simple(ctx, "RSET") }

func (c *Client) simple(ctx context.Context, line string) error {
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return err
	}
	_, err = c.cmd(line, line, false)
	return err
}

// Quit ends the session (QUIT) and closes the connection. Messages marked
// as deleted are removed only if this returns nil; an error means the
// server may not have removed them (RFC 1939 §6).
func (c *Client) Quit(ctx context.Context) error {
	defer c.conn.Close()
	end, err := c.op(ctx)
	defer end()
	if err != nil {
		return err
	}
	_, err = c.cmd("QUIT", "QUIT", false)
	return err
}
