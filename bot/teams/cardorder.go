package teams

import (
	"context"
	"sync"
	"sync/atomic"
)

// cardGates orders the updates of a clicked card. A click's answer that
// replaces the card (an approval's first progress card when the approved
// job runs in the background) is put on the card for everyone by
// onInvoke once the invoke body is out; meanwhile the job may already
// deliver its progress or outcome to the same card. A Deliver that
// replaces a card waits until the clicks open on it have sent their own
// update, so it lands after and is never covered by it.
type cardGates struct {
	mu   sync.Mutex
	open map[cardKey][]chan struct{}
	// waiting counts Delivers waiting at a gate (tests watch it).
	waiting atomic.Int32
}

// cardKey names a card: the conversation and the activity.
type cardKey struct{ conversation, activity string }

// hold opens a gate on the card until release is called (once or more).
func (g *cardGates) hold(k cardKey) (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	if g.open == nil {
		g.open = map[cardKey][]chan struct{}{}
	}
	g.open[k] = append(g.open[k], ch)
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			gates := g.open[k]
			for i, c := range gates {
				if c == ch {
					gates = append(gates[:i:i], gates[i+1:]...)
					break
				}
			}
			if len(gates) == 0 {
				delete(g.open, k)
			} else {
				g.open[k] = gates
			}
			close(ch)
		})
	}
}

// wait returns once every gate open on the card when it was called is
// released, or with ctx's error.
func (g *cardGates) wait(ctx context.Context, k cardKey) error {
	g.mu.Lock()
	gates := append([]chan struct{}(nil), g.open[k]...)
	g.mu.Unlock()
	if len(gates) == 0 {
		return nil
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	for _, ch := range gates {
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}
