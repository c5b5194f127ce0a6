package watch_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/watch"
)

// flakyRenewStore fails the next renewals with a store error (not
// ErrLeaseLost) while failing is set.
type flakyRenewStore struct {
	watch.Store
	mu      sync.Mutex
	failing bool
	tries   int
}

func (f *flakyRenewStore) fail(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = on
}

func (f *flakyRenewStore) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	f.mu.Lock()
	failing := f.failing
	if failing {
		f.tries++
	}
	f.mu.Unlock()
	if failing {
		return store.Lease{}, errors.New("store timed out")
	}
	return f.Store.RenewLease(ctx, l, ttl)
}

// TestLeaseKeptOverFailedRenewal: a renewal the store fails to answer
// does not drop a lease that has not lapsed: the watcher samples on under
// it, and renews it once the store answers; another watcher does not take
// it meanwhile.
func TestLeaseKeptOverFailedRenewal(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, st watch.Store, clk *testkit.Clock) {
		fs := &flakyRenewStore{Store: st}
		r := newRig(t, fs, clk)
		a := r.watcher(t, "a")
		b := r.watcher(t, "b")
		if !a.Step(t.Context()) {
			t.Fatal("a did not take the lease")
		}
		fs.fail(true)
		clk.Advance(10 * time.Second)
		if !a.Step(t.Context()) || !a.Holding() {
			t.Fatal("a dropped its live lease over one failed renewal")
		}
		if fs.tries == 0 {
			t.Fatal("no renewal was tried")
		}
		if b.Step(t.Context()) {
			t.Fatal("b sampled while a holds the lease")
		}
		fs.fail(false)
		clk.Advance(10 * time.Second)
		if !a.Step(t.Context()) {
			t.Fatal("a did not renew once the store answered")
		}
	})
}

// TestLeaseLapsedOverFailedRenewal: once a lease has lapsed, a failed
// renewal drops it: the watcher does not sample on a lease it may have
// lost.
func TestLeaseLapsedOverFailedRenewal(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	fs := &flakyRenewStore{Store: boltStore(t, clk)}
	r := newRig(t, fs, clk)
	const interval = 20 * time.Millisecond
	a := r.watcher(t, "a", watch.WithInterval(interval))
	if !a.Step(t.Context()) {
		t.Fatal("a did not take the lease")
	}
	fs.fail(true)
	time.Sleep(2 * interval) // past the lease's ttl, an interval and a half
	if a.Step(t.Context()) || a.Holding() {
		t.Fatal("a sampled on a lease that lapsed while its renewal failed")
	}
}
