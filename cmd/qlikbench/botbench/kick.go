package botbench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// kickScenario: Sessions sessions on virtual proxy vp2 (over 2 nodes; as
// many again on the default virtual proxy, which must survive), a kick
// requested by one user and approved by another through the engine, the
// Qlik client limited to RPS, every call Latency.
type kickScenario struct {
	Sessions int
	RPS      float64
	Latency  time.Duration
}

func kickSize(o qlikbench.Options) kickScenario {
	if o.Short {
		return kickScenario{Sessions: 100, RPS: 200, Latency: 20 * time.Millisecond}
	}
	return kickScenario{Sessions: 1000, RPS: 200, Latency: 20 * time.Millisecond}
}

func (k kickScenario) String() string {
	return fmt.Sprintf("kick %d sessions on one virtual proxy, approved by a second user (Qlik client %g calls/s, %s per call)", k.Sessions, k.RPS, k.Latency)
}

// KickResult is one approved kick.
type KickResult struct {
	Elapsed  time.Duration // approval click handed to the engine -> its reply
	Deletes  int           // DELETEs the simulator saw
	Peak     int           // most DELETEs in any 1 s window
	QlikSpan time.Duration // first DELETE to last DELETE arriving
}

const (
	requester = "UREQUESTER"
	approver  = "UAPPROVER"
	kickVP    = "vp2"
)

// RunKick runs the kick scenario once and checks exactly the kicked
// virtual proxy was emptied.
func RunKick(ctx context.Context, k kickScenario) (KickResult, error) {
	lab := qliksim.Generate(qliksim.GenOptions{Users: 2 * k.Sessions / 5, Sessions: 2 * k.Sessions, VirtualProxies: 2, Nodes: 2, Seed: 3})
	sim, err := startSim(lab, k.Latency)
	if err != nil {
		return KickResult{}, err
	}
	defer sim.Close()
	qcfg := qlikbench.ClientConfig(sim, qlikbench.Shipped{})
	qcfg.RequestsPerSecond = k.RPS
	c, err := newCore(qcfg, policyYAML(grant{"lead", subjects(bot.Slack, []string{requester, approver})}))
	if err != nil {
		return KickResult{}, err
	}
	defer c.close()

	ask := bot.Request{ID: "bench-kick", Platform: bot.Slack, User: bot.User{ID: requester, Name: "requester"}, Channel: "CBENCH", Text: "kick " + kickVP}
	pending := c.engine.Handle(ctx, ask)
	if pending.Kind != bot.Pending || len(pending.Buttons) == 0 || pending.Buttons[0].ActionID != commands.ActionApprove {
		return KickResult{}, fmt.Errorf("kick %s: want an approval request, got %s %q %v", kickVP, pending.Kind, pending.Title, pending.Summary)
	}
	if pending.Table == nil || pending.Table.TotalRows != k.Sessions {
		return KickResult{}, fmt.Errorf("kick %s: approval request does not list %d sessions", kickVP, k.Sessions)
	}
	click := bot.Request{ID: "bench-approve", Platform: bot.Slack, User: bot.User{ID: approver, Name: "approver"}, Channel: "CBENCH",
		Action: &bot.Action{ID: commands.ActionApprove, Value: pending.Buttons[0].Value, MessageRef: "CBENCH/1700000000.000001"}}
	sim.ResetRequests()
	start := time.Now()
	done := c.engine.Handle(ctx, click)
	res := KickResult{Elapsed: time.Since(start)}

	want := fmt.Sprintf("Deleted %d, already gone 0, failed 0", k.Sessions)
	if done.Kind != bot.Success || !strings.Contains(strings.Join(done.Summary, "\n"), want) {
		return KickResult{}, fmt.Errorf("approve: want %q, got %s %q %v %v", want, done.Kind, done.Title, done.Summary, done.Warnings)
	}
	for _, h := range sim.Hosts() {
		if n := len(sim.Sessions(h, kickVP)); n != 0 {
			return KickResult{}, fmt.Errorf("%d sessions left on %s@%s after the kick", n, kickVP, h)
		}
	}
	if left := sim.AllSessions(); left != k.Sessions {
		return KickResult{}, fmt.Errorf("%d sessions left on the site, want the other virtual proxy's %d", left, k.Sessions)
	}
	var deletes []qliksim.Request
	for _, r := range sim.Requests() {
		if r.Method == http.MethodDelete {
			deletes = append(deletes, r)
		}
	}
	if len(deletes) != k.Sessions {
		return KickResult{}, fmt.Errorf("%d DELETEs for %d sessions", len(deletes), k.Sessions)
	}
	res.Deletes, res.Peak = len(deletes), qlikbench.PeakPerSecond(deletes)
	// The log is in order of completion, not arrival: take the extremes.
	byArrival := func(a, b qliksim.Request) int { return a.Time.Compare(b.Time) }
	res.QlikSpan = slices.MaxFunc(deletes, byArrival).Time.Sub(slices.MinFunc(deletes, byArrival).Time)
	return res, nil
}

func measureKick(ctx context.Context, o qlikbench.Options) ([]qlikbench.Figure, error) {
	k := kickSize(o)
	r, err := RunKick(ctx, k)
	if err != nil {
		return nil, err
	}
	return []qlikbench.Figure{
		{Key: "delete_" + strconv.Itoa(k.Sessions) + "_seconds", Label: fmt.Sprintf("approve click to reply, %d sessions ended (1 run)", k.Sessions), Value: r.Elapsed.Seconds(), Unit: "s"},
		{Key: "delete_peak_rps", Label: fmt.Sprintf("peak DELETEs in any 1 s window (limit %g)", k.RPS), Value: float64(r.Peak), Unit: "req/s"},
		{Key: "delete_qlik_seconds", Label: "first to last DELETE at the simulator", Value: r.QlikSpan.Seconds(), Unit: "s"},
	}, nil
}
