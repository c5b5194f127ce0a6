package watch

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
)

// verdict is what one rule says of one site's reading.
type verdict struct {
	// known is false when the reading cannot tell (the site, a node or an
	// engine did not answer and nothing fires): the alert's state stays
	// as it is, neither fired nor resolved on missing data.
	known  bool
	detail *Detail // nil: not firing
}

// streaks counts, per site and node, the samples in a row a node did not
// answer. Only the watcher's goroutine uses it.
type streaks map[string]int

func streakKey(site, host string) string { return site + "\x00" + host }

// siteStreak is the key of a site that did not answer at all.
func siteStreak(site string) string { return streakKey(site, "") }

// update counts one reading.
func (s streaks) update(r Reading) {
	if r.Err != nil {
		s[siteStreak(r.Site)]++
		return
	}
	delete(s, siteStreak(r.Site))
	for _, n := range r.Nodes {
		k := streakKey(r.Site, n.Host)
		if n.Down() {
			s[k]++
		} else {
			delete(s, k)
		}
	}
}

// evalRule applies rule r to one site's reading.
func evalRule(r authz.AlertRule, rd Reading, st streaks) verdict {
	switch r.Type {
	case authz.AlertNodeDown:
		return nodeDown(r, rd, st)
	}
	if rd.Err != nil {
		return verdict{}
	}
	switch r.Type {
	case authz.AlertUserSessions:
		return userSessions(r, rd)
	case authz.AlertEngine:
		return engineBusy(r, rd)
	case authz.AlertProxySessions:
		return proxySessions(r, rd)
	}
	return verdict{}
}

// firing wraps items as a verdict: firing with them, or clear, or unknown
// when nothing fires on a partial reading.
func firing(items []Item, partial bool, d Detail) verdict {
	if len(items) == 0 {
		return verdict{known: !partial}
	}
	if len(items) > maxItems {
		items = items[:maxItems]
	}
	d.Items = items
	return verdict{known: true, detail: &d}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return strconv.Itoa(n) + " " + word[:len(word)-1] + "ies"
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func partialProxies(rd Reading) bool {
	return slices.ContainsFunc(rd.Proxies, func(p ProxyCount) bool { return !p.Answered })
}

func userSessions(r authz.AlertRule, rd Reading) verdict {
	var items []Item
	for _, u := range rd.Users {
		if u.Sessions < r.Sessions {
			break // most first
		}
		if !slices.ContainsFunc(u.Proxies, func(l string) bool { return r.WatchesProxy(PrefixOf(l)) }) {
			continue
		}
		items = append(items, Item{Key: u.User.String(), User: u.User.String(),
			Cells: []string{u.User.String(), strconv.Itoa(u.Sessions), strings.Join(u.Proxies, ", ")}})
	}
	d := Detail{Type: r.Type, Columns: []string{"User", "Sessions", "Virtual proxies"},
		Summary: fmt.Sprintf("%s at or above %d sessions on site %s", plural(len(items), "user"), r.Sessions, rd.Site)}
	return firing(items, partialProxies(rd), d)
}

func nodeDown(r authz.AlertRule, rd Reading, st streaks) verdict {
	d := Detail{Type: r.Type, Columns: []string{"Node", "Host", "Not answering", "Samples in a row"}}
	if rd.Err != nil {
		n := st[siteStreak(rd.Site)]
		if n < r.Samples {
			return verdict{} // not yet: the site's nodes are unknown meanwhile
		}
		d.Summary = fmt.Sprintf("site %s is not answering", rd.Site)
		return firing([]Item{{Key: "(site)", Why: "site", Cells: []string{"(the site)", "", clipText(rd.Err.Error(), 120), strconv.Itoa(n)}}}, false, d)
	}
	var items []Item
	for _, n := range rd.Nodes {
		c := st[streakKey(rd.Site, n.Host)]
		if !n.Down() || c < r.Samples {
			continue
		}
		var what []string
		if n.ProxyPairs > 0 && n.ProxyFails == n.ProxyPairs {
			what = append(what, "proxy")
		}
		if n.HasEngine && n.Engine == nil {
			what = append(what, "engine")
		}
		items = append(items, Item{Key: n.Host, Why: strings.Join(what, "+"),
			Cells: []string{n.Name, n.Host, strings.Join(what, " and "), strconv.Itoa(c)}})
	}
	d.Summary = fmt.Sprintf("%s not answering on site %s", plural(len(items), "node"), rd.Site)
	return firing(items, false, d)
}

func engineBusy(r authz.AlertRule, rd Reading) verdict {
	var items []Item
	partial := false
	for _, n := range rd.Nodes {
		if !n.HasEngine {
			continue
		}
		h := n.Engine
		if h == nil {
			partial = true
			continue
		}
		var why []string
		if r.Saturated && h.Saturated {
			why = append(why, "saturated")
		}
		if r.CPUAbove > 0 && h.CPU > r.CPUAbove {
			why = append(why, "cpu")
		}
		free := 100.0
		if h.Mem.TotalPhysical > 0 {
			free = 100 * h.Mem.Free / h.Mem.TotalPhysical
		}
		if r.MemFreeBelow > 0 && free < r.MemFreeBelow {
			why = append(why, "memory")
		}
		if len(why) == 0 {
			continue
		}
		sat := "no"
		if h.Saturated {
			sat = "yes"
		}
		items = append(items, Item{Key: n.Host, Why: strings.Join(why, "+"),
			Cells: []string{n.Name, strconv.FormatFloat(h.CPU, 'f', 1, 64), strconv.FormatFloat(free, 'f', 1, 64) + "%", sat, strings.Join(why, ", ")}})
	}
	var limits []string
	if r.Saturated {
		limits = append(limits, "saturated")
	}
	if r.CPUAbove > 0 {
		limits = append(limits, "CPU above "+strconv.FormatFloat(r.CPUAbove, 'f', -1, 64)+"%")
	}
	if r.MemFreeBelow > 0 {
		limits = append(limits, "free memory below "+strconv.FormatFloat(r.MemFreeBelow, 'f', -1, 64)+"%")
	}
	d := Detail{Type: r.Type, Columns: []string{"Node", "CPU %", "Free memory", "Saturated", "Why"},
		Summary: fmt.Sprintf("%s %s on site %s", plural(len(items), "engine"), strings.Join(limits, " or "), rd.Site)}
	return firing(items, partial, d)
}

func proxySessions(r authz.AlertRule, rd Reading) verdict {
	type total struct {
		label   string
		n       int
		perNode []string
	}
	var ts []*total
	byLabel := map[string]*total{}
	for _, p := range rd.Proxies {
		if !r.WatchesProxy(p.Prefix) {
			continue
		}
		t := byLabel[p.Label]
		if t == nil {
			t = &total{label: p.Label}
			byLabel[p.Label] = t
			ts = append(ts, t)
		}
		t.n += p.Sessions
		t.perNode = append(t.perNode, p.Node+" "+strconv.Itoa(p.Sessions))
	}
	var items []Item
	for _, t := range ts {
		if t.n > r.Above {
			items = append(items, Item{Key: t.label, Cells: []string{t.label, strconv.Itoa(t.n), strings.Join(t.perNode, ", ")}})
		}
	}
	d := Detail{Type: r.Type, Columns: []string{"Virtual proxy", "Sessions", "Per node"},
		Summary: fmt.Sprintf("%s with more than %d sessions on site %s", plural(len(items), "virtual proxy"), r.Above, rd.Site)}
	return firing(items, partialProxies(rd), d)
}

// clipText shortens s to n bytes at a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
