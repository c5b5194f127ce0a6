package bot

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Prechecker tells, before a click is sent, whether it would be refused.
// An adapter that asks "are you sure?" before sending a click (the console,
// for a button with Confirm) asks this first, so that nobody confirms a
// click that can only be refused: an approval already decided, expired or
// unknown, or one's own request under the two-person rule. A precheck
// changes nothing (it claims nothing and audits nothing): the click itself
// still decides, and a precheck that cannot tell says so.
type Prechecker interface {
	// Precheck returns the reply the click would get and true when req
	// would surely be refused; false when it may go through or the check
	// cannot tell.
	Precheck(ctx context.Context, req Request) (Reply, bool)
}

var _ Prechecker = (*Dispatcher)(nil)

// Precheck asks the handler, when it is a Prechecker, whether req would be
// refused. It runs on the caller's goroutine, under the request deadline
// and with the request's id, outside the queue and the rate limit: it only
// reads, and the click it stands before is queued and counted as usual. A
// handler that panics counts as "cannot tell".
func (d *Dispatcher) Precheck(ctx context.Context, req Request) (rep Reply, refused bool) {
	pc, ok := d.h.(Prechecker)
	if !ok {
		return Reply{}, false
	}
	d.prepare(&req, d.cfg.now())
	ctx, cancel := context.WithTimeoutCause(WithRequestID(ctx, req.ID), d.cfg.timeout, errTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			d.logPanic("precheck panicked", req, v)
			rep, refused = Reply{}, false
		}
	}()
	return pc.Precheck(ctx, req)
}

// logPanic logs a panic recovered from the handler while it worked on req.
func (d *Dispatcher) logPanic(msg string, req Request, v any) {
	d.cfg.log.Error(msg, "request_id", req.ID, "subject", req.Subject(),
		"command", commandOf(req), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}
