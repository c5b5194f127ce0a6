package qlik_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
)

// TestFirstByteIsALifeSign: a node that starts its answer (the status
// line) and then stalls past the timeout is slow, not hung: the call fails
// with a timeout, but the node's breaker stays closed (its limit is not
// forced down to one probe at a time). Under -race it also checks that the
// moment of the first byte, noted on the transport's reader goroutine, is
// read safely after the call timed out.
func TestFirstByteIsALifeSign(t *testing.T) {
	t.Parallel()
	s := startSim(t) // for the client certificate only
	var stall atomic.Bool
	var stalled atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Stall") == "" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"buildVersion":"1"}`))
			return
		}
		stalled.Add(1)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\n") // and no more
		_ = buf.Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	c := newClient(t, s, func(c *qlik.Config) {
		c.QRSHost, c.QRSPort, c.Resolve = host, p, nil
		c.InsecureSkipVerify = true // httptest's own certificate
		c.Timeout = 2 * time.Second
	})
	qlik.SetBeforeSend(c, func(r *http.Request) {
		if stall.Load() {
			r.Header.Set("X-Test-Stall", "1")
		}
	})
	// The connection is made here, not under the stalled call's clock; a
	// warm-up slower than the timeout on a loaded machine is tried again
	// (its answer closes the breaker its timeout opened).
	for i := 0; ; i++ {
		if err = c.Ping(t.Context()); err == nil {
			break
		}
		if i == 2 {
			t.Fatalf("warm-up: %v", err)
		}
	}
	stall.Store(true)
	err = c.Ping(t.Context())
	var ce *qlik.ConnError
	if !errors.As(err, &ce) || !ce.Timeout() {
		t.Fatalf("stalled answer: %v, want a timeout", err)
	}
	if got, n := c.Limits()[srv.Listener.Addr().String()], stalled.Load(); got < 2 || n != 1 {
		t.Errorf("after a stalled answer (%d sent): limit %d, want the breaker closed (the limit above 1)", n, got)
	}
}
