package smtp

import "strconv"

// Error is a failure that has an SMTP reply: the code, enhanced code and
// text the client sees, and the cause that only gets logged. Parsers in
// this package return *Error so that a session can answer with it as is;
// a backend may return one to choose its exact reply.
type Error struct {
	Code     int
	Enhanced string
	Msg      string // client-visible text
	Err      error  // cause, for the log; may be nil
}

// newError makes a parser error. Texts are fixed strings so that hostile
// input never reaches a format string or the client's screen.
func newError(code int, enhanced, msg string) *Error {
	return &Error{Code: code, Enhanced: enhanced, Msg: msg}
}

func (e *Error) Error() string {
	s := strconv.Itoa(e.Code)
	if e.Enhanced != "" {
		s += " " + e.Enhanced
	}
	s += " " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the reply is a 4xx one: the client should try
// again later.
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// Reply returns the reply the client sees.
func (e *Error) Reply() Reply {
	return Reply{Code: e.Code, Enhanced: e.Enhanced, Lines: []string{e.Msg}}
}
