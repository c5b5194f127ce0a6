// Package botbench measures qlikbot end to end, chat included, against
// in-process simulators: Slack slash-command acks under a slow Qlik site,
// a 1,000-session kick approved through the commands engine, rendering a
// 10,000-session reply to Block Kit and to an Adaptive Card, and the
// resident memory of a running bot (in a child process, so the
// simulator's memory is not counted).
//
// Every scenario builds the real parts (qliksim over mutual TLS,
// qlik.Client, store.Bolt, authz, commands.Engine, bot.Dispatcher and the
// Slack adapter's HTTP handler with slack-go posting to a fake Slack) and
// checks the answers it measures, so a broken path fails the run instead
// of printing a fast number.
package botbench

import "github.com/qlikbot/qlikbot/qlik/qlikbench"

// Measurements returns the end-to-end measurements in print order, sized
// for o (Short shrinks them for CI smoke runs).
func Measurements(o qlikbench.Options) []qlikbench.Measurement {
	ack, kick, rs, rss := ackSize(o), kickSize(o), renderSize(o), rssSize(o)
	return []qlikbench.Measurement{
		{ID: "ack", Name: ack.String(), Run: measureAck,
			Keys: []string{"ack_p50_ms", "ack_p99_ms", "ack_max_ms", "ack_over_3s", "ack_answered", "ack_answers_s"}},
		{ID: "delete", Name: kick.String(), Run: measureKick,
			Keys: []string{"delete_1000_seconds", "delete_peak_rps", "delete_qlik_seconds"}},
		{ID: "render", Name: rs.String(), Run: measureRender,
			Keys: []string{"render_10k_blockkit_ms", "render_10k_card_ms", "render_10k_allocs_mb",
				"render_10k_blockkit_allocs_mb", "render_10k_card_allocs_mb", "render_page_blockkit_ms", "render_page_card_ms"}},
		{ID: "rss", Name: rss.String(), Run: measureRSS,
			Keys: []string{"rss_idle_mb", "rss_10k_mb", "rss_10k_peak_mb"}},
	}
}
