package config

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true},
		{"5d", 5 * 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"30m1h", 90 * time.Minute, true},
		{"1d2h3m4s", 26*time.Hour + 3*time.Minute + 4*time.Second, true},
		{"0s", 0, true},
		{"007s", 7 * time.Second, true},
		{"", 0, false},
		{"5", 0, false},
		{"m", 0, false},
		{"5ms", 0, false},
		{"1.5h", 0, false},
		{"-5m", 0, false},
		{" 5m", 0, false},
		{"5m ", 0, false},
		{"5M", 0, false},
		{"1m1m", 0, false},
		{"106751d", 106751 * 24 * time.Hour, true},
		{"106752d", 0, false},
		{"106751d23h47m16s", 106751*24*time.Hour + 23*time.Hour + 47*time.Minute + 16*time.Second, true},
		{"106751d23h48m", 0, false},
		{"99999999999999999999s", 0, false},
		{"1s2s3s4s5s6s7s8s9s10s11s12s13s14s15s16s17s18s19s20s21s22s23s24s25s", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got.D() != tc.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tc.in, got.D(), err, tc.want, tc.ok)
		}
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{time.Millisecond, "0s"},
		{90 * time.Minute, "1h30m"},
		{5 * 24 * time.Hour, "5d"},
		{24*time.Hour + time.Second, "1d1s"},
		{-time.Minute, "-1m"},
	}
	for _, tc := range tests {
		if got := Duration(tc.in).String(); got != tc.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"5m", "1h30m", "5d", "0s", "", "5", "1d2h3m4s", "99999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, d.D())
		}
		// Whatever parses formats back to the same value.
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("round trip %q -> %q -> %v, %v", s, d.String(), back.D(), err)
		}
	})
}
