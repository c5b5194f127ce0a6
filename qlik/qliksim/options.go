package qliksim

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
)

type config struct {
	lab               Lab
	labSet            bool
	advertiseLoopback bool
	logger            *slog.Logger
	qrsPort, qpsPort  int
	enginePort        int
	capacities        Capacities
	listenIPs         []string
	seed              int64
	logLimit          int
}

// Option configures Start.
type Option func(*config) error

// WithLab sets the data the simulator starts with (default SeedLab()).
func WithLab(l Lab) Option {
	return func(c *config) error { c.lab, c.labSet = l, true; return nil }
}

// WithAdvertiseLoopback makes QRS report each node's loopback IP as its host
// name, so clients without a resolve map (curl, Ctrl-Q) reach it.
func WithAdvertiseLoopback() Option {
	return func(c *config) error { c.advertiseLoopback = true; return nil }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithPorts sets the QRS and QPS ports; 0 picks a free port (the same QPS
// port on every node address).
func WithPorts(qrs, qps int) Option {
	return func(c *config) error {
		if qrs < 0 || qrs > 65535 || qps < 0 || qps > 65535 {
			return fmt.Errorf("ports out of range: qrs %d, qps %d", qrs, qps)
		}
		if qrs != 0 && qrs == qps {
			return fmt.Errorf("QRS and QPS need different ports, both are %d", qrs)
		}
		c.qrsPort, c.qpsPort = qrs, qps
		return nil
	}
}

// WithListenIPs sets the IP each node listens on, in lab order (default
// 127.0.0.1, 127.0.0.2, ...). There must be one per node.
func WithListenIPs(ips ...string) Option {
	return func(c *config) error {
		for _, ip := range ips {
			if net.ParseIP(ip) == nil {
				return fmt.Errorf("listen IP %q is not an IP address", ip)
			}
		}
		c.listenIPs = append([]string(nil), ips...)
		return nil
	}
}

// WithSeed seeds the RNG behind ErrorRate and Jitter (default 1), so a
// sequence of calls meets the same faults in every run.
func WithSeed(seed int64) Option {
	return func(c *config) error { c.seed = seed; return nil }
}

// WithRequestLogLimit keeps only about the n most recent requests in the
// request log (default 0: keep all). Long-running simulators should set it.
func WithRequestLogLimit(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("request log limit %d is negative", n)
		}
		c.logLimit = n
		return nil
	}
}

// WithEnginePort sets the port of every node's engine health check; 0
// (the default) picks a free port, the same on every node address.
func WithEnginePort(port int) Option {
	return func(c *config) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("engine port %d out of range", port)
		}
		c.enginePort = port
		return nil
	}
}

// WithCapacity sets how many requests each service of a node serves at
// once and how many wait (default DefaultCapacities(); Capacities{} has
// no limit). A model for testing, not Qlik's figures: see Capacity.
func WithCapacity(c Capacities) Option {
	return func(cfg *config) error {
		if err := c.validate(); err != nil {
			return err
		}
		cfg.capacities = c
		return nil
	}
}
