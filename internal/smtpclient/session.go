package smtpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/posthorn/posthorn/internal/smtp"
)

// errTLSFallback marks an opportunistic STARTTLS that failed in the
// handshake: the caller dials again without TLS, as MTAs do.
var errTLSFallback = errors.New("smtpclient: STARTTLS handshake failed")

// connect dials target and brings the session to the point where MAIL
// may be sent: greeting, EHLO (or HELO), STARTTLS, EHLO again, AUTH. The
// connection is bound to ctx; the caller unbinds it.
func (cl *Client) connect(ctx context.Context, hop *Hop, target string, noTLS bool) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, cl.cfg.ConnectTimeout)
	nc, err := cl.cfg.Dial(dctx, "tcp", target)
	cancel()
	if err != nil {
		cl.cfg.Metrics.connect(false)
		return nil, localFailure("4.4.1", "cannot connect to "+target, hop.Host, err)
	}
	c := newConn(nc, hop.Host, target, hop.poolKey())
	c.bind(ctx)
	if err := cl.setup(ctx, c, hop, noTLS); err != nil {
		cl.cfg.Metrics.connect(false)
		c.unbind()
		if errors.Is(err, errTLSFallback) || peerGone(err) {
			c.close()
		} else {
			c.quit()
		}
		return nil, err
	}
	cl.cfg.Metrics.connect(true)
	return c, nil
}

// peerGone reports whether err carries a 421 reply or an I/O failure:
// the peer is gone (or the stream is broken) and QUIT is pointless.
func peerGone(err error) bool {
	re := ReplyOf(err)
	return re == nil || re.Code == smtp.C421ServiceUnavail || re.Code == 0 && re.Err != nil
}

func (cl *Client) setup(ctx context.Context, c *conn, hop *Hop, noTLS bool) error {
	rep, err := c.read(cl.cfg.GreetingTimeout)
	if err != nil {
		return ioFailure(hop.Host, "waiting for the greeting", err)
	}
	if rep.Code != smtp.C220ServiceReady {
		return replyFailure(rep, hop.Host)
	}
	if err := cl.hello(c); err != nil {
		return err
	}
	if err := cl.starttls(ctx, c, hop, noTLS); err != nil {
		return err
	}
	if hop.Auth != nil {
		return cl.auth(c, hop)
	}
	return nil
}

// hello sends EHLO, or HELO when the peer refuses EHLO with 5xx
// (RFC 5321 §4.1.4), and records the extensions.
func (cl *Client) hello(c *conn) error {
	rep, err := c.roundTrip(cl.cfg.CommandTimeout, "EHLO "+cl.cfg.Hostname)
	if err != nil {
		return ioFailure(c.host, "after EHLO", err)
	}
	if rep.Code == smtp.C250OK {
		c.ext = parseEHLO(rep)
		return nil
	}
	if rep.Code < 500 || c.tls {
		return replyFailure(rep, c.host)
	}
	rep, err = c.roundTrip(cl.cfg.CommandTimeout, "HELO "+cl.cfg.Hostname)
	if err != nil {
		return ioFailure(c.host, "after HELO", err)
	}
	if rep.Code != smtp.C250OK {
		return replyFailure(rep, c.host)
	}
	c.ext = extensions{}
	return nil
}

// starttls upgrades the connection as the hop's policy says (RFC 3207).
func (cl *Client) starttls(ctx context.Context, c *conn, hop *Hop, noTLS bool) error {
	required := hop.TLS == TLSRequired
	if hop.TLS == TLSNone || noTLS && !required {
		cl.cfg.Metrics.starttls("none")
		return nil
	}
	if !c.ext.starttls {
		cl.cfg.Metrics.starttls("none")
		if required {
			return localFailure("4.7.10", "TLS is required for this route and the peer does not offer STARTTLS", hop.Host, nil)
		}
		return nil
	}
	rep, err := c.roundTrip(cl.cfg.CommandTimeout, "STARTTLS")
	if err != nil {
		return ioFailure(hop.Host, "after STARTTLS", err)
	}
	if rep.Code != smtp.C220ServiceReady {
		cl.cfg.Metrics.starttls("failed")
		if required {
			return replyFailure(forceTemporary(rep), hop.Host)
		}
		return nil // RFC 3207 §4: go on in the clear
	}
	if c.br.Buffered() > 0 {
		// Bytes after the 220 were sent in the clear and would be read as
		// if they came over TLS (response injection, CVE-2011-0411).
		return localFailure("4.7.0", "peer sent data after its STARTTLS reply", hop.Host, nil)
	}
	cfg, err := cl.tlsConfig(hop)
	if err != nil {
		return localFailure("4.7.5", "cannot load the route's CA file", hop.Host, err)
	}
	c.mu.Lock()
	if !c.cancelled {
		c.nc.SetDeadline(c.deadline(cl.cfg.CommandTimeout))
	}
	tc := tls.Client(c.nc, cfg)
	c.nc = tc
	c.mu.Unlock()
	c.br.Reset(tc)
	if err := tc.HandshakeContext(ctx); err != nil {
		cl.cfg.Metrics.starttls("failed")
		if required {
			return localFailure("4.7.5", "TLS handshake failed", hop.Host, err)
		}
		return fmt.Errorf("%w: %s: %w", errTLSFallback, hop.Host, err)
	}
	cl.cfg.Metrics.starttls("ok")
	c.tls = true
	// RFC 3207 §4.2: forget what was learnt before TLS and ask again.
	return cl.hello(c)
}

// forceTemporary turns a 5xx reply to STARTTLS into a 4xx one: a peer
// that fails TLS today may work tomorrow, and the mail must wait.
func forceTemporary(rep smtp.Reply) smtp.Reply {
	if rep.Code >= 500 {
		rep.Code -= 100
		if rep.Enhanced != "" {
			rep.Enhanced = "4" + rep.Enhanced[1:]
		}
	}
	return rep
}

// tlsConfig verifies the peer only for TLSRequired: opportunistic TLS
// takes any certificate, since the alternative is plain text (RFC 7435).
func (cl *Client) tlsConfig(hop *Hop) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName(hop.Host), MinVersion: tls.VersionTLS12}
	if hop.TLS != TLSRequired {
		cfg.InsecureSkipVerify = true
		return cfg, nil
	}
	cfg.RootCAs = cl.cfg.RootCAs
	if hop.CAFile != "" {
		pem, err := os.ReadFile(hop.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtpclient: no certificate in %s", hop.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
