package slackbot

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// memoryGuard is a replay guard kept in this process. It is no guard for
// production (replicas do not share it); the benchmarks use it to show
// what the adapter itself costs, apart from the store.
type memoryGuard struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

func (g *memoryGuard) SeenBefore(_ context.Context, key string, _ time.Duration) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.seen[key]
	g.seen[key] = struct{}{}
	return ok, nil
}

// benchGuards are the replay guards the ack benchmarks run with: the bolt
// store qlikbot uses by default, and memory for the adapter's own cost.
func benchGuards(b *testing.B) []struct {
	name  string
	guard func(b *testing.B) ReplayGuard
} {
	return []struct {
		name  string
		guard func(b *testing.B) ReplayGuard
	}{
		{"guard=bolt", func(b *testing.B) ReplayGuard {
			st, err := store.OpenBolt(filepath.Join(b.TempDir(), "qlikbot.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			return st
		}},
		{"guard=memory", func(*testing.B) ReplayGuard { return &memoryGuard{seen: map[string]struct{}{}} }},
	}
}

// auditor is the store's audit trail, written by commands.Engine when a
// command starts.
type auditor interface {
	AppendAudit(ctx context.Context, e store.Event) error
}

// ackBot is the HTTP-mode adapter in front of a real dispatcher whose
// handler stands for commands.Engine on a slow Qlik: it writes the
// command's audit row to the store the guard lives in (so workers compete
// with the acks for it, as in production), then holds the request until
// the benchmark ends, so the ack path runs while every worker is busy.
func ackBot(b *testing.B, guard ReplayGuard, workers int) *Adapter {
	b.Helper()
	release := make(chan struct{})
	au, _ := guard.(auditor)
	d, err := bot.NewDispatcher(bot.HandlerFunc(func(ctx context.Context, r bot.Request) bot.Reply {
		if au != nil {
			if err := au.AppendAudit(ctx, store.Event{Time: time.Now(), RequestID: r.ID, Platform: string(r.Platform),
				Subject: r.Subject(), Channel: r.Channel, Action: "command", Command: r.Text}); err != nil {
				b.Error(err)
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return bot.Reply{}
	}), bot.WithWorkers(workers), bot.WithQueueSize(4*workers), bot.WithUserRate(rate.Inf, 0))
	if err != nil {
		b.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- d.Run(context.Background()) }()
	b.Cleanup(func() {
		close(release)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			b.Error(err)
		}
		<-runDone
	})
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-bench", SigningSecret: vecSecret,
		APIURL: "http://127.0.0.1:1/api/"}, d, guard)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// signedCommand is a /qlik command as Slack signs it; n makes each one
// distinct for the replay guard.
func signedCommand(n int64, at time.Time) (body, ts, sig string) {
	body = commandBody("U"+strconv.FormatInt(1000+n%200, 10), "CBENCH", "sessions finance "+strconv.FormatInt(n, 10),
		"https://hooks.slack.com/commands/T1/"+strconv.FormatInt(n, 10)+"/x")
	ts = strconv.FormatInt(at.Unix(), 10)
	return body, ts, sign(vecSecret, ts, []byte(body))
}

// BenchmarkServeCommand is the per-request cost of acking a signed slash
// command in HTTP mode: read, signature check, replay guard write, parse,
// enqueue, response. Requests run in parallel, as Slack sends them.
func BenchmarkServeCommand(b *testing.B) {
	for _, g := range benchGuards(b) {
		b.Run(g.name, func(b *testing.B) {
			h := ackBot(b, g.guard(b), 8).Handler()
			var n atomic.Int64
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body, ts, sig := signedCommand(n.Add(1), now)
					r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.Header.Set("X-Slack-Request-Timestamp", ts)
					r.Header.Set("X-Slack-Signature", sig)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}

// BenchmarkAckBurst sends 200 signed slash commands at once over loopback
// HTTP, as Slack does when a channel is busy, while every earlier command
// still holds a worker (Qlik is slow), and reports the acks' percentiles
// as the client sees them (connection, request, ack). Issue 16 asks for
// p99 <= 50 ms and max <= 100 ms on 2 cores.
func BenchmarkAckBurst(b *testing.B) {
	const burst = 200
	for _, g := range benchGuards(b) {
		b.Run(g.name, func(b *testing.B) {
			a := ackBot(b, g.guard(b), burst)
			srv := httptest.NewServer(a.Handler())
			b.Cleanup(srv.Close)
			// A connection each, as Slack opens them: the handler goes on
			// after the ack (replay guard, queue), so a reused connection
			// would measure that instead.
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			var n atomic.Int64
			var all []time.Duration
			for b.Loop() {
				acks := make([]time.Duration, burst)
				errs := make([]error, burst)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range burst {
					body, ts, sig := signedCommand(n.Add(1), time.Now())
					req, err := http.NewRequest(http.MethodPost, srv.URL+"/slack/commands", strings.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("X-Slack-Request-Timestamp", ts)
					req.Header.Set("X-Slack-Signature", sig)
					wg.Go(func() {
						<-start
						t0 := time.Now()
						resp, err := client.Do(req)
						if err == nil {
							resp.Body.Close()
							if resp.StatusCode != http.StatusOK {
								err = fmt.Errorf("status %d", resp.StatusCode)
							}
						}
						acks[i], errs[i] = time.Since(t0), err
					})
				}
				close(start)
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
				all = append(all, acks...)
			}
			slices.Sort(all)
			b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(all[(len(all)*99+99)/100-1].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms")
		})
	}
}
