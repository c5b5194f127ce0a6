package commands

import (
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/bot"
)

// Paging. A page is a run of rows starting at a row offset (Next: --from)
// or ending just before one (Previous: --to). It holds at most the page
// size, and as many of those as the platform shows in one message
// (bot.Request.Fit), so Next starts exactly at the first row not shown and
// Previous ends exactly before the first row shown: a platform limit makes
// a page shorter, it never hides a row.

// Live lists (sessions) page by key rather than by row number: Next
// carries the sort key of the last row shown (--after), Previous that of
// the first (--before), each ending in the row's handle as the tie-break,
// never a full id. The next page starts at the first row past that key in
// the list as it is now, so a session that ends (or starts) above the page
// edge between clicks neither skips nor repeats a row. A key is opaque to
// the reader: base64url of the key's fields.

// maxRow bounds --from and --to: far above any list a site can hold.
const maxRow = 10_000_000

// maxKeyLen bounds a decoded page key (--after, --before).
const maxKeyLen = 1024

// pageKey is a row's sort key from its sort fields (compared in order,
// as strings) and its handle: the fields joined by a byte no field holds,
// so that comparing keys compares the fields in order.
func pageKey(fields ...string) string {
	for i, f := range fields {
		fields[i] = strings.ReplaceAll(f, "\x00", "")
	}
	return strings.Join(fields, "\x00")
}

func encodePageKey(k string) string { return base64.RawURLEncoding.EncodeToString([]byte(k)) }

func (c *Command) setKey(name, val string) error {
	k, err := base64.RawURLEncoding.DecodeString(val)
	if err != nil || len(k) == 0 || len(k) > maxKeyLen || !utf8.Valid(k) || !validKey(c.Verb, string(k)) {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf("--%s: not a page key (the Next and Previous buttons give one)", name)}
	}
	if name == "after" {
		c.After = val
	} else {
		c.Before = val
	}
	return nil
}

// validKey checks the shape of a decoded page key of verb: a sessions key
// is a site's number, the five sort fields and a handle, never longer
// than handleMax (so no full session id; see sessions);
// an audit key, what parseAuditKey reads. A hand-typed key of another
// shape is a usage mistake, not a place in the list.
func validKey(verb, k string) bool {
	switch verb {
	case VerbSessions:
		f := strings.Split(k, "\x00")
		return len(f) == 7 && len(f[0]) == 4 && isDigits(f[0]) && len(f[6]) <= handleMax
	case VerbAudit:
		_, _, _, ok := parseAuditKey(k)
		return ok
	}
	return false
}

func isDigits(s string) bool { return strings.Trim(s, "0123456789") == "" }

// keyAt is where a keyed page begins (after) or ends (before) in rows
// sorted by keys; ok is false when cmd names no key or the list has none.
func keyAt(cmd Command, keys []string) (at int, backward, ok bool) {
	if keys == nil {
		return 0, false, false
	}
	if k, err := base64.RawURLEncoding.DecodeString(cmd.After); err == nil && cmd.After != "" {
		return sort.Search(len(keys), func(i int) bool { return keys[i] > string(k) }), false, true
	}
	if k, err := base64.RawURLEncoding.DecodeString(cmd.Before); err == nil && cmd.Before != "" {
		return sort.Search(len(keys), func(i int) bool { return keys[i] >= string(k) }), true, true
	}
	return 0, false, false
}

func (c *Command) setRow(name, val string) error {
	n, err := strconv.Atoi(val)
	if err != nil || n < 1 || n > maxRow {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf("--%s %q: give a row number from 1 to %d", name, clip(val), maxRow)}
	}
	if name == "from" {
		c.From = n
	} else {
		c.To = n
	}
	return nil
}

