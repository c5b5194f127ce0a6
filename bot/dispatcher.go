package bot

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Dispatcher.Submit.
var (
	// ErrRateLimited: the user is over their rate; a "slow down" reply
	// has been sent (or dropped if too many notices were in flight).
	ErrRateLimited = errors.New("rate limited")
	// ErrBusy: the queue is full; a "busy" reply has been sent (or dropped).
	ErrBusy = errors.New("dispatcher busy")
	// ErrClosed: Shutdown was called; nothing was sent.
	ErrClosed = errors.New("dispatcher closed")
)

var (
	errNoReplyTo = errors.New("request has no ReplyTo")
	errTimeout   = errors.New("request deadline exceeded")
	errAbandoned = errors.New("dispatcher shut down")
)

type job struct {
	ctx   context.Context // the submitter's values, without its cancellation
	req   Request
	start time.Time
}

// Dispatcher queues requests, applies a per-user rate limit and runs the
// handler on a bounded pool of workers. A handler that returns a zero Reply
// is taken to have answered through Request.ReplyTo itself, and nothing
// more is sent. Safe for concurrent use.
type Dispatcher struct {
	h       Handler
	cfg     dispatcherConfig
	limits  *Limiters[string] // per subject
	queue   chan job
	sem     chan struct{} // one slot per running handler, shared by workers and Do
	notices chan struct{} // bounds the "slow down"/"busy" notices in flight

	// mu guards closed. Work is accepted (pending.Add) under the read
	// lock, so nothing is added once Shutdown has taken the write lock.
	mu       sync.RWMutex
	closed   bool
	stopping chan struct{} // closed with closed = true
	pending  sync.WaitGroup

	// hard is cancelled when Shutdown gives up waiting: handlers see
	// their ctx cancelled and queued requests are dropped.
	hard       context.Context
	hardCancel context.CancelCauseFunc
	running    atomic.Bool
}

// NewDispatcher returns a dispatcher for h. Call Run to start its workers.
func NewDispatcher(h Handler, opts ...DispatcherOption) (*Dispatcher, error) {
	if h == nil {
		return nil, errors.New("new dispatcher: handler is nil")
	}
	cfg := defaultDispatcherConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("new dispatcher: %w", err)
		}
	}
	hard, cancel := context.WithCancelCause(context.Background())
	return &Dispatcher{
		h:          h,
		cfg:        cfg,
		limits:     NewLimiters[string](cfg.rate, cfg.burst, userPruneAbove),
		queue:      make(chan job, cfg.queueSize),
		sem:        make(chan struct{}, cfg.workers),
		notices:    make(chan struct{}, cfg.workers),
		stopping:   make(chan struct{}),
		hard:       hard,
		hardCancel: cancel,
	}, nil
}

// Run starts the workers and blocks until ctx is done or Shutdown is
// called, and then until the queue is drained (or abandoned by a Shutdown
// whose ctx expired). Cancelling ctx stops intake like Shutdown does.
// It returns nil after a normal stop. Run may be called once.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("run dispatcher: already running")
	}
	var wg sync.WaitGroup
	for range d.cfg.workers {
		wg.Go(d.work)
	}
	select {
	case <-ctx.Done():
		d.close()
	case <-d.stopping:
	}
	wg.Wait()
	return nil
}

// Submit queues req and returns at once; a worker runs the handler and
// sends its reply through req.ReplyTo. It never waits for queue space.
// ctx's values reach the handler but its cancellation does not, because
// adapters submit from an HTTP handler that returns right after.
func (d *Dispatcher) Submit(ctx context.Context, req Request) error {
	if req.ReplyTo == nil {
		return fmt.Errorf("submit request: %w", errNoReplyTo)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("submit request: %w", err)
	}
	now := d.cfg.now()
	d.prepare(&req, now)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		d.observe(req, OutcomeClosed, Error, now)
		return ErrClosed
	}
	if ok, retry := d.limits.Allow(req.Subject(), now); !ok {
		d.notify(ctx, req, now, slowDownReply(retry), OutcomeRateLimited)
		return ErrRateLimited
	}
	d.pending.Add(1)
	select {
	case d.queue <- job{ctx: context.WithoutCancel(ctx), req: req, start: now}:
		return nil
	default:
		d.pending.Done()
		d.notify(ctx, req, now, busyReply(), OutcomeBusy)
		return ErrBusy
	}
}

// Do runs req at once on the caller's goroutine and returns the reply,
// for platforms that must answer in the HTTP response. It applies the same
// rate limit, deadline and panic recovery as Submit and counts against the
// same number of workers; waiting for a free worker past the deadline gives
// a "busy" reply.
func (d *Dispatcher) Do(ctx context.Context, req Request) Reply {
	now := d.cfg.now()
	d.prepare(&req, now)
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return d.refuse(req, now, closedReply(), OutcomeClosed)
	}
	if ok, retry := d.limits.Allow(req.Subject(), now); !ok {
		d.mu.RUnlock()
		return d.refuse(req, now, slowDownReply(retry), OutcomeRateLimited)
	}
	d.pending.Add(1)
	d.mu.RUnlock()
	defer d.pending.Done()

	ctx, cancel := d.withHard(ctx)
	defer cancel()
	ctx, cancelT := context.WithTimeoutCause(ctx, d.cfg.timeout, errTimeout)
	defer cancelT()
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return d.refuse(req, now, busyReply(), OutcomeBusy)
	}
	rep, outcome := d.call(ctx, req)
	<-d.sem
	d.observe(req, outcome, rep.Kind, now)
	return rep
}

