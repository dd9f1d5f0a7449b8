package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in the file as a string of
// integer-and-unit pairs, units s, m, h and d: "30s", "5m", "1h30m", "5d".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// maxDurationText bounds the string a duration is parsed from.
const maxDurationText = 64

var durationUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
}

// ParseDuration parses the file's duration syntax. Fractions and units
// below a second are refused: no timeout of a mail server needs them,
// and "5" without a unit is ambiguous.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration (want e.g. \"5m\")")
	}
	if len(s) > maxDurationText {
		return 0, fmt.Errorf("duration longer than %d characters", maxDurationText)
	}
	var total time.Duration
	seen := map[byte]bool{}
	for rest := s; rest != ""; {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad duration %q: want a number before each unit (s, m, h, d)", s)
		}
		if i == len(rest) {
			return 0, fmt.Errorf("bad duration %q: missing unit (s, m, h, d)", s)
		}
		unit, ok := durationUnits[rest[i]]
		if !ok {
			return 0, fmt.Errorf("bad duration %q: unknown unit %q (want s, m, h, d)", s, rest[i])
		}
		if seen[rest[i]] {
			return 0, fmt.Errorf("bad duration %q: unit %q repeated", s, rest[i])
		}
		seen[rest[i]] = true
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("bad duration %q: too large", s)
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	return Duration(total), nil
}

// String formats d in the file's syntax, largest units first ("1h30m",
// "5d"); parts below a second are dropped, since the syntax has none.
func (d Duration) String() string {
	v := time.Duration(d)
	if v <= 0 && v > -time.Second {
		return "0s"
	}
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	for _, u := range []struct {
		c byte
		d time.Duration
	}{{'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute}, {'s', time.Second}} {
		if n := v / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteByte(u.c)
			v -= n * u.d
		}
	}
	if b.Len() == 0 || b.String() == "-" {
		return "0s"
	}
	return b.String()
}

// MarshalText writes d in the file's syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses the file's syntax; go-toml calls it for TOML
// strings, so its errors carry the key and line.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
