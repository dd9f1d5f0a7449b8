package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/intake"
	"github.com/posthorn/posthorn/internal/queue"
)

// sharedLease is how long a node of a cluster holds claimed queue
// entries without renewing them (renewed every third of it): the longest
// a dead node's relay work waits before another node takes it over.
// Shorter than the one-node default because here someone else can
// actually take the work.
const sharedLease = 2 * time.Minute

// nodeIDFile in data_dir names this node in queue leases.
const nodeIDFile = "node-id"

// newSharedQueue is newQueue for a store that several nodes share: the
// lease owner is this node's id (host name + a random id kept in
// data_dir), because nodes behind one MX name usually share
// cfg.Hostname, and a node that starts releases every lease of its
// owner name, which would free another live node's work.
//
// TODO(lead): fold into newQueue (queue.go) once it takes a queue.Store
// and an owner; until then the two must set the same [queue] keys.
func newSharedQueue(cfg *config.Config, st queue.Store, in *intake.Service, d queue.Deliverer, r queue.Resolver,
	log *slog.Logger, reg prometheus.Registerer) (*queue.Runner, error) {
	id, err := nodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return queue.New(queue.Config{
		Owner:          cfg.Hostname + "/" + id,
		Hostname:       cfg.Hostname,
		NewSpool:       in.NewSpool,
		FirstRetry:     cfg.Queue.FirstRetry.D(),
		MaxInterval:    cfg.Queue.MaxInterval.D(),
		MaxAge:         cfg.Queue.MaxAge.D(),
		PerDestination: cfg.Queue.PerDestination,
		Lease:          sharedLease,
		ScanInterval:   min(30*time.Second, max(time.Second, cfg.Queue.FirstRetry.D()/2)),
	}, st, d, r, log, queue.NewMetrics(reg))
}

// nodeID returns this node's id, made on first use and kept in data_dir
// so that a node restarted after kill -9 releases its own leases at
// once. A node wiped and replaced gets a new id; its predecessor's
// leases then expire after sharedLease.
func nodeID(dataDir string) (string, error) {
	p := filepath.Join(dataDir, nodeIDFile)
	b, err := os.ReadFile(p)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if id != "" && len(id) <= 64 {
			return id, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("node id: %w", err)
	}
	var r [6]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}
