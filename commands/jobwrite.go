package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// A job run's store writes: retried until they land or the lease is lost,
// the lease renewed in the background and released at the end.

// Store write retries while the lease holds: the first pause, its cap and
// the bound of one attempt.
const (
	retryFirst   = 100 * time.Millisecond
	retryMax     = 2 * time.Second
	writeTimeout = 5 * time.Second
)

// retry runs write until it succeeds, the lease is lost (ErrLeaseLost,
// ErrJobFinished, ErrNotFound: someone else owns the job now) or lapses
// by this process's reckoning, or ctx ends. A write that failed may have
// happened all the same (its answer was lost): before writing again, and
// before giving up on a lost lease, landed tells whether it did (known is
// false while the store cannot say), and nothing is written blind.
func (r *jobRun) retry(ctx context.Context, what string, write func(context.Context) error, landed func(context.Context) (ok, known bool)) error {
	delay := retryFirst
	uncertain := false
	for attempt := 1; ; attempt++ {
		check := func() (bool, bool) {
			lctx, cancel := context.WithTimeout(ctx, writeTimeout)
			defer cancel()
			return landed(lctx)
		}
		var err error
		ok, known := false, true
		if uncertain {
			ok, known = check()
		}
		switch {
		case ok:
			return nil
		case known:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err = write(wctx)
			cancel()
			if err == nil {
				return nil
			}
			if errors.Is(err, store.ErrLeaseLost) || errors.Is(err, store.ErrJobFinished) || errors.Is(err, store.ErrNotFound) {
				if uncertain {
					if ok, _ := check(); ok {
						return nil
					}
				}
				return fmt.Errorf("%w: %s: %w", errLeaseLost, what, err)
			}
			uncertain = true
		default:
			err = errors.New("the store cannot say whether the last attempt was written")
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if time.Until(r.currentLease().Expires) <= 0 {
			return fmt.Errorf("%w: %s: the store did not answer before the lease lapsed: %w", errLeaseLost, what, err)
		}
		r.e.log.Warn("job: store write failed; retrying", "job", r.id, "what", what, "attempt", attempt, "err", err)
		if err := bot.Sleep(ctx, delay); err != nil {
			return context.Cause(ctx)
		}
		delay = min(2*delay, retryMax)
	}
}

// renew keeps the lease alive every third of its life until ctx ends. A
// lease that is lost, or cannot be renewed before it lapses, cancels the
// work with errLeaseLost: the run stops at once.
func (r *jobRun) renew(ctx context.Context, lose context.CancelCauseFunc, done chan<- struct{}) {
	defer close(done)
	ttl := r.e.leaseTTL
	every := ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l := r.currentLease()
		rctx, cancel := context.WithTimeout(ctx, every)
		nl, err := r.e.st.RenewLease(rctx, l, ttl)
		cancel()
		switch {
		case err == nil:
			r.mu.Lock()
			r.lease = nl
			r.mu.Unlock()
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrLeaseLost):
			lose(fmt.Errorf("%w: %w", errLeaseLost, err))
			return
		case time.Until(l.Expires) < every:
			lose(fmt.Errorf("%w: not renewed before it lapses: %w", errLeaseLost, err))
			return
		default:
			r.e.log.Warn("job: lease not renewed; retrying", "job", r.id, "err", err)
		}
	}
}

// release gives the lease up so that another process may resume the job
// at once; a failure only delays that until the lease lapses.
func (r *jobRun) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := r.e.st.ReleaseLease(rctx, r.currentLease()); err != nil {
		r.e.log.Warn("job: lease not released; it lapses by itself", "job", r.id, "err", err)
	}
}

// sendContext bounds a reply sent on the lease's behalf: it must land
// before the lease lapses (and another holder's replies begin).
func (r *jobRun) sendContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithDeadline(ctx, earliest(r.leaseDeadline(), time.Now().Add(progressTimeout)))
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}
