package commands

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// sitesPolicy: viewers and admins everywhere, an admin of prod only, a
// lead of test only who sees everything.
const sitesPolicy = `
roles:
  viewer: [list]
  lead:   [list, delete, kick, logout, approve]
  admin:  [list, delete, kick, logout, approve, audit]
grants:
  - subjects: ["slack:UVIEWER"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["slack:UADMIN", "slack:UADMIN2"]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: ["slack:UPROD"]
    roles: [admin]
    virtualProxies: ["*"]
    sites: ["prod"]
  - subjects: ["slack:UTEST"]
    roles: [lead]
    virtualProxies: ["*"]
    sites: ["test"]
  - subjects: ["slack:UTEST"]
    roles: [viewer]
    virtualProxies: ["*"]
`

// testLab is the small generated site "test": 2 nodes, the default
// virtual proxy, vp2 and vp3, 6 sessions of 3 users.
func testLab() qliksim.Lab {
	return qliksim.Generate(qliksim.GenOptions{Nodes: 2, VirtualProxies: 3, Sessions: 6, Users: 3, Seed: 7})
}

// sitesEnv is an engine serving two sites, each a simulator over its own
// mutual TLS: prod (the seed lab, the default) and test (testLab).
type sitesEnv struct {
	prod, test *qliksim.Server
	st         *store.Bolt
	eng        *Engine
	clk        *clock
}

type sitesConfig struct {
	policy      string
	pageSize    int
	testDefault bool    // test is the default site rather than the first, prod
	testCPUWarn float64 // test's CPU warning threshold (0: the default)
}

func newSitesEnv(t *testing.T, cfg sitesConfig) *sitesEnv {
	t.Helper()
	e := &sitesEnv{clk: testkit.NewClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))}
	var err error
	if e.prod, err = qliksim.Start(); err != nil {
		t.Fatalf("start prod simulator: %v", err)
	}
	t.Cleanup(e.prod.Close)
	if e.test, err = qliksim.Start(qliksim.WithLab(testLab())); err != nil {
		t.Fatalf("start test simulator: %v", err)
	}
	t.Cleanup(e.test.Close)
	if e.st, err = store.OpenBolt(filepath.Join(t.TempDir(), "state.db")); err != nil {
		t.Fatalf("open bolt: %v", err)
	}
	t.Cleanup(func() { _ = e.st.Close() })
	src := cfg.policy
	if src == "" {
		src = sitesPolicy
	}
	pol, err := authz.Parse([]byte(src))
	if err != nil {
		t.Fatalf("parse policy: %v", err)
	}
	opts := []Option{WithClock(e.clk.Now), WithSealer(seal.Random()), WithSites(
		Site{Name: "prod", Qlik: simClient(t, e.prod)},
		Site{Name: "test", Qlik: simClient(t, e.test), Default: cfg.testDefault, CPUWarn: cfg.testCPUWarn},
	)}
	if cfg.pageSize > 0 {
		opts = append(opts, WithPageSize(cfg.pageSize))
	}
	if e.eng, err = New(nil, e.st, authz.NewStatic(pol), opts...); err != nil {
		t.Fatalf("new engine: %v", err)
	}
	return e
}

func (e *sitesEnv) ask(t *testing.T, user, text string) bot.Reply {
	t.Helper()
	return askAs(t, e.eng, user, text)
}

func (e *sitesEnv) click(t *testing.T, user, actionID, value string) bot.Reply {
	t.Helper()
	return clickAs(t, e.eng, user, actionID, value)
}

func (e *sitesEnv) audit(t *testing.T) []store.Event {
	t.Helper()
	return auditOf(t, e.st)
}

// testSessionIDs are the session ids of the test site.
func testSessionIDs(sim *qliksim.Server) map[string]bool {
	ids := map[string]bool{}
	for _, h := range sim.Hosts() {
		for _, p := range []string{"", "vp2", "vp3"} {
			for _, s := range sim.Sessions(h, p) {
				ids[s.ID] = true
			}
		}
	}
	return ids
}

// methods counts the requests of each method a simulator received.
func methods(reqs []qliksim.Request) map[string]int {
	out := map[string]int{}
	for _, r := range reqs {
		out[r.Method]++
	}
	return out
}

func columnsOf(r bot.Reply) []string {
	if r.Table == nil {
		return nil
	}
	return slices.Clone(r.Table.Columns)
}
