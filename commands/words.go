package commands

// Words for people: suggestions for slips of the finger, plurals and
// durations.

import (
	"fmt"
	"strings"
	"time"
)

// suggest returns the candidate closest to word when it is close enough to
// be a slip of the finger (an edit distance of 1 for short words, 2 for
// longer ones, compared case-insensitively), else "".
func suggest(word string, candidates []string) string {
	w := []rune(strings.ToLower(word))
	limit := 1
	if len(w) > 4 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(w, []rune(strings.ToLower(c))); d < bestD && d > 0 {
			best, bestD = c, d
		}
	}
	return best
}

// didYouMean is "; did you mean X?" for a close candidate, else "".
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return "; did you mean " + s + "?"
	}
	return ""
}

// editDistance is the Levenshtein distance with adjacent swaps counting
// as one edit (the commonest typing slip).
func editDistance(a, b []rune) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// durationWords writes a duration for people: "30 min", "2 h", "1 h 30 min",
// "45 s", "2 days".
func durationWords(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d days", int(d.Round(24*time.Hour)/(24*time.Hour)))
}

// plural is "1 session", "2 sessions"; a word ending in y or x takes
// "ies" or "es" ("1 virtual proxy", "2 virtual proxies").
func plural(n int, word string) string {
	if n != 1 {
		switch {
		case strings.HasSuffix(word, "y"):
			word = strings.TrimSuffix(word, "y") + "ie"
		case strings.HasSuffix(word, "x"):
			word += "e"
		}
	}
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