// Shutdown stops accepting requests and waits until the queued and running
// ones are answered, or until ctx is done: then running handlers see their
// ctx cancelled, queued requests are dropped unanswered, and ctx's error is
// returned.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	d.close()
	done := make(chan struct{})
	go func() {
		d.pending.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		d.hardCancel(errAbandoned)
		d.drain() // in case Run never started
		return fmt.Errorf("shut down dispatcher: %w", ctx.Err())
	}
}

func (d *Dispatcher) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		close(d.stopping)
	}
}

func (d *Dispatcher) work() {
	for {
		select {
		case j := <-d.queue:
			d.runJob(j)
		case <-d.stopping:
			d.drain()
			return
		}
	}
}

// drain runs what is left in the queue. After close nothing is added, so
// an empty queue stays empty.
func (d *Dispatcher) drain() {
	for {
		select {
		case j := <-d.queue:
			d.runJob(j)
		default:
			return
		}
	}
}

func (d *Dispatcher) runJob(j job) {
	defer d.pending.Done()
	defer finish(j.req.ReplyTo)
	if d.hard.Err() != nil {
		d.abandon(j)
		return
	}
	select {
	case d.sem <- struct{}{}:
	case <-d.hard.Done():
		d.abandon(j)
		return
	}
	ctx, cancel := d.withHard(j.ctx)
	rep, outcome := d.call(ctx, j.req)
	cancel()
	<-d.sem
	d.observe(j.req, outcome, rep.Kind, j.start)
	if !rep.IsEmpty() {
		d.deliver(j.ctx, j.req, rep)
	}
}

func (d *Dispatcher) abandon(j job) {
	d.cfg.log.Warn("request dropped at shutdown", "request_id", j.req.ID,
		"subject", j.req.Subject(), "command", commandOf(j.req))
	d.observe(j.req, OutcomeClosed, Error, j.start)
}

// call runs the handler under the per-request deadline and turns a panic
// into an error reply.
func (d *Dispatcher) call(ctx context.Context, req Request) (rep Reply, outcome string) {
	hctx, cancel := context.WithTimeoutCause(WithRequestID(ctx, req.ID), d.cfg.timeout, errTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			d.logPanic("handler panicked", req, v)
			rep, outcome = internalErrorReply(req.ID), OutcomePanic
		}
	}()
	rep = d.h.Handle(hctx, req)
	cause := context.Cause(hctx)
	switch {
	case cause == nil:
		return rep, OutcomeOK
	case errors.Is(cause, errTimeout), errors.Is(cause, context.DeadlineExceeded):
		if rep.IsEmpty() {
			rep = timeoutReply(d.cfg.timeout, req.ID)
		}
		return rep, OutcomeTimeout
	default: // shut down, or the caller of Do went away
		return rep, OutcomeClosed
	}
}

// notify sends a dispatcher notice (slow down, busy) without blocking the
// caller. Callers hold d.mu for reading.
func (d *Dispatcher) notify(ctx context.Context, req Request, start time.Time, r Reply, outcome string) {
	d.observe(req, outcome, r.Kind, start)
	select {
	case d.notices <- struct{}{}:
	default:
		d.cfg.log.Warn("notice dropped: too many in flight", "request_id", req.ID,
			"subject", req.Subject(), "outcome", outcome)
		finish(req.ReplyTo)
		return
	}
	d.pending.Add(1)
	go func() {
		defer d.pending.Done()
		d.deliver(ctx, req, r)
		<-d.notices // free the slot before Finish, so a finished notice never crowds out the next
		finish(req.ReplyTo)
	}()
}

// deliver sends one reply, bounded in time, logging (not returning) a
// failure: there is nobody left to return it to.
func (d *Dispatcher) deliver(ctx context.Context, req Request, r Reply) {
	ctx, cancel := context.WithTimeout(WithRequestID(context.WithoutCancel(ctx), req.ID), replyTimeout)
	defer cancel()
	stop := context.AfterFunc(d.hard, cancel)
	defer stop()
	defer func() {
		if v := recover(); v != nil {
			d.cfg.log.Error("responder panicked", "request_id", req.ID, "subject", req.Subject(),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	if err := req.ReplyTo.Respond(ctx, r); err != nil {
		d.cfg.log.Warn("reply not delivered", "request_id", req.ID, "subject", req.Subject(), "err", err)
	}
}

func (d *Dispatcher) refuse(req Request, start time.Time, r Reply, outcome string) Reply {
	d.observe(req, outcome, r.Kind, start)
	return r
}

// withHard returns ctx, also cancelled when Shutdown gives up waiting.
func (d *Dispatcher) withHard(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(d.hard, func() { cancel(errAbandoned) })
	return ctx, func() { stop(); cancel(nil) }
}

func (d *Dispatcher) prepare(req *Request, now time.Time) {
	if req.ID == "" {
		req.ID = NewRequestID()
	}
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = now
	}
}

func (d *Dispatcher) observe(req Request, outcome string, k Kind, start time.Time) {
	d.cfg.observe(DispatchEvent{
		Subject:  req.Subject(),
		Command:  commandOf(req),
		Outcome:  outcome,
		Kind:     k,
		Duration: d.cfg.now().Sub(start),
	})
}
