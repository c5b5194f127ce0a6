package bottest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

// Site is a generated Qlik site behind the whole qlikbot stack with real
// parts: the simulator over mutual TLS, the Qlik client, a bolt store, a
// parsed policy, the commands engine and a running dispatcher.
type Site struct {
	Sim        *qliksim.Server
	Engine     *commands.Engine
	Dispatcher *bot.Dispatcher
}

// NewSite generates a site of sessions sessions on 4 virtual proxies and 2
// nodes and serves it with policy, lists paged at pageSize. Everything
// stops when t ends.
func NewSite(t testing.TB, sessions int, policy string, pageSize int) *Site {
	t.Helper()
	lab := qliksim.Generate(qliksim.GenOptions{Users: sessions/4 + 1, Sessions: sessions, VirtualProxies: 4, Nodes: 2, Seed: 12})
	sim, err := qliksim.Start(qliksim.WithLab(lab))
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	q, err := qlik.New(qlik.Config{
		QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(), Resolve: sim.Resolve(),
		Timeout: 30 * time.Second, ReadRetries: -1, TopologyTTL: time.Minute, RequestsPerSecond: -1,
	})
	if err != nil {
		t.Fatalf("qlik client: %v", err)
	}
	t.Cleanup(q.Close)
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatalf("open bolt: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	pol, err := authz.Parse([]byte(policy))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	eng, err := commands.New(q, st, authz.NewStatic(pol), commands.WithPageSize(pageSize))
	if err != nil {
		t.Fatalf("commands: %v", err)
	}
	// One person clicking Next hundreds of times: no per-user rate limit.
	d, err := bot.NewDispatcher(eng, bot.WithTimeout(2*time.Minute), bot.WithUserRate(rate.Inf, 1))
	if err != nil {
		t.Fatalf("dispatcher: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &Site{Sim: sim, Engine: eng, Dispatcher: d}
}

// ApprovalPolicy is a policy for approval tests, in subjects of one
// platform ("console:lead", "slack:U0LEAD" ...): admins ask for kicks and
// approve them everywhere, viewer lists everywhere and finViewer lists
// the finance virtual proxy only.
func ApprovalPolicy(admins []string, viewer, finViewer string) string {
	quoted := make([]string, len(admins))
	for i, a := range admins {
		quoted[i] = strconv.Quote(a)
	}
	return fmt.Sprintf(`
roles:
  viewer: [list]
  admin:  [list, kick, approve]
grants:
  - subjects: [%s]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: [%q]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: [%q]
    roles: [viewer]
    virtualProxies: ["finance"]
`, strings.Join(quoted, ", "), viewer, finViewer)
}
