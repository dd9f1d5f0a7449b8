package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Backup writes a consistent copy of the database to path while the
// server runs (VACUUM INTO reads one snapshot; writers go on). It refuses
// to overwrite an existing file (mailerr.Exists). The copy is 0600 and
// fsynced before Backup returns.
func (s *Store) Backup(ctx context.Context, path string) error {
	// O_EXCL both refuses an existing file and reserves the name with our
	// mode; VACUUM INTO accepts an empty file.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return mailerr.Permanent(mailerr.Exists, "backup file "+path+" exists", nil)
	} else if err != nil {
		return dbError("backup", err)
	}
	f.Close()
	if err := s.vacuumInto(ctx, path); err != nil {
		os.Remove(path)
		return dbError("backup", err)
	}
	if err := syncFile(path); err != nil {
		return dbError("backup", err)
	}
	return dbError("backup", syncFile(filepath.Dir(path)))
}

// vacuumInto runs VACUUM INTO on a connection of its own: the readers are
// query-only (which forbids VACUUM INTO) and the writer must stay free for
// commits while the copy is made.
func (s *Store) vacuumInto(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", s.path+"?"+url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())}}.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", path)
	return err
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
