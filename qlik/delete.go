package qlik

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// DeleteSession ends one session: 200 is Deleted, 404 AlreadyGone,
// anything else Failed with the reason in Outcome.Err. The host and prefix
// are checked against the topology first. Never retried: a DELETE whose
// answer was lost may have worked, and guessing is worse than reporting.
func (c *Client) DeleteSession(ctx context.Context, t DeleteTarget) Outcome {
	topo, err := c.topology(ctx)
	if err != nil {
		return failed(t, err)
	}
	return c.deleteOn(ctx, topo, t)
}

// DeleteSessions ends many sessions concurrently within the client's
// rate limit and each node's concurrency limit and returns one Outcome per
// target, in the order of ts.
func (c *Client) DeleteSessions(ctx context.Context, ts []DeleteTarget) []Outcome {
	out := make([]Outcome, len(ts))
	if len(ts) == 0 {
		return out
	}
	topo, err := c.topology(ctx)
	if err != nil {
		for i, t := range ts {
			out[i] = failed(t, err)
		}
		return out
	}
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() { out[i] = c.deleteOn(ctx, topo, t) })
	}
	wg.Wait()
	deleted, gone, bad := 0, 0, 0
	for _, o := range out {
		switch o.Status {
		case Deleted:
			deleted++
		case AlreadyGone:
			gone++
		default:
			bad++
		}
	}
	c.log.InfoContext(ctx, "deleted Qlik sessions", "deleted", deleted, "already_gone", gone, "failed", bad)
	return out
}

func (c *Client) deleteOn(ctx context.Context, topo *Topology, t DeleteTarget) Outcome {
	ps, err := topo.locate(t.Prefix, t.Host)
	if err != nil {
		return failed(t, err)
	}
	path, shown, err := sessionPath(t.Prefix, t.SessionID)
	if err != nil {
		return failed(t, err)
	}
	_, err = c.do(ctx, request{service: "qps", host: ps.Node.HostName, endpoint: "qps.session.delete", method: http.MethodDelete,
		path: path, shown: shown, secret: t.SessionID})
	switch {
	case err == nil:
		return Outcome{Target: t, Status: Deleted}
	case errors.Is(err, ErrNotFound):
		return Outcome{Target: t, Status: AlreadyGone}
	default:
		return failed(t, err)
	}
}

// failed reports a target that could not be deleted. The error names the
// session by ShortID only: errors end up in logs and replies.
func failed(t DeleteTarget, err error) Outcome {
	return Outcome{Target: t, Status: Failed,
		Err: fmt.Errorf("delete session %s of virtual proxy %s on %s: %w", ShortID(t.SessionID), quotePrefix(t.Prefix), t.Host, err)}
}
