package commands

import (
	"regexp"
	"slices"
	"strings"
)

// A Qlik session id is the value of its user's session cookie: whoever
// holds it can use that session. So commands shows, logs and audits a
// handle instead: the id's lower-case hex digits without dashes, the
// first handleMin of them, lengthened by handleStep at a time (up to
// handleMax) only for the ids that would otherwise share a handle with
// another id of the same result. Full ids live only in the sealed
// approval snapshots of the store.
const (
	handleMin  = 8
	handleStep = 4
	handleMax  = 16
)

// normID is the form handles are cut from and matched against: lower-case,
// no dashes.
func normID(id string) string { return strings.ReplaceAll(strings.ToLower(id), "-", "") }

// handles gives each distinct session id of one result its handle. Build
// it over every row of the result (not just a page), so the page, the CSV
// and later pages agree.
type handles map[string]string // normID -> handle

func newHandles(ids []string) handles {
	ns := make([]string, 0, len(ids))
	for _, id := range ids {
		ns = append(ns, normID(id))
	}
	slices.Sort(ns)
	ns = slices.Compact(ns)
	h := make(handles, len(ns))
	for i, n := range ns {
		shared := 0 // longest prefix shared with another id: with a sorted list, a neighbour
		if i > 0 {
			shared = max(shared, commonPrefix(n, ns[i-1]))
		}
		if i+1 < len(ns) {
			shared = max(shared, commonPrefix(n, ns[i+1]))
		}
		l := handleMin
		for l <= shared && l < handleMax {
			l += handleStep
		}
		h[n] = n[:min(l, len(n))]
	}
	return h
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// of returns id's handle. An id the set was not built with gets the
// shortest handle: never the full id.
func (h handles) of(id string) string {
	n := normID(id)
	if s, ok := h[n]; ok {
		return s
	}
	return n[:min(handleMin, len(n))]
}

// validSessionRef reports whether ref (lower-case) names a session for
// delete: a full id, or its first 8 or more hex digits, with or without
// the dashes where a UUID has them.
func validSessionRef(ref string) bool {
	n := normID(ref)
	if len(n) < handleMin || len(n) > 32 || strings.HasSuffix(ref, "-") {
		return false
	}
	for i, r := range ref {
		switch {
		case r == '-':
			if i != 8 && i != 13 && i != 18 && i != 23 {
				return false
			}
		case !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f'):
			return false
		}
	}
	return true
}

// refLabel is how a session named on the command line is shown back: a
// full id as its handle in h, a shorter reference as typed, at most
// handleMax digits (what was typed may be most of an id).
func refLabel(h handles, ref string) string {
	n := normID(ref)
	if len(n) == 32 {
		return h.of(n)
	}
	return n[:min(len(n), handleMax)]
}

// idInTextRE finds session ids written as UUIDs in free text.
var idInTextRE = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// hexRunRE finds an id typed without dashes (32 hex digits, or most of
// them): 17 or more hex digits in a row.
var hexRunRE = regexp.MustCompile(`(?i)\b[0-9a-f]{17,32}\b`)

// redactIDs replaces every session id in s (a command line, an error
// text) by its handle, so nothing commands writes or logs holds one in
// full. Runs of 17 to 32 hex digits are cut to a handle too, except an
// approval id of keep: one the store knows (not a credential). Anything
// else typed after approve or reject may be a session id.
func redactIDs(s string, keep ...string) string {
	ids := idInTextRE.FindAllString(s, -1)
	kept := func(m string) bool { return slices.Contains(keep, strings.ToLower(m)) }
	runs := slices.DeleteFunc(hexRunRE.FindAllString(s, -1), kept)
	if len(ids) == 0 && len(runs) == 0 {
		return s
	}
	h := newHandles(append(slices.Clone(ids), runs...))
	s = idInTextRE.ReplaceAllStringFunc(s, h.of)
	return hexRunRE.ReplaceAllStringFunc(s, func(m string) string {
		if kept(m) {
			return m
		}
		return h.of(m)
	})
}