// validRows checks the row flags: in range, on a paged command, and one
// way of choosing a page at a time.
func (c Command) validRows(s spec) error {
	bad := func(format string, a ...any) error {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf(format, a...)}
	}
	set := 0
	for _, v := range []bool{c.Page != 0, c.From != 0, c.To != 0, c.After != "", c.Before != ""} {
		if v {
			set++
		}
	}
	switch {
	case c.From < 0 || c.From > maxRow || c.To < 0 || c.To > maxRow:
		return bad("row number out of range")
	case (c.From != 0 && !s.flags["from"]) || (c.To != 0 && !s.flags["to"]) ||
		(c.After != "" && !s.flags["after"]) || (c.Before != "" && !s.flags["before"]):
		return bad("flag not valid for %s", c.Verb)
	case set > 1 && s.flags["after"]:
		return bad("give one of --page, --from, --to, --after and --before")
	case set > 1:
		return bad("give one of --page, --from and --to")
	}
	for name, v := range map[string]string{"after": c.After, "before": c.Before} {
		if v != "" {
			if err := (&Command{Verb: c.Verb}).setKey(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c Command) rowArgs(parts []string) []string {
	if c.From != 0 {
		parts = append(parts, "--from", strconv.Itoa(c.From))
	}
	if c.To != 0 {
		parts = append(parts, "--to", strconv.Itoa(c.To))
	}
	if c.After != "" {
		parts = append(parts, "--after", c.After)
	}
	if c.Before != "" {
		parts = append(parts, "--before", c.Before)
	}
	return parts
}

// paged reports whether c asks for a page other than the first.
func (c Command) paged() bool {
	return c.Page != 0 || c.From != 0 || c.To != 0 || c.After != "" || c.Before != ""
}

// rowMenus gives the menus that act on the rows [first, last) of a page,
// such as "Kick a user" for the users shown.
type rowMenus func(first, last int) []bot.Menu

// paginate puts one page of rows in r.Table (see paginateWith).
func (e *Engine) paginate(c *call, r *bot.Reply, cmd Command, cols []string, rows [][]string, file string) (int, int) {
	return e.paginateWith(c, r, cmd, cols, rows, file, nil)
}

// paginateWith pages a list by row number (see paginateKeyed).
func (e *Engine) paginateWith(c *call, r *bot.Reply, cmd Command, cols []string, rows [][]string, file string, menus rowMenus) (int, int) {
	return e.paginateKeyed(c, r, cmd, cols, rows, nil, file, menus)
}

// paginateWith puts in r.Table the page cmd asks for, cut to what the
// caller's platform shows in one message, with menus for its rows. When
// the list is longer than the page it adds the whole list as CSV and, for
// a command's list (cmd.Verb set), Previous/Next buttons; other lists (an
// approval's sessions, an outcome) are plain: their CSV holds every row.
// It returns the range [first, last) of rows shown. With keys (one per
// row, rows sorted by them: see pageKey) the buttons page by key.
func (e *Engine) paginateKeyed(c *call, r *bot.Reply, cmd Command, cols []string, rows [][]string, keys []string, file string, menus rowMenus) (int, int) {
	total := len(rows)
	base := *r
	base.Warnings = slices.Clip(slices.Clone(r.Warnings)) // decorate appends: never into a shared array
	size := e.pageSize
	at, backward := 0, false
	keyed, keyBack, hasKey := keyAt(cmd, keys)
	switch {
	case hasKey && !keyBack && keyed >= total && total > 0:
		base.Warnings = append(base.Warnings, "The rows after that page are gone; showing the last.")
		at, backward = total, true
	case hasKey && keyBack && keyed == 0:
		base.Warnings = append(base.Warnings, "The rows before that page are gone; showing the first.")
	case hasKey:
		at, backward = keyed, keyBack
	case cmd.To > 0:
		at, backward = cmd.To, true
	case cmd.From > total && total > 0:
		base.Warnings = append(base.Warnings, fmt.Sprintf("There are only %s; showing the last.", plural(total, "row")))
		at, backward = total, true
	case cmd.From > 0:
		at = cmd.From - 1
	case cmd.Page > 0 && total > 0:
		if pages := (total + size - 1) / size; cmd.Page > pages {
			base.Warnings = append(base.Warnings, fmt.Sprintf("There %s only %s of %d rows; showing the last.", isAre(pages), plural(pages, "page"), size))
			at, backward = total, true
		} else {
			at = (cmd.Page - 1) * size
		}
	}
	var csv *bot.File // made once, for the first candidate page that needs it
	page := func(first, last int) bot.Reply {
		p := e.decorate(base, cmd, cols, rows, keys, first, last, menus)
		if first > 0 || last < total {
			if csv == nil {
				csv = &bot.File{Name: file, Type: "text/csv", Data: bot.TableCSV(&bot.Table{Columns: cols, Rows: rows})}
			}
			p.Files = append(p.Files[:len(p.Files):len(p.Files)], *csv)
		}
		return p
	}
	first, last := bot.FitPage(total, at, size, backward, func(first, last int) int {
		return c.req.FitRows(page(first, last))
	})
	*r = page(first, last)
	return first, last
}

// decorate is base with the rows [first, last) as its table, the menus for
// those rows and the paging buttons that lead on from them.
func (e *Engine) decorate(base bot.Reply, cmd Command, cols []string, rows [][]string, keys []string, first, last int, menus rowMenus) bot.Reply {
	r := base
	r.Table = &bot.Table{Columns: cols, Rows: rows[first:last:last], Offset: first, TotalRows: len(rows)}
	if menus != nil {
		r.Menus = append(append([]bot.Menu(nil), base.Menus...), menus(first, last)...)
	}
	if cmd.Verb == "" || (first == 0 && last == len(rows)) {
		return r
	}
	r.Buttons = append([]bot.Button(nil), base.Buttons...)
	button := func(label string, page Command) {
		v := page.String()
		if len(v) >= 2000 {
			r.Warnings = appendFold(r.Warnings, "Command too long for paging buttons: add --from ROW to see other rows.")
			return
		}
		r.Buttons = append(r.Buttons, bot.Button{Label: label, ActionID: ActionRun, Value: v})
	}
	if first > 0 { // the page that ends just before this one's first row
		prev := cmd
		prev.Page, prev.From, prev.To, prev.After, prev.Before = 0, 0, first, "", ""
		if keys != nil {
			prev.To, prev.Before = 0, encodePageKey(keys[first])
		}
		button(prevLabel, prev)
	}
	if last < len(rows) { // the page that starts at the first row not shown
		next := cmd
		next.Page, next.From, next.To, next.After, next.Before = 0, last+1, 0, "", ""
		if keys != nil {
			next.From, next.After = 0, encodePageKey(keys[last-1])
		}
		button(nextLabel, next)
	}
	return r
}

const (
	prevLabel = "Previous page"
	nextLabel = "Next page"
)

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
