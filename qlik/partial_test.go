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
// line) and then stalls past the timeout is slow, not hung: the call
// fails with a timeout, but the node's breaker stays closed (its limit is
// not forced down to one probe) and the retry is sent, not refused with
// ErrNodeUnresponsive. Under -race it also checks that the moment of the
// first byte, noted on the transport's reader goroutine, is read safely
// after the call timed out.
func TestFirstByteIsALifeSign(t *testing.T) {
	t.Parallel()
	s := startSim(t) // for the client certificate only
	var calls atomic.Int32
	stalled := make(chan struct{})
	t.Cleanup(func() { close(stalled) })
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 { // the warm-up: a whole answer
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"buildVersion":"1"}`))
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\n") // and no more
		_ = buf.Flush()
		select {
		case <-stalled:
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
		c.ReadRetries = 1
	})
	if err := c.Ping(t.Context()); err != nil { // the connection is made here, not under the stalled call's clock
		t.Fatalf("warm-up: %v", err)
	}
	err = c.Ping(t.Context())
	var ce *qlik.ConnError
	if !errors.As(err, &ce) || !ce.Timeout() {
		t.Fatalf("stalled answer: %v, want a timeout", err)
	}
	if errors.Is(err, qlik.ErrNodeUnresponsive) {
		t.Errorf("stalled answer: %v: a node that began to answer was taken for hung", err)
	}
	if got, n := c.Limits()[srv.Listener.Addr().String()], calls.Load(); got < 2 || n != 3 {
		t.Errorf("after two stalled answers: limit %d, %d calls; want the breaker closed (limit above 1) and warm-up, call and retry sent", got, n)
	}
}
