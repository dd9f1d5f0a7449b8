package intake

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Batch limits: one commit holds at most this many messages or bytes (the
// first message always goes, however big).
const (
	defaultMaxBatch      = 256
	defaultMaxBatchBytes = 32 << 20
	// defaultCommitTimeout bounds one store commit; past it the store
	// rolls back and the submitters get a temporary error.
	defaultCommitTimeout = 2 * time.Minute
)

// Service is the group committer. Many sessions Submit; one goroutine
// commits.
type Service struct {
	c    Committer
	dir  string
	log  *slog.Logger
	m    *Metrics
	pool bufPool

	memMax        int
	maxBatch      int
	maxBatchBytes int64
	commitTimeout time.Duration

	mu      sync.Mutex
	pending []*request
	closed  bool

	wake chan struct{} // capacity 1: "pending may have grown"
	done chan struct{} // closed when the committer goroutine ends
}

// request is one Submit waiting for its commit.
type request struct {
	msg   *Message
	done  chan error // capacity 1
	taken bool       // the committer has it; guarded by Service.mu
}

// New starts the group committer over c. Spools above 256 KiB go to temp
// files in spoolDir (made 0700 when first needed). log and m may be nil.
func New(c Committer, spoolDir string, log *slog.Logger, m *Metrics) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		c: c, dir: spoolDir, log: log, m: m,
		memMax:        defaultMemMax,
		maxBatch:      defaultMaxBatch,
		maxBatchBytes: defaultMaxBatchBytes,
		commitTimeout: defaultCommitTimeout,
		wake:          make(chan struct{}, 1),
		done:          make(chan struct{}),
	}
	go s.run()
	return s
}

// Submit hands m to the committer and waits until it is durable (nil) or
// failed. The caller keeps m.Body and closes it after Submit returns.
//
// If ctx ends first, Submit returns a temporary error: when the committer
// had not taken m yet, m is withdrawn and will not be stored; otherwise it
// may or may not be committed.
func (s *Service) Submit(ctx context.Context, m *Message) error {
	if m == nil || m.Body == nil {
		return mailerr.Permanent(mailerr.BadInput, "no message", nil)
	}
	if err := m.Body.Err(); err != nil {
		return err
	}
	if m.ID == "" {
		m.ID = NewID()
	}
	r := &request{msg: m, done: make(chan error, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return mailerr.Temporary(mailerr.Unavailable, "shutting down", nil)
	}
	m.Body.hold()
	s.pending = append(s.pending, r)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}

	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
	}
	s.mu.Lock()
	if !r.taken {
		for i, p := range s.pending {
			if p == r {
				s.pending = append(s.pending[:i], s.pending[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		m.Body.unhold()
		return mailerr.Temporary(mailerr.Unavailable, "submission cancelled",
			fmt.Errorf("intake: %s withdrawn: %w", m.ID, ctx.Err()))
	}
	s.mu.Unlock()
	return mailerr.Temporary(mailerr.Unavailable, "commit outcome unknown",
		fmt.Errorf("intake: %s: %w", m.ID, ctx.Err()))
}

// Close commits what is queued, then stops the committer. Later Submits
// fail with a temporary error.
func (s *Service) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	<-s.done
	return nil
}

// run is the committer goroutine.
func (s *Service) run() {
	defer close(s.done)
	var msgs []*Message // reused between batches
	for {
		batch, closed := s.take()
		if len(batch) > 0 {
			msgs = s.commit(batch, msgs[:0])
			continue
		}
		if closed {
			return
		}
		<-s.wake
	}
}

// take removes the next batch from pending: the first waiting message and
// every other already waiting, within the batch limits.
func (s *Service) take() (batch []*request, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var bytes int64
	n := 0
	for n < len(s.pending) && n < s.maxBatch {
		sz := s.pending[n].msg.Body.Size()
		if n > 0 && bytes+sz > s.maxBatchBytes {
			break
		}
		bytes += sz
		s.pending[n].taken = true
		n++
	}
	batch = make([]*request, n)
	copy(batch, s.pending[:n])
	rest := copy(s.pending, s.pending[n:])
	clear(s.pending[rest:])
	s.pending = s.pending[:rest]
	return batch, s.closed
}

// commit stores batch, retrying one by one if the batch as a whole fails,
// and answers every submitter.
func (s *Service) commit(batch []*request, msgs []*Message) []*Message {
	for _, r := range batch {
		msgs = append(msgs, r.msg)
	}
	err := s.commitMsgs(msgs)
	if err == nil || len(batch) == 1 {
		for _, r := range batch {
			s.finish(r, err)
		}
		return msgs
	}
	s.log.Warn("intake: batch commit failed; retrying one by one",
		"messages", len(batch), "err", err)
	for _, r := range batch {
		msgs[0] = r.msg
		s.finish(r, s.commitMsgs(msgs[:1]))
	}
	return msgs
}

// commitMsgs calls the Committer with a bounded time, turning a panic in
// the store into an error so the committer goroutine survives.
func (s *Service) commitMsgs(msgs []*Message) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.commitTimeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = mailerr.Temporary(mailerr.Unknown, "store failure", fmt.Errorf("intake: commit panicked: %v", p))
		}
		s.m.observeCommit(len(msgs), time.Since(start), err)
	}()
	if err := s.c.CommitBatch(ctx, msgs); err != nil {
		if len(msgs) == 1 {
			return fmt.Errorf("intake: commit %s: %w", msgs[0].ID, err)
		}
		return fmt.Errorf("intake: commit of %d messages: %w", len(msgs), err)
	}
	return nil
}

func (s *Service) finish(r *request, err error) {
	r.msg.Body.unhold()
	r.done <- err
}
