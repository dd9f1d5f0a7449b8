package imapserver

// SetOnPanic lets tests see panics the session recovers from.
func SetOnPanic(s *Server, f func(v any)) { s.onPanic = f }
