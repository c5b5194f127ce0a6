package qliksim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestDefaultCapacities(t *testing.T) {
	t.Parallel()
	want := qliksim.Capacities{
		QPS:    qliksim.Capacity{InFlight: 16, Queue: 32},
		QRS:    qliksim.Capacity{InFlight: 8, Queue: 16},
		Engine: qliksim.Capacity{InFlight: 8, Queue: 16},
	}
	if got := qliksim.DefaultCapacities(); got != want {
		t.Errorf("DefaultCapacities() = %+v, want the documented %+v", got, want)
	}
	if _, err := qliksim.Start(qliksim.WithCapacity(qliksim.Capacities{QPS: qliksim.Capacity{InFlight: -1}})); err == nil {
		t.Error("a negative capacity was accepted")
	}
}

// TestCapacityOverTheWire: one QPS request served at once on dev1 and
// one waiting; the third is answered 503 at once, QRS on the other node
// still answers, and the counters say so.
func TestCapacityOverTheWire(t *testing.T) {
	t.Parallel()
	s := start(t, qliksim.WithCapacity(qliksim.Capacities{QPS: qliksim.Capacity{InFlight: 1, Queue: 1}}))
	c := newClient(t, s, tlsConfig(t, s))
	if err := s.SetFault(dev1, qliksim.Fault{Latency: time.Hour}); err != nil {
		t.Fatal(err)
	}
	load := func() qliksim.Load { return s.Loads()[1].QPS }
	ctx, cancel := context.WithCancel(t.Context())
	held := make(chan error, 2)
	hold := func() {
		_, err := call(ctx, c, http.MethodGet, qpsURL(s, dev1, "/qps/dev/session"), nil)
		held <- err
	}
	go hold()
	eventually(t, "the first request served", func() bool { return load().PeakInFlight == 1 })
	go hold()
	eventually(t, "the second request waiting", func() bool { return load().PeakQueued == 1 })

	third, cancelThird := context.WithTimeout(t.Context(), 30*time.Second) // a gate that queues it fails, not hangs
	defer cancelThird()
	resp, err := call(third, c, http.MethodGet, qpsURL(s, dev1, "/qps/test/session"), nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.status != http.StatusServiceUnavailable || !strings.Contains(string(resp.body), "capacity") {
		t.Errorf("third request: %d %s, want 503 naming the capacity", resp.status, resp.body)
	}
	mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/about"), nil, http.StatusOK) // other service, other node: not affected
	if got, want := load(), (qliksim.Load{PeakInFlight: 1, PeakQueued: 1, Rejected: 1}); got != want {
		t.Errorf("dev1 QPS load %+v, want %+v", got, want)
	}
	if got := s.Loads()[0]; got.QPS != (qliksim.Load{}) || got.QRS.PeakInFlight != 1 || got.Host != central {
		t.Errorf("central load %+v, want one QRS request and no QPS", got)
	}
	cancel()
	for range 2 {
		<-held
	}
	eventually(t, "both held requests logged as abandoned", func() bool {
		n := 0
		for _, r := range s.Requests() {
			if r.Status == 499 {
				n++
			}
		}
		return n == 2
	})
	s.ResetLoad()
	if got := load(); got != (qliksim.Load{}) {
		t.Errorf("after ResetLoad: %+v", got)
	}
}

// TestQueueAddsLatency: with one request served at once and every call
// taking 30 ms, the second of two concurrent requests waits for the
// first: it takes at least twice as long (a lower bound, so it cannot
// fail on a slow machine).
func TestQueueAddsLatency(t *testing.T) {
	t.Parallel()
	s := start(t, qliksim.WithCapacity(qliksim.Capacities{QPS: qliksim.Capacity{InFlight: 1, Queue: 4}}))
	c := newClient(t, s, tlsConfig(t, s))
	for range 2 { // two warm connections
		mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps/win/session"), nil, http.StatusOK)
	}
	const lat = 30 * time.Millisecond
	if err := s.SetFault(central, qliksim.Fault{Latency: lat}); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	done := make(chan error, 2)
	for range 2 {
		go func() {
			resp, err := call(t.Context(), c, http.MethodGet, qpsURL(s, central, "/qps/win/session"), nil)
			if err == nil && resp.status != http.StatusOK {
				err = &statusError{resp.status}
			}
			done <- err
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(begin); took < 2*lat {
		t.Errorf("two requests through one slot took %v, want at least %v", took, 2*lat)
	}
	if got := s.Loads()[0].QPS; got.PeakInFlight != 1 || got.Rejected != 0 {
		t.Errorf("load %+v, want 1 in flight at most and no 503", got)
	}
}

type statusError struct{ status int }

func (e *statusError) Error() string { return http.StatusText(e.status) }
