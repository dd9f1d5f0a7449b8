package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Parse, the whole of Load after the
// file is read: it must not panic, and every failure must be an *Error.
func FuzzLoad(f *testing.F) {
	seed, err := os.ReadFile("testdata/interface.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, s := range []string{
		"",
		okHead,
		okHead + "[listen]\nsmpt = []\n",
		okHead + "[[route]]\ndomain = \"*\"\nhost = \"h.test:25\"\n[route.x]\ny = 1\n",
		okHead + "route = [{domain = \"a.test\", host = \"b.test:25\"}]\n",
		okHead + "[queue]\nfirst_retry = 5\nmax_age = \"1d\"\n",
		okHead + "pop3 = { idle_timeout = [1, 2] }\n",
		"a.b.c = [[[1]]]\n",
		"[[x]]\n[[x.y]]\n[x.y.z]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate refuses: %v", err)
		}
	})
}
