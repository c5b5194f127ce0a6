package watch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

// TestRules drives each rule type with the simulator's faults, sample by
// sample, and checks when its alert fires and what it says.
func TestRules(t *testing.T) {
	t.Parallel()
	post := authz.AlertPost{Slack: []string{"C0OPS"}}
	tests := []struct {
		name  string
		rule  authz.AlertRule
		setup func(t *testing.T, r *rig)
		// firesAt is the sample (1-based) whose step posts; 0: never.
		firesAt int
		summary string
		keys    string
	}{
		{"node down for 3 samples", authz.AlertRule{Type: authz.AlertNodeDown, Samples: 3},
			func(t *testing.T, r *rig) { setFault(t, r, 1, qliksim.Fault{Down: true}) }, 3,
			"1 node not answering on site prod", "pro2-win2.lab.ptarmiganlabs.net"},
		{"node down once is no alert yet", authz.AlertRule{Type: authz.AlertNodeDown, Samples: 9},
			func(t *testing.T, r *rig) { setFault(t, r, 1, qliksim.Fault{Down: true}) }, 0, "", ""},
		{"engine CPU", authz.AlertRule{Type: authz.AlertEngine, CPUAbove: 90},
			func(t *testing.T, r *rig) { setFault(t, r, 0, qliksim.Fault{HighCPU: true}) }, 1,
			"1 engine CPU above 90% on site prod", "pro2-win1.lab.ptarmiganlabs.net"},
		{"engine saturated and short of memory", authz.AlertRule{Type: authz.AlertEngine, Saturated: true, MemFreeBelow: 10},
			func(t *testing.T, r *rig) { setFault(t, r, 1, qliksim.Fault{Saturated: true, LowMemory: true}) }, 1,
			"1 engine saturated or free memory below 10% on site prod", "pro2-win2.lab.ptarmiganlabs.net"},
		{"engine fine", authz.AlertRule{Type: authz.AlertEngine, Saturated: true, CPUAbove: 90, MemFreeBelow: 10},
			func(t *testing.T, r *rig) {}, 0, "", ""},
		{"proxy sessions above", authz.AlertRule{Type: authz.AlertProxySessions, Above: 1},
			func(t *testing.T, r *rig) {}, 1, "2 virtual proxies with more than 1 sessions on site prod", "finance,win"},
		{"proxy sessions above, one proxy watched", authz.AlertRule{Type: authz.AlertProxySessions, Above: 1, VirtualProxies: []string{"win"}},
			func(t *testing.T, r *rig) {}, 1, "1 virtual proxy with more than 1 sessions on site prod", "win"},
		{"user sessions on another proxy", authz.AlertRule{Type: authz.AlertUserSessions, Sessions: 5, VirtualProxies: []string{"finance"}},
			func(t *testing.T, r *rig) { addUser(t, r.sim, "win", "kiosk", 5) }, 0, "", ""},
		{"user sessions, lower limit", authz.AlertRule{Type: authz.AlertUserSessions, Sessions: 1},
			func(t *testing.T, r *rig) {}, 1, "5 users at or above 1 sessions on site prod", `LAB\goran`},
		{"a site for another rule", authz.AlertRule{Type: authz.AlertUserSessions, Sessions: 1, Sites: []string{"test"}},
			func(t *testing.T, r *rig) {}, 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := testkit.NewClock(t0)
			r := newRig(t, boltStore(t, clk), clk)
			tc.rule.Name, tc.rule.Repeat, tc.rule.Post = "r", time.Hour, post
			r.rules = []authz.AlertRule{tc.rule}
			tc.setup(t, r)
			w := r.watcher(t, "a")
			for i := 1; i <= 4; i++ {
				clk.Advance(time.Minute)
				w.Step(t.Context())
				n := len(r.chat.all())
				switch {
				case tc.firesAt == 0 && n > 0:
					t.Fatalf("sample %d posted %+v, want nothing", i, r.chat.all())
				case tc.firesAt > 0 && i < tc.firesAt && n > 0:
					t.Fatalf("sample %d posted before sample %d", i, tc.firesAt)
				case tc.firesAt > 0 && i >= tc.firesAt && n != 1:
					t.Fatalf("sample %d: %d posts, want 1", i, n)
				}
			}
			if tc.firesAt == 0 {
				return
			}
			p := r.chat.all()[0]
			if p.reply.Title != "firing: "+tc.summary || !strings.HasPrefix(p.reply.Summary[0], tc.keys) {
				t.Errorf("post %q / %q, want %q / %q...", p.reply.Title, p.reply.Summary[0], tc.summary, tc.keys)
			}
		})
	}
}

func setFault(t *testing.T, r *rig, node int, f qliksim.Fault) {
	t.Helper()
	if err := r.sim.SetFault(r.sim.Hosts()[node], f); err != nil {
		t.Fatal(err)
	}
}

// TestNoVerdictOnMissingData: an alert about a user at the limit neither
// resolves nor fires while a node does not answer and nothing fires.
func TestNoVerdictOnMissingData(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	r := newRig(t, boltStore(t, clk), clk)
	// finance is linked to both nodes: dev1 down makes its reading partial.
	ids := addUser(t, r.sim, "finance", "clerk", 5)
	w := r.watcher(t, "a")
	clk.Advance(time.Minute)
	w.Step(t.Context())
	endSessions(t, r.client, "finance", ids)
	setFault(t, r, 1, qliksim.Fault{Down: true})
	clk.Advance(time.Minute)
	w.Step(t.Context())
	as, _ := r.st.ListAlerts(t.Context())
	if len(as) != 1 || as[0].State != store.AlertFiring {
		t.Fatalf("alerts after a partial reading: %+v; want the alert still firing", as)
	}
	setFault(t, r, 1, qliksim.Fault{})
	clk.Advance(time.Minute)
	w.Step(t.Context())
	as, _ = r.st.ListAlerts(t.Context())
	if len(as) != 1 || as[0].State != store.AlertResolved {
		t.Fatalf("alerts once every node answers: %+v; want resolved", as)
	}
}

// TestRemovedRuleResolves: a firing alert whose rule is gone from the
// policy is resolved, so its message does not say firing for ever.
func TestRemovedRuleResolves(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	r := newRig(t, boltStore(t, clk), clk)
	addUser(t, r.sim, "win", "kiosk", 5)
	w := r.watcher(t, "a")
	clk.Advance(time.Minute)
	w.Step(t.Context())
	r.rules = nil
	clk.Advance(time.Minute)
	w.Step(t.Context())
	posts := r.chat.all()
	if len(posts) != 2 || !posts[1].reply.ReplaceOriginal || !strings.HasPrefix(posts[1].reply.Title, "resolved") {
		t.Fatalf("posts: %+v; want the alert resolved in place", posts)
	}
}
