package main

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"* 1 EXISTS\r\n", "* 1 EXISTS", false},
		{"* 1 FETCH (ENVELOPE ({3}\r\nabc NIL))\r\n", "* 1 FETCH (ENVELOPE ({3}\r\nabc NIL))", false},
		{"* 1 FETCH (A {2+}\r\nxy B {1}\r\nz)\r\n", "* 1 FETCH (A {2+}\r\nxy B {1}\r\nz)", false},
		{"a1 OK done\n", "a1 OK done", false},
		{"* 1 FETCH {5}\r\nab", "", true},
		{"* x {99999999999}\r\n", "", true},
		{"no end", "", true},
	}
	for _, tc := range tests {
		got, err := readResponse(bufio.NewReader(strings.NewReader(tc.in)), nil)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && string(got) != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUntaggedNumber(t *testing.T) {
	tests := []struct {
		in, name string
		n        int
		ok       bool
	}{
		{"* 10000 EXISTS", "EXISTS", 10000, true},
		{"* 3 FETCH (FLAGS ())", "FETCH", 3, true},
		{"* OK [UIDNEXT 4]", "EXISTS", 0, false},
		{"a1 OK", "FETCH", 0, false},
	}
	for _, tc := range tests {
		n, ok := untaggedNumber([]byte(tc.in), tc.name)
		if n != tc.n || ok != tc.ok {
			t.Errorf("%q: got %d %v, want %d %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-users", "a@x:p1,b@x:p2", "-sessions", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.users) != 2 || cfg.users[1].pass != "p2" || cfg.parallel != 3 {
		t.Errorf("got %+v", cfg)
	}
	for _, bad := range [][]string{{"-users", "nopass"}, {"-users", "a:b", "-sessions", "0"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add("* 1 FETCH (ENVELOPE ({3}\r\nabc NIL))\r\n")
	f.Add("* 1 {0}\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReader(strings.NewReader(in))
		for range 100 {
			l, err := readResponse(br, nil)
			if err != nil {
				return
			}
			if len(l) > maxResponse+maxLine {
				t.Fatalf("response of %d bytes", len(l))
			}
		}
	})
}

func TestParseGoMemory(t *testing.T) {
	page := "# HELP x\ngo_memstats_heap_inuse_bytes 6.279168e+07\ngo_memstats_stack_inuse_bytes 1.212416e+06\ngo_goroutines 16\n"
	v, err := parseGoMemory(strings.NewReader(page))
	if err != nil || v != 62791680+1212416 {
		t.Fatalf("got %d, %v", v, err)
	}
	if _, err := parseGoMemory(strings.NewReader("go_goroutines 1\n")); err == nil {
		t.Fatal("no error without the two gauges")
	}
}
