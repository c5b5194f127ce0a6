package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// check is one readiness condition: Qlik reachable, store reachable, chat
// connected.
type check struct {
	name string
	fn   func(ctx context.Context) error
}

// opsHandlers adds /healthz (the process answers), /readyz (every check
// passes) and /metrics to mux.
func opsHandlers(mux *http.ServeMux, m *metrics, checks []check) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		failed := runChecks(ctx, checks)
		if len(failed) > 0 {
			http.Error(w, "not ready: "+strings.Join(failed, "; "), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
}

// runChecks runs the checks concurrently and returns "name: error" for
// each that failed, in checks order.
func runChecks(ctx context.Context, checks []check) []string {
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { errs[i] = c.fn(ctx) })
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, checks[i].name+": "+err.Error())
		}
	}
	return failed
}
