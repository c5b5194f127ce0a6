// Package gctune sets the garbage collector the way qlikbot runs it. The
// bot's live heap is small (about 10 MB idle), so with Go's default
// (GOGC=100) it collects every few MB: in a burst of chat requests (200
// slash commands at once) collections and their stack scans take a good
// share of two cores just when Slack's 3 s ack deadline is running.
// Collecting at 5x the live heap instead keeps bursts cheap for a few tens
// of MB, and a soft memory limit keeps the total well inside a 256 MiB
// container. GOGC and GOMEMLIMIT, when set, win.
//
// cmd/qlikbot applies it at start; cmd/qlikbench applies it too, because
// it measures the bot in its own process.
package gctune

import (
	"os"
	"runtime/debug"
)

// Defaults applied by Apply when the environment sets nothing.
const (
	GCPercent   = 400
	MemoryLimit = 192 << 20 // bytes; the deploy manifests limit the pod to 256 MiB
)

// Apply sets GCPercent unless GOGC is set, and MemoryLimit unless
// GOMEMLIMIT is set. It changes process-wide runtime settings: only main
// calls it.
func Apply() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(GCPercent)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
