package qliksim

import (
	"context"
	"errors"
	"sync"
)

// Capacity is how many requests one service of one node serves at once
// and how many more may wait for a turn. It is a model for testing how a
// client behaves when a server is busy, not a figure of Qlik Sense: Qlik
// publishes no such numbers, and a real node's limits depend on its
// hardware, its configuration and everything else it is doing.
type Capacity struct {
	// InFlight is how many requests are served at once; 0 is no limit
	// (Queue is then ignored).
	InFlight int
	// Queue is how many more requests may wait, served in arrival order;
	// a request that finds the queue full is answered 503 at once. While
	// they wait their latency grows, as on an overloaded server.
	Queue int
}

// Capacities is the Capacity of each service, the same on every node.
// The zero value serves any number of requests at once.
type Capacities struct {
	QPS, QRS, Engine Capacity
}

// DefaultCapacities is what Start uses without WithCapacity: 16 QPS
// requests served at once per node and 32 waiting, 8 QRS requests and 16
// waiting, 8 engine health checks and 16 waiting. A model, not Qlik's
// figures (see Capacity).
func DefaultCapacities() Capacities {
	return Capacities{
		QPS:    Capacity{InFlight: 16, Queue: 32},
		QRS:    Capacity{InFlight: 8, Queue: 16},
		Engine: Capacity{InFlight: 8, Queue: 16},
	}
}

func (c Capacities) of(service string) Capacity {
	switch service {
	case "qrs":
		return c.QRS
	case "engine":
		return c.Engine
	default:
		return c.QPS
	}
}

func (c Capacities) validate() error {
	for _, x := range []Capacity{c.QPS, c.QRS, c.Engine} {
		if x.InFlight < 0 || x.Queue < 0 {
			return errors.New("capacity and queue must not be negative")
		}
	}
	return nil
}

// Load is what one service of one node went through since Start or the
// last ResetLoad. Its numbers come from the capacity model (see Capacity).
type Load struct {
	PeakInFlight int // most requests served at once
	PeakQueued   int // most requests waiting at once
	Rejected     int // answered 503 because the queue was full
}

// NodeLoad is the Load of each service of one node. QRS runs on the first
// node only; on the others its Load stays zero.
type NodeLoad struct {
	Host             string // advertised host name
	QPS, QRS, Engine Load
}

// Loads returns every node's load, in lab order.
func (s *Server) Loads() []NodeLoad {
	out := make([]NodeLoad, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = NodeLoad{Host: n.advertised, QPS: s.qps[i].gate.snapshot(), Engine: s.engine[i].gate.snapshot()}
	}
	out[0].QRS = s.qrs.gate.snapshot()
	return out
}

// ResetLoad zeroes every node's counters (requests in flight or waiting
// stay counted as such).
func (s *Server) ResetLoad() {
	s.qrs.gate.reset()
	for i := range s.nodes {
		s.qps[i].gate.reset()
		s.engine[i].gate.reset()
	}
}

// errOverloaded: the queue was full; the request is answered 503.
var errOverloaded = errors.New("too many requests waiting")

// gate admits requests to one service of one node within its Capacity.
type gate struct {
	capacity Capacity

	mu       sync.Mutex
	inFlight int
	queue    []chan struct{} // waiting requests, oldest first; closed when admitted
	load     Load
}

func newGate(c Capacity) *gate { return &gate{capacity: c} }

// acquire admits the request, makes it wait for a turn, or refuses it
// with errOverloaded. While waiting it gives up when ctx ends or the
// server closes (stop), returning that error. Every admitted request must
// call release once.
func (g *gate) acquire(ctx context.Context, stop <-chan struct{}) error {
	g.mu.Lock()
	if g.capacity.InFlight <= 0 || g.inFlight < g.capacity.InFlight {
		g.inFlight++
		g.load.PeakInFlight = max(g.load.PeakInFlight, g.inFlight)
		g.mu.Unlock()
		return nil
	}
	if len(g.queue) >= g.capacity.Queue {
		g.load.Rejected++
		g.mu.Unlock()
		return errOverloaded
	}
	turn := make(chan struct{})
	g.queue = append(g.queue, turn)
	g.load.PeakQueued = max(g.load.PeakQueued, len(g.queue))
	g.mu.Unlock()

	var err error
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-stop:
		err = errClosed
	}
	g.mu.Lock()
	for i, t := range g.queue {
		if t == turn {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			g.mu.Unlock()
			return err
		}
	}
	g.mu.Unlock()
	g.release() // admitted while giving up: pass the turn on
	return err
}

// release ends an admitted request: its slot goes to the oldest waiting
// request, if any.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) > 0 {
		close(g.queue[0])
		g.queue = g.queue[1:]
		return
	}
	g.inFlight--
}

func (g *gate) snapshot() Load {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.load
}

func (g *gate) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.load = Load{}
}

// Capacities returns what each service of a node serves at once and
// queues (see WithCapacity).
func (s *Server) Capacities() Capacities { return s.capacities }
