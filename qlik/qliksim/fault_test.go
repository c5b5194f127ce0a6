package qliksim_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestLatency(t *testing.T) {
	t.Parallel()
	t.Run("added to every request", func(t *testing.T) {
		t.Parallel()
		s := start(t)
		c := newClient(t, s, tlsConfig(t, s))
		mustCall(t, c, http.MethodGet, qpsURL(s, dev1, "/qps/dev/session"), nil, 200) // warm the connection
		const lat = 40 * time.Millisecond
		if err := s.SetFault(dev1, qliksim.Fault{Latency: lat}); err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		mustCall(t, c, http.MethodGet, qpsURL(s, dev1, "/qps/dev/session"), nil, 200)
		// A lower bound only: it cannot fail on a slow machine.
		if took := time.Since(begin); took < lat {
			t.Fatalf("request took %v with %v latency", took, lat)
		}
	})
	t.Run("honours client cancellation", func(t *testing.T) {
		t.Parallel()
		s := start(t)
		c := newClient(t, s, tlsConfig(t, s))
		// Warm the connection: on a loaded machine the handshake alone
		// could outlast the deadline, and the request never arrive.
		mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps/finance/session"), nil, 200)
		if err := s.SetFault(central, qliksim.Fault{Latency: time.Hour}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		_, err := call(ctx, c, http.MethodGet, qpsURL(s, central, "/qps/finance/session"), nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want deadline exceeded", err)
		}
		// The handler stopped waiting when the client left: it is logged.
		eventually(t, "the abandoned request in the log", func() bool {
			reqs := s.Requests()
			return len(reqs) == 2 && reqs[1].Status == 499
		})
	})
	t.Run("jitter adds to latency", func(t *testing.T) {
		t.Parallel()
		s := start(t)
		c := newClient(t, s, tlsConfig(t, s))
		const lat, jit = 5 * time.Millisecond, 10 * time.Millisecond
		s.SetFaultAll(qliksim.Fault{Latency: lat, Jitter: jit})
		for range 5 {
			begin := time.Now()
			mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps/win/session"), nil, 200)
			if took := time.Since(begin); took < lat {
				t.Fatalf("took %v, below latency %v", took, lat)
			}
		}
	})
}

func TestDown(t *testing.T) {
	t.Parallel()
	s := start(t)
	warm := newClient(t, s, tlsConfig(t, s))
	mustCall(t, warm, http.MethodGet, qpsURL(s, dev1, "/qps/dev/session"), nil, 200)
	if err := s.SetFault(dev1, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*http.Client{"fresh client": newClient(t, s, tlsConfig(t, s)), "warm client": warm} {
		_, err := call(t.Context(), c, http.MethodGet, qpsURL(s, dev1, "/qps/dev/session"), nil)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("%s: GET on a down node: %v, want connection refused", name, err)
		}
	}
	// The other node and QRS still answer.
	c := newClient(t, s, tlsConfig(t, s))
	mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps/finance/session"), nil, 200)
	mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/about"), nil, 200)

	if err := s.SetFault(dev1, qliksim.Fault{}); err != nil {
		t.Fatalf("heal: %v", err)
	}
	mustCall(t, c, http.MethodGet, qpsURL(s, dev1, "/qps/dev/session"), nil, 200)

	// The first node carries QRS: it goes down with it.
	if err := s.SetFault(central, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t.Context(), c, http.MethodGet, qrsURL(s, "/qrs/about"), nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("QRS on a down central node: %v, want connection refused", err)
	}
	s.SetFaultAll(qliksim.Fault{})
	mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/about"), nil, 200)
}

// statuses makes n sequential calls and returns the statuses.
func statuses(t *testing.T, seed int64, rate float64, n int) []int {
	t.Helper()
	s := start(t, qliksim.WithSeed(seed))
	c := newClient(t, s, tlsConfig(t, s))
	if err := s.SetFault(central, qliksim.Fault{ErrorRate: rate}); err != nil {
		t.Fatal(err)
	}
	out := make([]int, n)
	for i := range out {
		resp, err := call(t.Context(), c, http.MethodGet, qpsURL(s, central, "/qps/finance/session"), nil)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = resp.status
	}
	logged := 0
	for _, r := range s.Requests() {
		if r.Status == http.StatusInternalServerError {
			logged++
		}
	}
	if want := count(out, 500); logged != want {
		t.Fatalf("request log holds %d 500s, client saw %d", logged, want)
	}
	return out
}

func count(xs []int, v int) int {
	n := 0
	for _, x := range xs {
		if x == v {
			n++
		}
	}
	return n
}

func TestErrorRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rate     float64
		min, max int // 500s out of 200
	}{
		{"never", 0, 0, 0},
		{"a quarter", 0.25, 30, 70},
		{"always", 1, 200, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := statuses(t, 42, tc.rate, 200)
			if n := count(got, 500); n < tc.min || n > tc.max {
				t.Fatalf("%d of 200 answered 500 at rate %v, want %d..%d", n, tc.rate, tc.min, tc.max)
			}
			if n := count(got, 500) + count(got, 200); n != 200 {
				t.Fatalf("unexpected statuses %v", got)
			}
		})
	}
	t.Run("same seed, same sequence", func(t *testing.T) {
		t.Parallel()
		a, b := statuses(t, 7, 0.5, 40), statuses(t, 7, 0.5, 40)
		if !slices.Equal(a, b) {
			t.Fatalf("seed 7 gave %v then %v", a, b)
		}
	})
}

func TestHandshakeDelay(t *testing.T) {
	t.Parallel()
	s := start(t)
	if err := s.SetFault(dev1, qliksim.Fault{HandshakeDelay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	c := newClient(t, s, tlsConfig(t, s))
	if _, err := call(ctx, c, http.MethodGet, qpsURL(s, dev1, "/qps/dev/session"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded during the handshake", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("%d requests reached a handler, want 0: the handshake never finished", n)
	}
	// Central is not affected; a short delay on dev1 is a lower bound.
	mustCall(t, newClient(t, s, tlsConfig(t, s)), http.MethodGet, qpsURL(s, central, "/qps//session"), nil, 200)
	const d = 40 * time.Millisecond
	if err := s.SetFault(dev1, qliksim.Fault{HandshakeDelay: d}); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	mustCall(t, newClient(t, s, tlsConfig(t, s)), http.MethodGet, qpsURL(s, dev1, "/qps/dev/session"), nil, 200)
	if took := time.Since(begin); took < d {
		t.Fatalf("request took %v with a %v handshake delay", took, d)
	}
}

func TestSetFaultErrors(t *testing.T) {
	t.Parallel()
	s := start(t)
	tests := []struct {
		name string
		host string
		f    qliksim.Fault
	}{
		{"unknown host", "nope.example", qliksim.Fault{}},
		{"negative latency", central, qliksim.Fault{Latency: -time.Second}},
		{"error rate above 1", central, qliksim.Fault{ErrorRate: 1.5}},
		{"negative error rate", central, qliksim.Fault{ErrorRate: -0.1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := s.SetFault(tc.host, tc.f); err == nil {
				t.Fatal("SetFault accepted it")
			}
		})
	}
}
