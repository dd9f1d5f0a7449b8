package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/delivery"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/relay"
	"github.com/posthorn/posthorn/internal/smtpclient"
)

// newQueue makes the relay queue's runner from the [queue] settings,
// with lease owner and lease length (0: the queue's default). Run it with
// Run(ctx); call Kick after a commit with remote recipients.
func newQueue(cfg *config.Config, st queue.Store, owner string, lease time.Duration, in *intake.Service,
	d queue.Deliverer, r queue.Resolver, log *slog.Logger, reg prometheus.Registerer) (*queue.Runner, error) {
	return queue.New(queue.Config{
		Owner:          owner,
		Hostname:       cfg.Hostname,
		NewSpool:       in.NewSpool,
		FirstRetry:     cfg.Queue.FirstRetry.D(),
		MaxInterval:    cfg.Queue.MaxInterval.D(),
		MaxAge:         cfg.Queue.MaxAge.D(),
		PerDestination: cfg.Queue.PerDestination,
		DelayWarning:   delayWarning(cfg.Queue.DelayWarning.D()),
		Lease:          lease,
		// The runner wakes on Kick and on this tick; short retry intervals
		// (tests, impatient operators) need a tick of their own size.
		ScanInterval: min(30*time.Second, max(time.Second, cfg.Queue.FirstRetry.D()/2)),
	}, st, d, r, log, queue.NewMetrics(reg))
}

// delayWarning maps the config's "0 = never" to the queue's negative.
func delayWarning(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// routerResolver resolves the recipient of a DSN with the delivery
// router: a local user (or an alias of local users) gets it in its
// mailbox; an address outside the local domains is queued for relay.
type routerResolver struct{ router *delivery.Router }

func (a routerResolver) Resolve(ctx context.Context, addr string) ([]queue.LocalTarget, bool, error) {
	ts, err := a.router.Resolve(ctx, addr)
	if mailerr.Is(err, mailerr.NotLocal) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := make([]queue.LocalTarget, 0, len(ts))
	for _, t := range ts {
		if !t.Remote { // a report goes to the local mailboxes of a forwarding alias only
			out = append(out, queue.LocalTarget{UserID: t.UserID, Address: t.Address})
		}
	}
	return out, false, nil
}

// relayDeliverer delivers a queue group: relay routing for the domain,
// then the SMTP client over the hops.
type relayDeliverer struct {
	router *relay.Router
	client *smtpclient.Client
}

func (a relayDeliverer) Deliver(ctx context.Context, domain string, env *queue.Envelope, body queue.Body) queue.Result {
	hops, err := a.router.Route(ctx, domain)
	if err != nil {
		return failAll(env, err)
	}
	e := &smtpclient.Envelope{From: env.From, BodyType: env.BodyType, SMTPUTF8: env.SMTPUTF8,
		Ret: env.Ret, EnvID: env.EnvID}
	for _, r := range env.Rcpts {
		e.Rcpts = append(e.Rcpts, smtpclient.Rcpt{Addr: r.Addr, Notify: r.Notify, ORCPT: r.ORCPT})
	}
	res := a.client.Deliver(ctx, hops, e, smtpclient.Body{Open: body.Open, Size: body.Size})
	out := queue.Result{PeerDSN: res.PeerDSN, Rcpts: make([]queue.RcptResult, len(res.Rcpts))}
	for i, rr := range res.Rcpts {
		out.Rcpts[i] = queue.RcptResult{Rcpt: rr.Rcpt, Delivered: rr.Delivered(), Permanent: rr.Permanent(),
			Code: rr.Code, Enhanced: rr.Enhanced, Text: rr.Text, Host: rr.Host}
	}
	return out
}

// failAll gives every recipient the routing failure err.
func failAll(env *queue.Envelope, err error) queue.Result {
	rr := queue.RcptResult{Permanent: mailerr.IsPermanent(err), Text: err.Error()}
	if re := smtpclient.ReplyOf(err); re != nil {
		rr.Code, rr.Enhanced, rr.Text, rr.Host = re.Code, re.Enhanced, re.Text, re.Host
	}
	out := queue.Result{Rcpts: make([]queue.RcptResult, len(env.Rcpts))}
	for i, r := range env.Rcpts {
		out.Rcpts[i] = rr
		out.Rcpts[i].Rcpt = r.Addr
	}
	return out
}
