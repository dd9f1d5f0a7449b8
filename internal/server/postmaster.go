package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"

	"github.com/posthorn/posthorn/internal/auth"
	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

type postmasterStore interface {
	UserByAddress(ctx context.Context, address string) (store.User, error)
	AliasTargets(ctx context.Context, alias string) ([]string, error)
	AddUser(ctx context.Context, address string, cred auth.Credentials) (store.User, error)
}

// ensurePostmaster makes sure mail to postmaster has somewhere to go (RFC
// 5321 §4.5.1: every domain MUST accept it). When the postmaster address
// is local and neither a user nor an alias, it becomes a mailbox with a
// random password; `posthorn user passwd` gives it one to log in with.
func ensurePostmaster(ctx context.Context, st postmasterStore, addr string, local func(string) bool, log *slog.Logger) error {
	if !local(addr) {
		return nil // a remote postmaster: the queue forwards
	}
	if targets, err := st.AliasTargets(ctx, addr); err != nil || len(targets) > 0 {
		return err
	}
	if _, err := st.UserByAddress(ctx, addr); !mailerr.Is(err, mailerr.NoSuchUser) {
		return err
	}
	var b [24]byte
	rand.Read(b[:])
	cred, err := auth.NewCredentials(hex.EncodeToString(b[:]))
	if err != nil {
		return err
	}
	if _, err := st.AddUser(ctx, addr, cred); err != nil && !mailerr.Is(err, mailerr.Exists) {
		return err
	}
	log.Info("created the postmaster mailbox; set its password with `posthorn user passwd`", "address", addr)
	return nil
}
