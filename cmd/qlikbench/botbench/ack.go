package botbench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// slackDeadline is how long Slack waits for an ack.
const slackDeadline = 3 * time.Second

// ackScenario: Commands concurrent signed /qlik sessions commands while
// every Qlik call takes Latency. The dispatcher and the Qlik client are
// sized to work them all at once, so every command gets its real answer.
type ackScenario struct {
	Commands int
	Latency  time.Duration
	Sessions int // on the site, one virtual proxy on one node
}

func ackSize(o qlikbench.Options) ackScenario {
	if o.Short {
		return ackScenario{Commands: 20, Latency: 500 * time.Millisecond, Sessions: 10}
	}
	return ackScenario{Commands: 200, Latency: 5 * time.Second, Sessions: 10}
}

func (a ackScenario) String() string {
	return fmt.Sprintf("Slack HTTP mode: %d concurrent signed /qlik sessions, every Qlik call %s (dispatcher %d workers, Qlik client up to %d in flight)",
		a.Commands, a.Latency, a.Commands, a.Commands)
}

// AckResult is one run of the ack scenario.
type AckResult struct {
	Acks     []time.Duration // sorted
	Answered int             // real session lists posted to the response_urls
	Answers  time.Duration   // from the first POST to the last answer
}

// RunAck runs the ack scenario once: it starts the simulator and the bot,
// POSTs the commands at once, waits (bounded) for every answer at the
// fake Slack and checks each is the session list.
func RunAck(ctx context.Context, a ackScenario) (AckResult, error) {
	lab := qliksim.Generate(qliksim.GenOptions{Users: a.Sessions, Sessions: a.Sessions, VirtualProxies: 1, Nodes: 1, Seed: 5})
	// No capacity limit: the scenario is about the acks, and Qlik is only
	// slow, not overloaded.
	sim, err := startSim(lab, a.Latency, qliksim.WithCapacity(qliksim.Capacities{}))
	if err != nil {
		return AckResult{}, err
	}
	defer sim.Close()
	qcfg := qlikbench.ClientConfig(sim, qlikbench.Shipped{})
	qcfg.Concurrency = a.Commands
	users := slackUsers(a.Commands)
	b, err := startSlackBot(qcfg, policyYAML(grant{"viewer", subjects(bot.Slack, users)}), a.Commands, a.Commands)
	if err != nil {
		return AckResult{}, err
	}
	defer b.close()

	acks := make([]time.Duration, a.Commands)
	errs := make([]error, a.Commands)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range a.Commands {
		wg.Go(func() {
			<-ready
			acks[i], errs[i] = b.command(ctx, users[i], fmt.Sprintf("CBENCH%05d", i+1), "sessions", fmt.Sprintf("h%05d", i))
		})
	}
	start := time.Now()
	close(ready)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return AckResult{}, err
		}
	}
	wait, cancel := context.WithTimeoutCause(ctx, 4*a.Latency+time.Minute,
		fmt.Errorf("%w: not every command was answered at the fake Slack", errNoAnswer))
	defer cancel()
	if err := b.fake.waitFor(wait, func() bool { return len(b.fake.hooks) >= a.Commands }); err != nil {
		return AckResult{}, err
	}
	res := AckResult{Answers: time.Since(start)}
	want := fmt.Sprintf("Total sessions: %d", a.Sessions)
	for _, p := range b.fake.posts() {
		if strings.Contains(p.Text, want) && p.Type == "in_channel" {
			res.Answered++
		}
	}
	if res.Answered != a.Commands {
		return AckResult{}, fmt.Errorf("%d of %d answers were the session list (want %q in each)", res.Answered, a.Commands, want)
	}
	slices.Sort(acks)
	res.Acks = acks
	return res, nil
}

// percentile is the nearest-rank p-th percentile of sorted ds.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted)) + 0.999999)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ackRuns is how many bursts the ack figures take the median of: 3, or
// -runs when given, at most 5 (each burst starts a bot and a simulator
// and waits for every answer).
func ackRuns(o qlikbench.Options) int {
	if o.Runs < 1 {
		return 3
	}
	return min(o.Runs, 5)
}

// measureAck runs the burst ackRuns times, each from a fresh bot (one
// cold burst alone is mostly noise on a busy machine), checks every run's
// answers, and reports the median of each run's p50, p99 and slowest ack.
func measureAck(ctx context.Context, o qlikbench.Options) ([]qlikbench.Figure, error) {
	a := ackSize(o)
	n := ackRuns(o)
	var p50, p99, slowest, answers []time.Duration
	over, answered := 0, a.Commands
	for i := range n {
		r, err := RunAck(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("run %d of %d: %w", i+1, n, err)
		}
		p50 = append(p50, percentile(r.Acks, 50))
		p99 = append(p99, percentile(r.Acks, 99))
		slowest = append(slowest, r.Acks[len(r.Acks)-1])
		answers = append(answers, r.Answers)
		late := 0
		for _, d := range r.Acks {
			if d >= slackDeadline {
				late++
			}
		}
		over = max(over, late)
		answered = min(answered, r.Answered)
	}
	of := fmt.Sprintf("median of %d runs", n)
	return []qlikbench.Figure{
		{Key: "ack_p50_ms", Label: "ack, median (" + of + ")", Value: qlikbench.MS(qlikbench.Median(p50)), Unit: "ms"},
		{Key: "ack_p99_ms", Label: "ack, 99th percentile (" + of + ")", Value: qlikbench.MS(qlikbench.Median(p99)), Unit: "ms"},
		{Key: "ack_max_ms", Label: "ack, slowest (" + of + ")", Value: qlikbench.MS(qlikbench.Median(slowest)), Unit: "ms"},
		{Key: "ack_over_3s", Label: fmt.Sprintf("acks at or over Slack's 3 s deadline (most in any of %d runs)", n), Value: float64(over), Unit: "acks"},
		{Key: "ack_answered", Label: fmt.Sprintf("commands answered with the session list (fewest in any of %d runs)", n), Value: float64(answered), Unit: "answers"},
		{Key: "ack_answers_s", Label: "first POST to last answer posted (" + of + ")", Value: qlikbench.Median(answers).Seconds(), Unit: "s"},
	}, nil
}
