package notify

import "testing"

func pending(s *Sub) (signalled, closed bool) {
	select {
	case _, ok := <-s.C():
		return ok, !ok
	default:
		return false, false
	}
}

func TestHub(t *testing.T) {
	h := New()
	a1, a2, b := h.Subscribe(1), h.Subscribe(1), h.Subscribe(2)
	tests := []struct {
		name          string
		do            func()
		a1, a2, b     bool // signalled
		a1c, a2c, bcl bool // closed
	}{
		{"nothing", func() {}, false, false, false, false, false, false},
		{"publish 1 twice coalesces", func() { h.Publish(1); h.Publish(1) }, true, true, false, false, false, false},
		{"publish 2 and 3", func() { h.Publish(2, 3) }, false, false, true, false, false, false},
		{"all", h.PublishAll, true, true, true, false, false, false},
		{"closed sub gets nothing", func() { a2.Close(); a2.Close(); h.Publish(1) }, true, false, false, false, false, false},
		{"deleted closes", func() { h.Deleted(2) }, false, false, false, false, false, true},
	}
	for _, tc := range tests {
		tc.do()
		for _, c := range []struct {
			name     string
			s        *Sub
			sig, clo bool
		}{{"a1", a1, tc.a1, tc.a1c}, {"a2", a2, tc.a2, tc.a2c}, {"b", b, tc.b, tc.bcl}} {
			sig, clo := pending(c.s)
			if sig != c.sig || clo != c.clo {
				t.Errorf("%s: %s signalled=%v closed=%v, want %v %v", tc.name, c.name, sig, clo, c.sig, c.clo)
			}
			if sig {
				// A second receive must find nothing: one pending signal.
				if s2, _ := pending(c.s); s2 {
					t.Errorf("%s: %s got two signals", tc.name, c.name)
				}
			}
		}
	}
	if n := h.Subscribers(1); n != 1 {
		t.Errorf("Subscribers(1) = %d, want 1", n)
	}
	if n := h.Subscribers(2); n != 0 {
		t.Errorf("Subscribers(2) after delete = %d, want 0", n)
	}
	b.Close() // after Deleted: harmless
	var nilHub *Hub
	s := nilHub.Subscribe(5)
	nilHub.Publish(5)
	nilHub.Deleted(5)
	s.Close()
	if sig, _ := pending(s); sig {
		t.Error("nil hub delivered a signal")
	}
}
