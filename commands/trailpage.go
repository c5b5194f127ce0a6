package commands

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/qlikbot/qlikbot/store"
)

// Paging the audit trail by key. "audit N" is the N newest events when
// the first page is asked for; new events arrive on top meanwhile. Next
// carries the key of the last row shown (its rank in the list, its time
// and its place among the events of the same time, counted from the
// oldest: neither changes as events are added), Previous that of the
// first; the list is then the same N events, found again by that key, so
// no row repeats and none is skipped however many events came since.

// auditWindow picks the events of match (matching events, newest first)
// that "audit N" lists, anchored at cmd's page key if it has one, with
// each one's page key; the command it returns pages by row number within
// that list (decorate turns its buttons back into keys).
func auditWindow(match []store.Event, cmd Command) ([]store.Event, []string, Command, *UsageError) {
	ties := make([]int, len(match)) // place among equal times, from the oldest
	for i := len(match) - 2; i >= 0; i-- {
		if match[i].Time.Equal(match[i+1].Time) {
			ties[i] = ties[i+1] + 1
		}
	}
	start := 0
	if cmd.After != "" || cmd.Before != "" {
		enc, name := cmd.After, "after"
		if enc == "" {
			enc, name = cmd.Before, "before"
		}
		k, err := base64.RawURLEncoding.DecodeString(enc)
		rank, at, tie, ok := parseAuditKey(string(k))
		if err != nil || !ok || rank >= cmd.N {
			return nil, nil, cmd, &UsageError{Verb: cmd.Verb, Problem: "--" + name + ": not a page key of this audit list (the Next and Previous buttons give one)"}
		}
		// p: the first event after the key's row in the list's order
		// (older; with Before, the key's row itself counts as after).
		p := len(match)
		for i, ev := range match {
			t := ev.Time.UnixNano()
			if t < at || t == at && (ties[i] < tie || cmd.Before != "" && ties[i] == tie) {
				p = i
				break
			}
		}
		if cmd.After != "" {
			start = max(0, p-(rank+1))
			cmd.After, cmd.From = "", p-start+1
		} else {
			start = max(0, p-rank)
			cmd.Before, cmd.To = "", p-start
		}
	}
	window := match[start:min(len(match), start+cmd.N)]
	keys := make([]string, len(window))
	for i, ev := range window {
		keys[i] = pageKey(fmt.Sprintf("%07d", i), fmt.Sprintf("%020d", math.MaxInt64-ev.Time.UnixNano()), fmt.Sprintf("%06d", ties[start+i]))
	}
	return window, keys, cmd, nil
}

// parseAuditKey reads a decoded page key of auditWindow: the row's rank,
// its time (Unix ns) and its place among equal times.
func parseAuditKey(k string) (rank int, at int64, tie int, ok bool) {
	f := strings.Split(k, "\x00")
	if len(f) != 3 {
		return 0, 0, 0, false
	}
	rank, err1 := strconv.Atoi(f[0])
	inv, err2 := strconv.ParseInt(f[1], 10, 64)
	tie, err3 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || err3 != nil || rank < 0 || inv < 0 || tie < 0 {
		return 0, 0, 0, false
	}
	return rank, math.MaxInt64 - inv, tie, true
}
