package server

import (
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/posthorn/posthorn/internal/config"
)

// dropPrivileges switches a root process to cfg.User after the listeners
// are bound, handing it the data directory first. Go's syscall.Setuid
// applies to every thread (Linux, Go ≥ 1.16).
func dropPrivileges(cfg *config.Config, log *slog.Logger) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if cfg.User == "" {
		log.Warn("running as root: set `user` in the config to drop privileges after binding")
		return nil
	}
	u, err := user.Lookup(cfg.User)
	if err != nil {
		return fmt.Errorf("user %q: %w", cfg.User, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("user %q: bad uid/gid %s/%s", cfg.User, u.Uid, u.Gid)
	}
	err = filepath.WalkDir(cfg.DataDir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("handing %s to %s: %w", cfg.DataDir, cfg.User, err)
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid: %w", err)
	}
	log.Info("dropped privileges", "user", cfg.User, "uid", uid, "gid", gid)
	return nil
}
