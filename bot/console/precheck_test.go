package console

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/bottest"
)

// prechecked is the recorder with prechecks: a click by "lead" would be
// refused, anyone else's may go through.
type prechecked struct {
	recorder
	mu     sync.Mutex
	checks []bot.Request
}

func (h *prechecked) Precheck(_ context.Context, req bot.Request) (bot.Reply, bool) {
	h.mu.Lock()
	h.checks = append(h.checks, req)
	h.mu.Unlock()
	if req.User.ID == "lead" {
		return bot.Reply{Kind: bot.Denied, Title: "Not allowed", Summary: []string{"you asked for this (two-person rule)"}, Visibility: bot.Ephemeral}, true
	}
	return bot.Reply{}, false
}

// TestClickRefusedBeforeConfirm: a click the handler would refuse gets
// its refusal at once, without the "Type y to confirm" prompt, and is not
// sent; one that may go through is asked about as before.
func TestClickRefusedBeforeConfirm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, script string
		wantPrompt   bool
		wantSent     bool
	}{
		{"refused: no prompt, not sent", "delete all\n--as lead /click 1\n", false, false},
		{"may go through: prompt, sent", "delete all\n--as admin /click 1\ny\n", true, true},
		{"may go through: prompt, cancelled", "delete all\n--as admin /click 1\nn\n", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &prechecked{}
			out := runScript(t, startDispatcher(t, h), tc.script)
			if got := strings.Contains(out, "Type y to confirm"); got != tc.wantPrompt {
				t.Errorf("prompted: %v, want %v:\n%s", got, tc.wantPrompt, out)
			}
			if !tc.wantPrompt && !strings.Contains(out, "[console:lead] Not allowed\nyou asked for this (two-person rule)") {
				t.Errorf("the refusal was not printed for console:lead:\n%s", out)
			}
			sent := 0
			for _, r := range h.requests() {
				if r.Action != nil {
					sent++
				}
			}
			if sent != map[bool]int{true: 1}[tc.wantSent] {
				t.Errorf("%d clicks sent, want sent=%v:\n%s", sent, tc.wantSent, out)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.checks) != 1 || h.checks[0].Action == nil || h.checks[0].Action.ID != "delete" || h.checks[0].Action.Value != "d-1" ||
				h.checks[0].Action.MessageRef == "" || h.checks[0].Platform != bot.Console || h.checks[0].Channel != Channel {
				t.Errorf("prechecks %+v, want the click as the console sends it", h.checks)
			}
		})
	}
}

// TestClickWithoutConfirmIsNotPrechecked: only a click that would be
// confirmed is prechecked; others go straight to the handler, which
// answers them.
func TestClickWithoutConfirmIsNotPrechecked(t *testing.T) {
	t.Parallel()
	h := &prechecked{}
	out := runScript(t, startDispatcher(t, h), "kick finance\n--as lead /click 2\n")
	if !strings.Contains(out, "console:lead clicked reject (p-42)") {
		t.Errorf("the click was not sent:\n%s", out)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.checks) != 0 {
		t.Errorf("a click without Confirm was prechecked: %+v", h.checks)
	}
}

const precheckPolicy = `
roles:
  viewer:   [list]
  lead:     [list, kick, approve]
  approver: [list, approve]
grants:
  - subjects: ["console:oncall"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["console:lead"]
    roles: [lead]
    virtualProxies: ["vp2"]
  - subjects: ["console:admin", "console:deputy"]
    roles: [approver]
    virtualProxies: ["*"]
approval:
  required: [kick]
  ttl: 30m
`

var typedApproval = regexp.MustCompile(`/qlik approve ([0-9a-f]{32})`)

// TestApprovalClicksPrecheckedEndToEnd runs the real engine on a simulated
// site: the requester's own Approve click, a viewer's, and one on a request
// already approved are refused before the prompt; the approver is asked
// and approves.
func TestApprovalClicksPrecheckedEndToEnd(t *testing.T) {
	t.Parallel()
	site := bottest.NewSite(t, 16, precheckPolicy, 50)
	say := converse(t, site.Dispatcher)
	deletes := func() int {
		n := 0
		for _, r := range site.Sim.Requests() {
			if r.Method == "DELETE" {
				n++
			}
		}
		return n
	}

	pending := say("--as lead /qlik kick vp2")
	m := typedApproval.FindStringSubmatch(pending)
	if m == nil || !strings.Contains(pending, "[1] Approve") {
		t.Fatalf("no approval request:\n%s", pending)
	}
	for _, step := range []struct{ line, want string }{
		{"--as lead /click 1", "two-person rule"},
		{"--as oncall /click 1", "Your id: console:oncall"},
	} {
		if got := say(step.line); strings.Contains(got, "Type y to confirm") || !strings.Contains(got, step.want) {
			t.Errorf("%s: want the refusal at once (%q), got:\n%s", step.line, step.want, got)
		}
	}
	// Typed, the approval leaves the request's buttons in place.
	if got := say("--as admin /qlik approve " + m[1]); !strings.Contains(got, "Approved") {
		t.Fatalf("the typed approval:\n%s", got)
	}
	ended := deletes()
	if ended == 0 {
		t.Fatal("the approval ended no session")
	}
	if got := say("--as deputy /click 1"); strings.Contains(got, "Type y to confirm") || !strings.Contains(got, "Already approved by console:admin") {
		t.Errorf("a click on the approved request: want the refusal at once, got:\n%s", got)
	}
	if deletes() != ended {
		t.Error("a refused click ended sessions")
	}
}
