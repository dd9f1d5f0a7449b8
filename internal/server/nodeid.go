package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// sharedLease is how long a node of a cluster holds claimed queue
// entries without renewing them (renewed every third of it): the longest
// a dead node's relay work waits before another node takes it over.
// Shorter than the one-node default because here someone else can
// actually take the work.
const sharedLease = 2 * time.Minute

// nodeIDFile in data_dir names this node in queue leases.
const nodeIDFile = "node-id"

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
