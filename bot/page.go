package bot

// FitPage finds the rows [first, last) of one page of a list of total rows:
// the page starts at row at (or, when backward, ends just before row at)
// and holds up to size rows, as many as one message shows. fit(first,
// last) answers how many leading rows of the candidate page [first, last)
// fit, with everything the message would hold for exactly that range (its
// menus, its Previous/Next buttons); the candidate shrinks until all of it
// fits. So a page is exactly what is shown: Next can start at last and
// Previous end at first without skipping a row. fit is held to at least
// one row, so paging always moves on.
func FitPage(total, at, size int, backward bool, fit func(first, last int) int) (first, last int) {
	at = min(max(at, 0), total)
	size = max(size, 1)
	if backward {
		first, last = max(0, at-size), at
	} else {
		first, last = at, min(at+size, total)
	}
	for last > first {
		n := min(max(fit(first, last), 1), last-first)
		if n == last-first {
			break
		}
		if backward {
			first = last - n
		} else {
			last = first + n
		}
	}
	return first, last
}
