package commands

import (
	"context"
	"fmt"
	"sync"
)

// jobTracker knows the jobs this engine runs, so that a job is never run
// twice here and StopJobs can stop them all and wait for them. Safe for
// concurrent use.
type jobTracker struct {
	mu       sync.Mutex
	stopping bool
	stop     chan struct{} // closed by StopJobs
	running  map[string]bool
	idle     chan struct{} // closed once stopping and nothing runs
	idleDone bool
	// unknownKey: jobs found sealed with a key not held here (audited once).
	unknownKey map[string]bool
}

func newJobTracker() *jobTracker {
	return &jobTracker{stop: make(chan struct{}), running: map[string]bool{}, idle: make(chan struct{})}
}

// begin registers job id as running here, for a job this process is
// about to take (resume); false when qlikbot stops taking work or already
// runs it. The returned channel closes at StopJobs.
func (t *jobTracker) begin(id string) (<-chan struct{}, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopping || t.running[id] {
		return nil, false
	}
	t.running[id] = true
	return t.stop, true
}

// add registers job id, which this process has just claimed, even while
// stopping: the returned channel is then closed already, and the job
// stops before its first batch (and is resumed later).
func (t *jobTracker) add(id string) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running[id] = true
	return t.stop
}

// end unregisters job id.
func (t *jobTracker) end(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.running, id)
	t.checkIdle()
}

// checkIdle closes idle once stopping with nothing running; t.mu is held.
func (t *jobTracker) checkIdle() {
	if t.stopping && len(t.running) == 0 && !t.idleDone {
		t.idleDone = true
		close(t.idle)
	}
}

// firstUnknownKey notes that job id is sealed with a key not held here;
// true the first time.
func (t *jobTracker) firstUnknownKey(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unknownKey == nil {
		t.unknownKey = map[string]bool{}
	}
	first := !t.unknownKey[id]
	t.unknownKey[id] = true
	return first
}

func (t *jobTracker) isRunning(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running[id]
}

func (t *jobTracker) accepting() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.stopping
}

// StopJobs makes the engine take no new job (an approval now answers that
// qlikbot is restarting; ResumeJobs does nothing) and stops the jobs it
// runs after their batches in flight: each records them, releases its
// lease and says on its message that it continues elsewhere. It returns
// once they have, or with an error when ctx ends first (their leases then
// lapse by themselves). cmd calls it on SIGTERM, before draining requests.
func (e *Engine) StopJobs(ctx context.Context) error {
	t := e.jobs
	t.mu.Lock()
	if !t.stopping {
		t.stopping = true
		close(t.stop)
	}
	n := len(t.running)
	t.checkIdle()
	t.mu.Unlock()
	select {
	case <-t.idle:
		if n > 0 {
			e.log.Info("jobs stopped and checkpointed", "jobs", n)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop jobs: %d still running: %w", n, context.Cause(ctx))
	}
}

// Stopping reports whether StopJobs was called: the engine takes no new
// job (readiness, tests).
func (e *Engine) Stopping() bool { return !e.jobs.accepting() }
