package config

import (
	"fmt"
	"strconv"

	"github.com/posthorn/posthorn/internal/mailerr"
)

// Error is one problem in a configuration: the file and line when they
// are known, the key, and what is wrong. Its text is one line, as the
// command line prints it:
//
//	posthorn.toml:12: unknown key "listen.smpt"
//	posthorn.toml:7: key "queue.first_retry": bad duration "5x": unknown unit 'x' (want s, m, h, d)
//
// It is a permanent mailerr.BadInput: retrying cannot fix a config.
type Error struct {
	File string // "" for the embedded defaults or a Config built in code
	Line int    // 0 when unknown
	Key  string // dotted path; array-of-table elements as route[0].host
	Msg  string
	Err  error // the cause, if any (a file system error, say)
}

func (e *Error) Error() string {
	var s string
	switch {
	case e.File != "" && e.Line > 0:
		s = e.File + ":" + strconv.Itoa(e.Line) + ": "
	case e.File != "":
		s = e.File + ": "
	case e.Line > 0:
		s = "line " + strconv.Itoa(e.Line) + ": "
	}
	switch {
	case e.Msg == msgUnknownKey:
		return s + fmt.Sprintf("%s %q", msgUnknownKey, e.Key)
	case e.Key != "":
		s += fmt.Sprintf("key %q: ", e.Key)
	}
	return s + e.Msg
}

// msgUnknownKey reads better with the key after it.
const msgUnknownKey = "unknown key"

// Unwrap exposes the cause and the mailerr class, so both errors.Is(err,
// fs.ErrNotExist) and mailerr.IsPermanent(err) hold where they apply.
func (e *Error) Unwrap() []error {
	class := mailerr.Permanent(mailerr.BadInput, "bad configuration", nil)
	if e.Err != nil {
		return []error{e.Err, class}
	}
	return []error{class}
}
