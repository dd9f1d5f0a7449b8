package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result is what a run did.
type Result struct {
	Target      string
	Messages    int // requested
	Size        int // bytes per message as sent (without the final dot)
	Concurrency int
	TLS         TLSMode
	Pipelining  bool // requested
	Reuse       bool

	Sent        int         // messages attempted: OK plus all failed
	OK          int         // final 250 after DATA
	Failed      map[int]int // by the reply code that ended the message; 0: no reply
	FirstError  string      // the first failure, for the one line a person reads
	Connections int         // connections set up
	Pipelined   int         // of those, how many pipelined (the server announced it)
	Elapsed     time.Duration
	Latency     Latency // of the OK messages
}

// FailedTotal is the number of failed messages.
func (r *Result) FailedTotal() int {
	n := 0
	for _, v := range r.Failed {
		n += v
	}
	return n
}

// Rate is accepted messages per second.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// failedText is "451: 2, no reply: 1".
func (r *Result) failedText() string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(r.Failed)) {
		name := strconv.Itoa(code)
		if code == 0 {
			name = "no reply"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, r.Failed[code]))
	}
	return strings.Join(parts, ", ")
}

// WriteText writes the report for a person.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	mode := "tls " + r.TLS.String()
	if r.Pipelining {
		mode += fmt.Sprintf(", pipelining on %d of %d connections", r.Pipelined, r.Connections)
	}
	if r.Reuse {
		mode += ", reuse"
	}
	fmt.Fprintf(&b, "target       %s (%s)\n", r.Target, mode)
	fmt.Fprintf(&b, "messages     %d sent, %d ok, %d failed", r.Sent, r.OK, r.FailedTotal())
	if len(r.Failed) > 0 {
		fmt.Fprintf(&b, " (%s)", r.failedText())
	}
	fmt.Fprintf(&b, "\nsize         %d bytes\n", r.Size)
	fmt.Fprintf(&b, "concurrency  %d, %d connections\n", r.Concurrency, r.Connections)
	fmt.Fprintf(&b, "elapsed      %v\n", r.Elapsed.Round(time.Microsecond))
	fmt.Fprintf(&b, "rate         %.1f messages/s\n", r.Rate())
	l := r.Latency
	fmt.Fprintf(&b, "latency      p50 %v  p90 %v  p99 %v  max %v\n",
		l.P50.Round(time.Microsecond), l.P90.Round(time.Microsecond),
		l.P99.Round(time.Microsecond), l.Max.Round(time.Microsecond))
	if r.FirstError != "" {
		fmt.Fprintf(&b, "first error  %s\n", r.FirstError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonResult is the --json line; field names are part of the interface.
type jsonResult struct {
	Target         string         `json:"target"`
	Messages       int            `json:"messages"`
	Size           int            `json:"size"`
	Concurrency    int            `json:"concurrency"`
	TLS            string         `json:"tls"`
	Pipelining     bool           `json:"pipelining"`
	Reuse          bool           `json:"reuse"`
	Sent           int            `json:"sent"`
	OK             int            `json:"ok"`
	Failed         int            `json:"failed"`
	FailedByCode   map[string]int `json:"failed_by_code"`
	FirstError     string         `json:"first_error,omitempty"`
	Connections    int            `json:"connections"`
	Pipelined      int            `json:"pipelined_connections"`
	ElapsedSeconds float64        `json:"elapsed_seconds"`
	PerSecond      float64        `json:"messages_per_second"`
	LatencyMS      latencyMS      `json:"latency_ms"`
}

type latencyMS struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteJSON writes the report as one JSON line. Failure codes are keys
// ("451"; "0" for no reply).
func (r *Result) WriteJSON(w io.Writer) error {
	byCode := make(map[string]int, len(r.Failed))
	for code, n := range r.Failed {
		byCode[strconv.Itoa(code)] = n
	}
	j := jsonResult{
		Target: r.Target, Messages: r.Messages, Size: r.Size,
		Concurrency: r.Concurrency, TLS: r.TLS.String(),
		Pipelining: r.Pipelining, Reuse: r.Reuse,
		Sent: r.Sent, OK: r.OK, Failed: r.FailedTotal(), FailedByCode: byCode,
		FirstError: r.FirstError, Connections: r.Connections, Pipelined: r.Pipelined,
		ElapsedSeconds: r.Elapsed.Seconds(), PerSecond: r.Rate(),
		LatencyMS: latencyMS{ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99), ms(r.Latency.Max)},
	}
	return json.NewEncoder(w).Encode(j)
}
