package deadlineconn

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, true},
		{&net.TCPAddr{IP: net.ParseIP("::1")}, true},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1")}, false},
		{&net.UnixAddr{Name: "/tmp/x"}, false},
	}
	for _, tc := range tests {
		if got := IsLoopback(tc.addr); got != tc.want {
			t.Errorf("IsLoopback(%v) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestReadOutsideBegin(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &Conn{Conn: a, Timeout: time.Minute}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("read outside Begin: %v, want context.Canceled", err)
	}
}

func TestCancelInterruptsRead(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &Conn{Conn: a, Timeout: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	end := c.Begin(ctx)
	defer end()
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1)) // b never writes
		done <- err
	}()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled read returned no error")
	}
}

func TestIdleTimeout(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &Conn{Conn: a, Timeout: 10 * time.Millisecond}
	end := c.Begin(context.Background())
	defer end()
	_, err := c.Read(make([]byte, 1)) // b never writes
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("idle read: %v, want a timeout", err)
	}
}
