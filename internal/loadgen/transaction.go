package loadgen

import (
	"context"
	"strconv"
	"time"
)

// envelope holds the command lines of every transaction on a connection,
// built once.
type envelope struct {
	mail  string   // "MAIL FROM:<a> SIZE=n"
	rcpts []string // "RCPT TO:<b>"
	group []byte   // MAIL, RCPTs and DATA with CRLFs: one pipelined write
}

// newEnvelope builds the commands; SIZE (RFC 1870 §6) only when announced.
func newEnvelope(cfg *Config, size int, withSize bool) *envelope {
	e := &envelope{mail: "MAIL FROM:<" + cfg.From + ">"}
	if withSize {
		e.mail += " SIZE=" + strconv.Itoa(size)
	}
	e.group = append(e.group, e.mail+"\r\n"...)
	for _, to := range cfg.To {
		r := "RCPT TO:<" + to + ">"
		e.rcpts = append(e.rcpts, r)
		e.group = append(e.group, r+"\r\n"...)
	}
	e.group = append(e.group, "DATA\r\n"...)
	return e
}

// fatal reports whether err leaves the connection unusable: no reply at
// all, or 421 (the server is closing, RFC 5321 §3.8).
func fatal(err error) bool {
	code := codeOf(err)
	return code == 0 || code == 421
}

// lockstep runs one transaction waiting for each reply (RFC 5321 §3.3)
// and returns the time from MAIL to the final reply.
func lockstep(ctx context.Context, c *client, env *envelope, m *message) (time.Duration, error) {
	start := time.Now()
	if _, err := c.command(ctx, "MAIL", env.mail, 250); err != nil {
		return 0, err
	}
	accepted := 0
	var rcptErr error
	for _, rcpt := range env.rcpts {
		if _, err := c.command(ctx, "RCPT", rcpt, 250, 251); err != nil {
			if fatal(err) {
				return 0, err
			}
			rcptErr = err
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return 0, rcptErr
	}
	if _, err := c.command(ctx, "DATA", "DATA", 354); err != nil {
		return 0, err
	}
	if err := m.writeTo(c.bw); err != nil {
		return 0, c.netErr(ctx, "write", err)
	}
	c.bw.WriteString(".\r\n")
	if err := c.flush(ctx); err != nil {
		return 0, err
	}
	if _, err := c.expect(ctx, "end of data", 250); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// readGroup reads the replies to a pipelined MAIL, RCPTs and DATA
// (RFC 2920 §3.1). It returns nil when DATA got 354 and the message may
// follow, else the error that ended the transaction: MAIL's, the last
// RCPT's when none was accepted, or DATA's.
func readGroup(ctx context.Context, c *client, env *envelope) error {
	_, mailErr := c.expect(ctx, "MAIL", 250)
	if mailErr != nil && fatal(mailErr) {
		return mailErr
	}
	accepted := 0
	var rcptErr error
	for range env.rcpts {
		if _, err := c.expect(ctx, "RCPT", 250, 251); err != nil {
			if fatal(err) {
				return err
			}
			rcptErr = err
			continue
		}
		accepted++
	}
	_, dataErr := c.expect(ctx, "DATA", 354)
	if dataErr != nil && fatal(dataErr) {
		return dataErr
	}
	if dataErr == nil && (mailErr != nil || accepted == 0) {
		// A server must refuse DATA without a valid recipient (RFC 2920
		// §3.1). One that did not gets an empty message, whose reply we
		// read only to stay in step.
		c.bw.WriteString(".\r\n")
		if err := c.flush(ctx); err != nil {
			return err
		}
		if _, err := c.read(ctx); err != nil {
			return err
		}
	}
	switch {
	case mailErr != nil:
		return mailErr
	case accepted == 0:
		return rcptErr
	}
	return dataErr
}
