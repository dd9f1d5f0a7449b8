package config

import (
	"testing"

	"github.com/pelletier/go-toml/v2/unstable"
)

func TestIndexKeys(t *testing.T) {
	doc := `top = 1
[listen]
smtp = ["a:1",
  "b:2"]
[[route]]
domain = "x"
[[route]]
domain = "y"
inline = { k = 5, deep = { d = "s" } }
[route.sub]
v = true
[[route]]
dotted.key = 1
arr = [{ a = 1 }, { a = 2 }]
`
	idx := indexKeys([]byte(doc))
	for _, tc := range []struct {
		key  string
		line int
		kind unstable.Kind
	}{
		{"top", 1, unstable.Integer},
		{"listen", 2, unstable.Table},
		{"listen.smtp", 3, unstable.Array},
		{"listen.smtp[0]", 3, unstable.String},
		{"listen.smtp[1]", 4, unstable.String},
		{"route[0]", 5, unstable.ArrayTable},
		{"route[0].domain", 6, unstable.String},
		{"route[1]", 7, unstable.ArrayTable},
		{"route[1].domain", 8, unstable.String},
		{"route[1].inline.k", 9, unstable.Integer},
		{"route[1].inline.deep.d", 9, unstable.String},
		{"route[1].sub.v", 11, unstable.Bool},
		{"route[2].dotted.key", 13, unstable.Integer},
		{"route[2].arr[1].a", 14, unstable.Integer},
	} {
		pos, ok := idx[tc.key]
		if !ok || pos.line != tc.line || pos.kind != tc.kind {
			t.Errorf("idx[%q] = %+v, %v; want line %d kind %v", tc.key, pos, ok, tc.line, tc.kind)
		}
	}
	if got := idx.lineOf("route[1].missing"); got != 7 {
		t.Errorf("lineOf(route[1].missing) = %d, want 7 (the header)", got)
	}
	if got := idx.lineOf("nothing.here"); got != 0 {
		t.Errorf("lineOf(nothing.here) = %d, want 0", got)
	}
}

func TestDurationKeys(t *testing.T) {
	keys := durationKeys()
	for _, k := range []string{"queue.first_retry", "queue.max_interval", "queue.max_age", "queue.delay_warning",
		"smtp.command_timeout", "smtp.data_term_timeout", "pop3.idle_timeout"} {
		if !keys[k] {
			t.Errorf("durationKeys lacks %q", k)
		}
	}
	if keys["limits.max_message_size"] || len(keys) != 12 {
		t.Errorf("durationKeys = %v, want the 12 duration keys only", keys)
	}
}
