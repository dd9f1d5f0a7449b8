package smtpclient

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// Client delivers messages over SMTP and keeps a small pool of
// connections per host. It is safe for concurrent use; Close ends it.
type Client struct {
	cfg  Config
	log  *slog.Logger
	pool *pool
}

// New returns a client with cfg's settings (zero fields take defaults).
func New(cfg Config) *Client {
	c := cfg.withDefaults()
	cl := &Client{cfg: c, log: c.Logger}
	cl.pool = newPool(&cl.cfg)
	return cl
}

// Close says QUIT on every pooled connection and closes them; Deliver
// may not be called after it.
func (cl *Client) Close() error {
	cl.pool.close()
	return nil
}

// message is one Deliver's message with what is worked out once.
type message struct {
	env  *Envelope
	body Body
	utf8 bool

	convOnce sync.Once
	conv     *conversion
}

// convert returns the 7-bit conversion, analysed at the first need.
func (m *message) convert(ctx context.Context) *conversion {
	m.convOnce.Do(func() { m.conv = analyse(ctx, m.body) })
	return m.conv
}

// Deliver sends one message to the recipients of env, trying hops in
// order: a hop's addresses in order, then the next hop, while nothing is
// decided (connection failures, a greeting or EHLO that is not 2xx, a 421
// before any recipient was answered, TLS required and unavailable). Once
// a server answers the transaction its replies decide. The result has one
// entry per recipient; recipients no host decided fail with the last
// failure seen: temporary, unless the last host refused the session
// itself with 5xx (greeting, EHLO and HELO).
func (cl *Client) Deliver(ctx context.Context, hops []Hop, env *Envelope, body Body) Result {
	res := Result{Rcpts: make([]RcptResult, len(env.Rcpts))}
	var pending []int
	for i, r := range env.Rcpts {
		res.Rcpts[i].Rcpt = r.Addr
		if !validAddr(r.Addr) || r.Addr == "" {
			res.setErr(i, localFailure("5.1.3", "invalid recipient address", "", nil))
			continue
		}
		pending = append(pending, i)
	}
	var last error = localFailure("4.4.4", "no host to deliver to", "", nil)
	switch {
	case !validAddr(env.From):
		last = localFailure("5.1.7", "invalid sender address", "", nil)
		hops = nil
	case body.Open == nil:
		last = localFailure("4.3.0", "no message body", "", nil)
		hops = nil
	}
	m := &message{env: env, body: body, utf8: env.needsUTF8()}
	connects := 0
	for h := 0; h < len(hops) && len(pending) > 0 && ctx.Err() == nil; h++ {
		var err error
		pending, err = cl.tryHop(ctx, &hops[h], m, pending, &res, &connects)
		if err != nil {
			last = err
		}
	}
	if ctx.Err() != nil && len(pending) > 0 {
		last = localFailure("4.4.2", "delivery interrupted", "", ctx.Err())
	}
	for _, i := range pending {
		res.setErr(i, last)
	}
	cl.cfg.Metrics.result(&res)
	return res
}

// validAddr refuses addresses that would break the command line.
func validAddr(a string) bool {
	if len(a) > 512 {
		return false
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c < ' ' || c == 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// errConnectLimit ends the attempts of one Deliver.
var errConnectLimit = errors.New("smtpclient: connection attempt limit reached")

// tryHop delivers over a pooled connection to hop or new ones to its
// addresses, and returns the recipients still undecided.
func (cl *Client) tryHop(ctx context.Context, hop *Hop, m *message, pending []int, res *Result, connects *int) ([]int, error) {
	var last error
	for len(pending) > 0 {
		c := cl.pool.get(hop.poolKey())
		if c == nil {
			break
		}
		cl.cfg.Metrics.reuse()
		var err error
		pending, err = cl.useConn(ctx, c, m, pending, res)
		if err != nil {
			last = err
		}
	}
	for _, target := range hop.targets() {
		if len(pending) == 0 || ctx.Err() != nil {
			break
		}
		if *connects >= cl.cfg.MaxConnects {
			if last == nil {
				last = localFailure("4.4.1", "no host could be reached", hop.Host, errConnectLimit)
			}
			break
		}
		*connects++
		c, err := cl.connect(ctx, hop, target, false)
		if errors.Is(err, errTLSFallback) {
			cl.log.Info("smtpclient: STARTTLS failed, trying again without TLS", "host", hop.Host, "addr", target, "err", err)
			c, err = cl.connect(ctx, hop, target, true)
		}
		if err != nil {
			cl.log.Info("smtpclient: connection failed", "host", hop.Host, "addr", target, "err", err)
			last = err
			continue
		}
		pending, err = cl.useConn(ctx, c, m, pending, res)
		if err != nil {
			last = err
		}
	}
	return pending, last
}

// useConn runs transactions for pending (in groups of MaxRcptsPerTxn) on
// c, then pools or closes c. It returns the recipients left undecided.
// c is bound to ctx by the caller (connect) or here (pooled).
func (cl *Client) useConn(ctx context.Context, c *conn, m *message, pending []int, res *Result) ([]int, error) {
	if c.stop == nil {
		c.bind(ctx)
	}
	for len(pending) > 0 {
		n := min(len(pending), cl.cfg.MaxRcptsPerTxn)
		out, err := cl.transact(ctx, c, m, pending[:n], res)
		switch out {
		case txnRetry:
			c.unbind()
			c.close()
			return pending, err
		case txnBroken:
			c.unbind()
			c.close()
			return pending[n:], nil
		}
		pending = pending[n:]
	}
	if c.unbind() || c.txns >= cl.cfg.MaxMessagesPerConn {
		c.quit()
	} else {
		cl.pool.put(c)
	}
	return nil, nil
}
