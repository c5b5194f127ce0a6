package botbench

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"runtime"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	slackbot "github.com/qlikbot/qlikbot/bot/slack"
	"github.com/qlikbot/qlikbot/bot/teams"
	"github.com/qlikbot/qlikbot/qlik/qlikbench"
)

// renderScenario: list a generated site and render the reply.
type renderScenario struct{ siteSize }

func renderSize(o qlikbench.Options) renderScenario { return renderScenario{largeSite(o)} }

func (r renderScenario) String() string {
	return fmt.Sprintf("render a %d-session reply: the engine's /qlik sessions over a generated site; "+
		"the engine pages to 50 rows plus a CSV, so the %d-row table is built from that CSV", r.Sessions, r.Sessions)
}

// SessionReplies runs /qlik sessions through the engine against a
// generated site and returns its reply (page 1 and the CSV of every row)
// and the same reply with the whole list as its table.
func SessionReplies(ctx context.Context, rs renderScenario) (page, full bot.Reply, err error) {
	sim, err := startSim(rs.lab(4), 0)
	if err != nil {
		return page, full, err
	}
	defer sim.Close()
	qcfg := qlikbench.ClientConfig(sim)
	qcfg.Concurrency, qcfg.RequestsPerSecond = 32, 1000
	c, err := newCore(qcfg, policyYAML(grant{"viewer", []string{"slack:UVIEWER"}}))
	if err != nil {
		return page, full, err
	}
	defer c.close()
	page = c.engine.Handle(ctx, bot.Request{ID: "bench-render", Platform: bot.Slack, User: bot.User{ID: "UVIEWER"}, Channel: "CBENCH", Text: "sessions"})
	if page.Table == nil || page.Table.TotalRows != rs.Sessions || len(page.Files) == 0 {
		return page, full, fmt.Errorf("sessions: want a paged table of %d rows with a CSV, got %s %q %v", rs.Sessions, page.Kind, page.Title, page.Summary)
	}
	rows, err := csv.NewReader(bytes.NewReader(page.Files[0].Data)).ReadAll()
	if err != nil {
		return page, full, fmt.Errorf("read the reply's CSV: %w", err)
	}
	if len(rows) != rs.Sessions+1 {
		return page, full, fmt.Errorf("CSV holds %d rows, want %d and a header", len(rows)-1, rs.Sessions)
	}
	full = page
	full.Table = &bot.Table{Columns: rows[0], Rows: rows[1:], TotalRows: rs.Sessions}
	full.Buttons = nil // paging buttons mean nothing for the whole list
	return page, full, nil
}

// renderCost renders iters times (after one untimed warm-up) and returns
// the median time and the bytes allocated per render.
func renderCost(iters int, render func() error) (time.Duration, float64, error) {
	if err := render(); err != nil {
		return 0, 0, err
	}
	ds := make([]time.Duration, iters)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range ds {
		start := time.Now()
		if err := render(); err != nil {
			return 0, 0, err
		}
		ds[i] = time.Since(start)
	}
	runtime.ReadMemStats(&after)
	return qlikbench.Median(ds), float64(after.TotalAlloc-before.TotalAlloc) / float64(iters), nil
}

// renderSlack and renderTeams render and check the result is something a
// platform would take, so a renderer that gave up cannot look fast.
func renderSlack(r bot.Reply) error {
	blocks, text := slackbot.RenderBlocks(r)
	if len(blocks) == 0 || len(blocks) > 50 || text == "" {
		return fmt.Errorf("block kit: %d blocks, %d bytes of text", len(blocks), len(text))
	}
	return nil
}

func renderTeams(r bot.Reply) error {
	card, err := teams.RenderCard(r)
	if err != nil {
		return err
	}
	if len(card) == 0 || len(card) > 28*1024 {
		return fmt.Errorf("adaptive card: %d bytes", len(card))
	}
	return nil
}

func measureRender(ctx context.Context, o qlikbench.Options) ([]qlikbench.Figure, error) {
	rs := renderSize(o)
	page, full, err := SessionReplies(ctx, rs)
	if err != nil {
		return nil, err
	}
	iters := 4 * o.RunsOr(5)
	const mb = 1 << 20
	type cost struct {
		d     time.Duration
		bytes float64
	}
	var costs [4]cost
	for i, job := range []func() error{
		func() error { return renderSlack(full) },
		func() error { return renderTeams(full) },
		func() error { return renderSlack(page) },
		func() error { return renderTeams(page) },
	} {
		d, b, err := renderCost(iters, job)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		costs[i] = cost{d, b}
	}
	rows := fmt.Sprintf("%d-row table", rs.Sessions)
	return []qlikbench.Figure{
		{Key: "render_10k_blockkit_ms", Label: rows + " to Block Kit (median)", Value: qlikbench.MS(costs[0].d), Unit: "ms"},
		{Key: "render_10k_card_ms", Label: rows + " to an Adaptive Card, JSON encoded (median)", Value: qlikbench.MS(costs[1].d), Unit: "ms"},
		{Key: "render_10k_allocs_mb", Label: rows + ", allocated by both renders", Value: (costs[0].bytes + costs[1].bytes) / mb, Unit: "MB"},
		{Key: "render_10k_blockkit_allocs_mb", Label: rows + ", allocated by Block Kit", Value: costs[0].bytes / mb, Unit: "MB"},
		{Key: "render_10k_card_allocs_mb", Label: rows + ", allocated by the card", Value: costs[1].bytes / mb, Unit: "MB"},
		{Key: "render_page_blockkit_ms", Label: "the engine's reply as sent (50 rows + CSV) to Block Kit", Value: qlikbench.MS(costs[2].d), Unit: "ms"},
		{Key: "render_page_card_ms", Label: "the engine's reply as sent to an Adaptive Card", Value: qlikbench.MS(costs[3].d), Unit: "ms"},
	}, nil
}
