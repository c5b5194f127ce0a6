package botbench

import (
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "none", p: 50, want: 0},
		{name: "one", sorted: ms(7), p: 99, want: 7 * time.Millisecond},
		{name: "median of odd count", sorted: ms(1, 2, 3), p: 50, want: 2 * time.Millisecond},
		{name: "median of even count is the lower", sorted: ms(1, 2, 3, 4), p: 50, want: 2 * time.Millisecond},
		{name: "p99 of 100", sorted: ms(hundred...), p: 99, want: 99 * time.Millisecond},
		{name: "p99 of 200 is the 198th", sorted: append(ms(hundred...), ms(hundred...)...)[:200], p: 99, want: 98 * time.Millisecond},
		{name: "p100 is the max", sorted: ms(1, 5, 9), p: 100, want: 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	const status = "Name:\tqlikbench\nVmPeak:\t  812345 kB\nVmHWM:\t   45000 kB\nVmRSS:\t   43210 kB\nThreads:\t9\nOdd:\t12 pages\n"
	tests := []struct {
		name, field string
		want        int64
		wantErr     string
	}{
		{name: "rss", field: "VmRSS", want: 43210},
		{name: "high water mark", field: "VmHWM", want: 45000},
		{name: "missing", field: "VmSwap", wantErr: "not in"},
		{name: "not kB", field: "Odd", wantErr: "unit"},
		{name: "prefix of another field", field: "Vm", wantErr: "not in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatus(strings.NewReader(status), tt.field)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// TestPolicyGrantsEveryBenchUser parses the generated policy and checks
// the bench's users get exactly the rights the scenarios need.
func TestPolicyGrantsEveryBenchUser(t *testing.T) {
	t.Parallel()
	users := subjects("slack", slackUsers(3))
	p, err := authz.Parse(policyYAML(grant{"viewer", users}, grant{"lead", []string{"slack:" + requester, "slack:" + approver}}))
	if err != nil {
		t.Fatal(err)
	}
	scope := authz.Scope{VirtualProxy: kickVP, Host: "node1.sim.qlik.test", Channel: "CBENCH00001"}
	tests := []struct {
		name    string
		subject string
		perm    authz.Permission
		want    bool
	}{
		{name: "viewer lists", subject: users[2], perm: authz.List, want: true},
		{name: "viewer may not kick", subject: users[0], perm: authz.Kick, want: false},
		{name: "requester kicks", subject: "slack:" + requester, perm: authz.Kick, want: true},
		{name: "approver approves", subject: "slack:" + approver, perm: authz.Approve, want: true},
		{name: "stranger lists nothing", subject: "slack:UNOBODY", perm: authz.List, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := p.Decide([]string{tt.subject}, tt.perm, scope).Allowed; got != tt.want {
				t.Errorf("Decide(%s, %s) = %v, want %v", tt.subject, tt.perm, got, tt.want)
			}
		})
	}
	if !p.NeedsApproval(authz.Kick) {
		t.Error("kick does not need an approval: the scenario would measure no approval")
	}
}

func TestAckRuns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ runs, want int }{{0, 3}, {1, 1}, {4, 4}, {5, 5}, {9, 5}} {
		if got := ackRuns(qlikbench.Options{Runs: tc.runs}); got != tc.want {
			t.Errorf("ackRuns(-runs %d) = %d, want %d", tc.runs, got, tc.want)
		}
	}
}

// TestMeasureAckTakesMedianOfRuns: two short bursts, each checked; the
// figures say they are medians of 2 runs and every command was answered.
func TestMeasureAckTakesMedianOfRuns(t *testing.T) {
	t.Parallel()
	o := qlikbench.Options{Short: true, Runs: 2}
	figs, err := measureAck(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]qlikbench.Figure{}
	for _, f := range figs {
		byKey[f.Key] = f
	}
	for _, k := range []string{"ack_p50_ms", "ack_p99_ms", "ack_max_ms", "ack_answers_s"} {
		if !strings.Contains(byKey[k].Label, "median of 2 runs") {
			t.Errorf("%s: label %q does not say it is the median of 2 runs", k, byKey[k].Label)
		}
	}
	if got, want := byKey["ack_answered"].Value, float64(ackSize(o).Commands); got != want {
		t.Errorf("ack_answered = %v, want %v", got, want)
	}
	if p50, p99 := byKey["ack_p50_ms"].Value, byKey["ack_p99_ms"].Value; p50 <= 0 || p99 < p50 {
		t.Errorf("p50 %v ms, p99 %v ms: want 0 < p50 <= p99", p50, p99)
	}
}
