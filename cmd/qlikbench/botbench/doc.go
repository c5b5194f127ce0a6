// Package botbench measures qlikbot end to end, chat included, against
// in-process simulators: Slack slash-command acks under a slow Qlik site,
// a 1,000-session kick approved through the commands engine, and the
// resident memory of a running bot (in a child process, so the
// simulator's memory is not counted). Rendering is measured where it
// lives, by the Benchmark functions of bot/slack and bot/teams.
//
// Every scenario builds the real parts (qliksim over mutual TLS,
// qlik.Client, store.Bolt, authz, commands.Engine, bot.Dispatcher and the
// Slack adapter's HTTP handler with slack-go posting to a fake Slack) and
// checks the answers it measures, so a broken path fails the run instead
// of printing a fast number.
package botbench

import (
	"strconv"

	"github.com/qlikbot/qlikbot/internal/qlikbench"
)

// Measurements returns the end-to-end measurements in print order, sized
// for o (Short shrinks them for CI smoke runs; the keys name the sizes
// run).
func Measurements(o qlikbench.Options) []qlikbench.Measurement {
	ack, kick, rss := ackSize(o), kickSize(o), rssSize(o)
	rk := "rss_" + qlikbench.SizeKey(rss.Sessions)
	return []qlikbench.Measurement{
		{ID: "ack", Name: ack.String(), Run: measureAck,
			Keys: []string{"ack_p50_ms", "ack_p99_ms", "ack_max_ms", "ack_over_3s", "ack_answered", "ack_answers_s"}},
		{ID: "delete", Name: kick.String(), Run: measureKick,
			Keys: []string{"delete_" + strconv.Itoa(kick.Sessions) + "_seconds", "delete_peak_rps", "delete_qlik_seconds"}},
		{ID: "rss", Name: rss.String(), Run: measureRSS, Shipped: true,
			Keys: []string{"rss_idle_mb", rk + "_mb", rk + "_peak_mb"}},
	}
}
