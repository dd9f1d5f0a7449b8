package sqlite

import (
	"errors"
	"io/fs"
	"os"
)

// The directory version lets the SMTP server keep RCPT lookups in memory
// (delivery.Router) and still see at once a user or alias that another
// process (the admin commands) added, changed or deleted. A read
// transaction costs about 40 µs, most of it file locking; a stat(2) of a
// marker file costs one system call.
//
// The marker, dataDir/posthorn.db-directory, grows by one octet after
// every committed write transaction except those of mail flow
// (mailWrites), which never touch users nor aliases. O_APPEND makes the
// size grow by exactly one per write, in every process, so the size never
// comes back to an earlier value (the modification time is compared too,
// for a marker removed and made again): readers compare it before and
// after. The octet is appended after the commit, so whoever sees the new
// size also sees the change. When the marker cannot be written, it is
// removed, and DirectoryVersion reports no version (callers then read the
// store every time).

// markerSuffix names the marker next to the database file.
const markerSuffix = "-directory"

// mailWrites are the write transactions, by their name in Store.write,
// that change neither users nor aliases: they leave the marker alone.
// Any other write (including ones added later) marks the directory as
// changed, which is always safe.
var mailWrites = map[string]bool{
	"commit": true, "append": true, "copy": true, "store flags": true, "expunge": true,
	"lock maildrop": true, "unlock maildrop": true, "set summaries": true, "subscribe": true,
	"claim queue": true, "release leases": true, "defer queue entries": true,
	"remove queue entries": true, "delete queue entries": true, "record a delay notice": true,
}

// markDirectory appends one octet to the marker after the write what
// committed.
func (s *Store) markDirectory(what string) {
	if mailWrites[what] {
		return
	}
	name := s.path + markerSuffix
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = f.Write([]byte{'.'})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		// Nobody may trust a marker that did not move.
		rerr := os.Remove(name)
		if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			s.log.Error("store: directory marker neither written nor removed: RCPT caches may be stale",
				"path", name, "err", err, "remove_err", rerr)
			return
		}
		s.log.Warn("store: directory marker not written; removed", "path", name, "err", err)
	}
}

// DirectoryVersion returns a value that changes whenever users or
// aliases may have changed, in this process or another; ok is false when
// there is none to give (then nothing may be cached).
func (s *Store) DirectoryVersion() (v [2]uint64, ok bool) {
	fi, err := os.Stat(s.path + markerSuffix)
	if err != nil || !fi.Mode().IsRegular() {
		return v, false
	}
	return [2]uint64{uint64(fi.Size()), uint64(fi.ModTime().UnixNano())}, true
}
