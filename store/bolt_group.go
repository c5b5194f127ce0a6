package store

import (
	"errors"
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

// update runs fn in a write transaction, possibly shared with other
// callers' functions. fn must leave nothing behind in its own variables
// that a rerun would not reset: when the shared commit fails, each function
// is run again alone in a fresh transaction.
func (g *groupCommit) update(fn func(*bolt.Tx) error) error {
	c := &groupCall{fn: fn, done: make(chan groupResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if !lead {
		r := <-c.done
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
	if len(g.queue) > 0 {
		g.queue[0].done <- groupResult{lead: true}
	} else {
		g.running = false
	}
	g.mu.Unlock()
	return (<-c.done).err
}

// commit runs every call in one transaction; when that fails, it runs each
// alone so one caller's error is not everyone's.
func (g *groupCommit) commit(batch []*groupCall) {
	if len(batch) > 1 {
		failed := errors.New("a call in the group failed")
		err := g.db.Update(func(tx *bolt.Tx) error {
			for _, c := range batch {
				if err := c.fn(tx); err != nil {
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
		c.done <- groupResult{err: g.db.Update(c.fn)}
	}
}
