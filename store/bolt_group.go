package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit shares write transactions between concurrent callers: a
// bolt commit costs two fsyncs whatever it holds, so 200 replay checks
// arriving at once pay for about two commits instead of 200 in a row.
//
// Unlike bolt's DB.Batch it adds no delay: a caller that finds no commit
// running commits at once, alone; callers that arrive during a commit queue
// up and the first of them commits the whole queue next. Each caller waits
// only for the commit that holds its own work, and it returns only once
// that work is durable, so nothing is weakened against a crash.
type groupCommit struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []*groupCall
	running bool // a leader is committing; newcomers queue
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan groupResult // buffered: one lead signal, then one result
}

type groupResult struct {
	err  error
	lead bool // not a result: commit the queue now
}

// ErrPanic: a write function panicked; its transaction was rolled back.
var ErrPanic = errors.New("store: a write panicked")

// update runs fn in a write transaction, possibly shared with other
// callers' functions. fn must leave nothing behind in its own variables
// that a rerun would not reset: when the shared commit fails, each function
// is run again alone in a fresh transaction. A panic in fn is fn's error
// (wrapping ErrPanic). While queued a caller gives up when ctx ends (its
// fn does not run); once a commit has taken its work it waits for that
// commit's outcome.
func (g *groupCommit) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	c := &groupCall{fn: fn, done: make(chan groupResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if !lead {
		var r groupResult
		select {
		case r = <-c.done:
		case <-ctx.Done():
			if g.leave(c) {
				return fmt.Errorf("wait for a commit: %w", ctx.Err())
			}
			r = <-c.done // taken into a commit, or handed the lead
		}
		if !r.lead {
			return r.err
		}
	}
	g.mu.Lock()
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()
	g.commit(batch)
	// Hand over to the first caller that queued meanwhile, so no caller
	// keeps committing for others after its own work is done.
	g.mu.Lock()
	g.handOver()
	g.mu.Unlock()
	return (<-c.done).err
}

// leave takes c, whose caller gives up, out of the queue; false when it
// is not there any more (a commit took it, or it was handed the lead).
func (g *groupCommit) leave(c *groupCall) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := slices.Index(g.queue, c)
	if i < 0 || len(c.done) > 0 {
		return false
	}
	g.queue = slices.Delete(g.queue, i, i+1)
	return true
}

// handOver gives the lead to the first queued call, or ends the run.
// g.mu is held.
func (g *groupCommit) handOver() {
	if len(g.queue) > 0 {
		g.queue[0].done <- groupResult{lead: true}
	} else {
		g.running = false
	}
}

// commit runs every call in one transaction; when that fails, it runs each
// alone so one caller's error is not everyone's.
func (g *groupCommit) commit(batch []*groupCall) {
	if len(batch) > 1 {
		failed := errors.New("a call in the group failed")
		err := g.db.Update(func(tx *bolt.Tx) error {
			for _, c := range batch {
				if err := safeRun(c.fn, tx); err != nil {
					return failed
				}
			}
			return nil
		})
		if err == nil {
			for _, c := range batch {
				c.done <- groupResult{}
			}
			return
		}
	}
	for _, c := range batch {
		c.done <- groupResult{err: g.db.Update(func(tx *bolt.Tx) error { return safeRun(c.fn, tx) })}
	}
}

// safeRun runs fn, its panic made an error (so bolt rolls back, and the
// queue goes on).
func safeRun(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	return fn(tx)
}
