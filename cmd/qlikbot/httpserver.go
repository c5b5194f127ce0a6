package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qlikbot/qlikbot/bot"
	slackbot "github.com/qlikbot/qlikbot/bot/slack"
)

// Two listeners. The public one (QLIKBOT_HTTP_ADDR) is what Slack, Teams
// and download links reach, so it serves only the chat endpoints, /files/
// and a bare /healthz. The admin one (QLIKBOT_ADMIN_ADDR, loopback by
// default) serves what must not face the internet: /metrics and the
// detailed /readyz, whose answers name hosts and errors.

// listener is one bound address and the server that will serve it.
type listener struct {
	net.Listener
	name string // the variable that set it, for errors and logs
	srv  *http.Server
}

// check is one readiness condition: Qlik reachable, store reachable, chat
// connected.
type check struct {
	name string
	fn   func(ctx context.Context) error
}

// buildHTTP binds the listeners. The console runs without them unless
// QLIKBOT_HTTP_ADDR asks for them.
func (a *app) buildHTTP() error {
	if !a.cfg.Serving() {
		return nil
	}
	addr := a.cfg.HTTPAddr
	if addr == "" {
		addr = ":8080"
	}
	pub := http.NewServeMux()
	pub.HandleFunc("GET /healthz", healthz)
	checks := []check{{"shutdown", a.shuttingDown}}
	for _, s := range a.sites {
		name := "qlik"
		if len(a.sites) > 1 {
			name = "qlik site " + s.settings.name
		}
		checks = append(checks, check{name, qlikReady(s.client.Ping)})
	}
	checks = append(checks, check{"store", a.storeReady})
	for _, ad := range a.adapters {
		if h, ok := ad.(interface{ Handler() http.Handler }); ok {
			switch ad.Name() {
			case bot.Slack:
				// Socket mode takes requests over its own connection and may
				// run without a signing secret: /slack/ stays unmounted (404)
				// so nothing can reach the adapter with a forged signature.
				if a.cfg.SlackMode == slackbot.ModeHTTP {
					pub.Handle("/slack/", h.Handler())
				}
			case bot.Teams:
				pub.Handle("/api/messages", h.Handler())
			}
		}
		if r, ok := ad.(interface{ Ready(context.Context) error }); ok {
			checks = append(checks, check{string(ad.Name()), r.Ready})
		}
	}
	if a.files != nil {
		a.files.register(pub)
	}
	var err error
	if a.public, err = a.listen("QLIKBOT_HTTP_ADDR", addr, pub); err != nil {
		return err
	}
	if a.cfg.AdminOff() {
		return nil
	}
	adm := http.NewServeMux()
	adminHandlers(adm, a.metrics, checks)
	a.admin, err = a.listen("QLIKBOT_ADMIN_ADDR", a.cfg.AdminAddr, adm)
	return err
}

// errDraining: SIGTERM was received; the pod is leaving the Service.
var errDraining = errors.New("shutting down: draining requests sent before the load balancer noticed")

func (a *app) shuttingDown(context.Context) error {
	if a.draining.Load() {
		return errDraining
	}
	return nil
}

// qlikReady makes a Qlik site that does not answer a degraded note, not a
// failure: Qlik down is not this replica's fault, every replica sees it,
// and an unready pod would also stop the chat platforms reaching the bot
// that tells users Qlik is down (and stall rollouts and node drains).
func qlikReady(ping func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := ping(ctx); err != nil {
			return fmt.Errorf("%w: %w", bot.ErrDegraded, err)
		}
		return nil
	}
}

func (a *app) listen(name, addr string, h http.Handler) (*listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		reason := err.Error()
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			reason = oe.Err.Error() // without the address, which the line shows already
		}
		return nil, badSetting(name, addr, "cannot listen: "+reason, "a free address this host has, like :8080 or 127.0.0.1:9090")
	}
	return &listener{Listener: l, name: name, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}}, nil
}

// healthz answers that the process is alive, and nothing else.
func healthz(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, "ok")
}

// adminHandlers adds /healthz, /readyz (every check passes, or which did
// not and why) and /metrics to mux.
func adminHandlers(mux *http.ServeMux, m *metrics, checks []check) {
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		failed, notes := runChecks(ctx, checks)
		if len(failed) > 0 {
			http.Error(w, "not ready: "+strings.Join(append(failed, notes...), "; "), http.StatusServiceUnavailable)
			return
		}
		if len(notes) > 0 {
			fmt.Fprintln(w, "ready, degraded: "+strings.Join(notes, "; "))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
}

// runChecks runs the checks concurrently and returns "name: error" for
// each that failed, in checks order; a check that answers bot.ErrDegraded
// (serving, without something optional) is a note, not a failure.
func runChecks(ctx context.Context, checks []check) (failed, notes []string) {
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { errs[i] = c.fn(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, bot.ErrDegraded):
			notes = append(notes, checks[i].name+": "+err.Error())
		default:
			failed = append(failed, checks[i].name+": "+err.Error())
		}
	}
	return failed, notes
}
