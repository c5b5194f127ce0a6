// Package bottest holds what the renderers' tests share: long lists shaped
// like the replies of the commands package (sessions, users, proxies,
// audit, an approval request and its outcome), and paging through them as the commands package does, so each
// platform's render checks run on the same material.
package bottest

import (
	"fmt"
	"strings"

	"github.com/qlikbot/qlikbot/bot"
)

// List is a long list as commands pages it: the reply around the table,
// the rows, and the menus for the rows of a page.
type List struct {
	Name     string
	Reply    bot.Reply // title, facts, warnings, chart and menus around the table
	Columns  []string
	Rows     [][]string
	RowMenus func(rows [][]string) []bot.Menu // nil: no per-row menus
	// Command is what Previous and Next run, with --to and --from; ""
	// is Name.
	Command string
	// FirstButtons are the buttons of the first page, before Next: an
	// approval request's Approve and Reject (its other pages are views).
	FirstButtons []bot.Button
}

// Lists returns the sessions, users, proxies, audit, approval request and
// approval outcome lists with n rows each. Some columns are empty on
// every row (as "User name" and "Attributes" often are), cells vary in
// length, and names carry the characters that need escaping on some
// platform.
func Lists(n int) []List {
	return []List{sessions(n), users(n), proxies(n), audit(n), approval(n), outcome(n)}
}

var vps = []string{"finance", "(default)", "win", "hdr (X-Qlik-Session-hdr)", "sales", "api"}

func sessions(n int) List {
	l := List{Name: "sessions", Columns: []string{"Virtual proxy", "Node", "User", "User name", "Attributes", "Session"}}
	perVP := map[string]int{}
	for i := range n {
		vp := vps[i%len(vps)]
		perVP[vp]++
		l.Rows = append(l.Rows, []string{vp, fmt.Sprintf("node%d", i%3+1), user(i), "", "", fmt.Sprintf("s%06d …%04x", i, i*7919%65536)})
	}
	l.Reply = bot.Reply{Kind: bot.Info, Title: "Sessions", Visibility: bot.InChannel,
		Facts:    []bot.Fact{{Label: "Total sessions", Value: fmt.Sprint(n)}, {Label: "Central (pro2-win1.lab.ptarmiganlabs.net)", Value: fmt.Sprint(n)}},
		Warnings: []string{`Virtual proxy mobile (Mobile, cookie X-Qlik-Session-mob) is not linked to any proxy: it can hold no sessions`},
		Chart:    &bot.Chart{Title: "Sessions per virtual proxy"},
		Menus:    []bot.Menu{proxyMenu("sessions")},
	}
	for _, vp := range vps {
		if perVP[vp] > 0 {
			l.Reply.Chart.Points = append(l.Reply.Chart.Points, bot.Point{Label: vp, Value: float64(perVP[vp])})
		}
	}
	return l
}

func users(n int) List {
	l := List{Name: "users", Columns: []string{"User", "User name", "Sessions", "Virtual proxies", "Note"}}
	for i := range n {
		count, note := i%5+1, ""
		if count == 5 {
			note = "at the access-pass limit of 5"
		}
		l.Rows = append(l.Rows, []string{user(i), fmt.Sprintf("Test <User> & %d", i), fmt.Sprint(count), strings.Join(vps[:i%4+1], ", "), note})
	}
	l.Reply = bot.Reply{Kind: bot.Info, Title: "Users by session count", Visibility: bot.InChannel,
		Facts: []bot.Fact{{Label: "Users", Value: fmt.Sprintf("%d, sessions: %d", n, 3*n)}, {Label: "At the access-pass limit of 5 sessions", Value: fmt.Sprint(n / 5)}},
		Menus: []bot.Menu{proxyMenu("users")},
	}
	l.RowMenus = func(rows [][]string) []bot.Menu {
		m := bot.Menu{Label: "Kick a user", Placeholder: "Choose a user to log out", ActionID: "qlik.run"}
		for _, r := range rows {
			m.Options = append(m.Options, bot.Option{Label: r[0] + " (" + r[2] + " sessions)", Value: `kick --user ` + r[0]})
		}
		return []bot.Menu{m}
	}
	return l
}

func proxies(n int) List {
	l := List{Name: "proxies", Columns: []string{"Prefix", "Description", "Cookie header", "Linked nodes", "Load balancing"}}
	for i := range n {
		p := fmt.Sprintf("vp%d", i)
		l.Rows = append(l.Rows, []string{p, "Virtual proxy number " + fmt.Sprint(i) + strings.Repeat(" with a longer description", i%3),
			"X-Qlik-Session-" + p, "Central, dev1", "Central"})
	}
	l.Reply = bot.Reply{Kind: bot.Info, Title: "Virtual proxies", Visibility: bot.InChannel,
		Facts: []bot.Fact{{Label: "Nodes", Value: "2"}, {Label: "Virtual proxies", Value: fmt.Sprintf("%d (0 unlinked)", n)}}}
	return l
}

func audit(n int) List {
	l := List{Name: "audit", Columns: []string{"Time (UTC)", "Platform", "User", "Channel", "Action", "Decision", "Target", "Outcome"}}
	for i := range n {
		l.Rows = append(l.Rows, []string{fmt.Sprintf("2026-11-22 09:%02d:%02d", i/60%60, i%60), "slack", fmt.Sprintf("slack:U%07d (lead)", i), "C0OPS",
			"decision", "allowed", "kick finance [approval 3af6e3d85bc85c2627a4f8fd1570db60]",
			"list: 29 virtual proxies, 31 (virtual proxy, node) pairs allowed, 0 refused" + strings.Repeat("; and a long reason", i%4)})
	}
	l.Reply = bot.Reply{Kind: bot.Info, Title: "Audit trail", Summary: []string{fmt.Sprintf("Most recent %d events, newest first", n)}}
	return l
}

// approvalID is the id of the approval lists.
const approvalID = "3af6e3d85bc85c2627a4f8fd1570db60"

// approval is an approval request of n sessions, as commands asks for it.
func approval(n int) List {
	l := List{Name: "approval", Command: "approval " + approvalID, Columns: []string{"Virtual proxy", "Node", "User", "User name", "Session"}}
	for i := range n {
		l.Rows = append(l.Rows, []string{vps[i%len(vps)], fmt.Sprintf("node%d", i%3+1), user(i), "", handle(i)})
	}
	what := fmt.Sprintf("end %d sessions on finance, (default), win, hdr, sales, api on site prod", n)
	l.Reply = bot.Reply{Kind: bot.Pending, Title: "Approval needed: " + what, Visibility: bot.InChannel,
		Summary: []string{
			`Requested by Lee <Lead> & co (slack:U0LEAD): /qlik kick finance --proxy pro2-win1.lab.ptarmiganlabs.net --site prod`,
			"Someone else with the approve right clicks Approve (or types /qlik approve " + approvalID + "); expires in 30 min (2026-12-02 06:56:54 UTC).",
			"Only the sessions listed here are ended.",
		},
		Warnings: []string{"Not included: 3 (virtual proxy, node) places where you may not kick"},
	}
	l.FirstButtons = []bot.Button{
		{Label: "Approve", ActionID: "qlik.approve", Value: approvalID, Style: bot.Primary, Confirm: "End " + what + "?"},
		{Label: "Reject", ActionID: "qlik.reject", Value: approvalID, Style: bot.Danger},
	}
	return l
}

// outcome is the outcome of an approved request of n sessions.
func outcome(n int) List {
	l := List{Name: "outcome", Command: "approval " + approvalID, Columns: []string{"Virtual proxy", "Node", "User", "User name", "Session", "Outcome"}}
	for i := range n {
		o := "deleted"
		switch i % 7 {
		case 3:
			o = "already gone"
		case 5:
			o = "failed: Qlik answered 503 Service Unavailable on pro2-win1.lab.ptarmiganlabs.net"
		}
		l.Rows = append(l.Rows, []string{vps[i%len(vps)], fmt.Sprintf("node%d", i%3+1), user(i), fmt.Sprintf("Test <User> & %d", i), handle(i), o})
	}
	l.Reply = bot.Reply{Kind: bot.Warning, Title: fmt.Sprintf("Approved: end %d sessions on finance on site prod", n), Visibility: bot.InChannel, ReplaceOriginal: true,
		Summary: []string{
			"Approved by Ada (slack:U0ADMIN); requested by Lee <Lead> & co (slack:U0LEAD)",
			fmt.Sprintf("Deleted %d, already gone %d, failed %d", n-2*(n/7), n/7, n/7),
			"Already gone: the session had ended before the delete reached it (logged out or timed out); nothing left to do.",
		},
		Warnings: []string{fmt.Sprintf("%d sessions could not be ended; see the table. The operators have the details in the log (request 01JDQ4Z5X8).", n/7)},
	}
	return l
}

// handle is a session handle of the approval lists: 8 hex digits, 12
// where two would share them.
func handle(i int) string {
	h := fmt.Sprintf("%08x", uint32(i)*2654435761)
	if i%50 == 7 {
		h += fmt.Sprintf("%04x", i)
	}
	return h
}

func user(i int) string { return fmt.Sprintf(`LAB\testuser_%d`, i) }

func proxyMenu(verb string) bot.Menu {
	m := bot.Menu{Label: "Show one virtual proxy", Placeholder: "Choose a virtual proxy", ActionID: "qlik.run"}
	for _, vp := range vps {
		p := strings.Fields(vp)[0]
		m.Options = append(m.Options, bot.Option{Label: vp, Value: verb + " " + strings.Trim(p, "()")})
	}
	return m
}

// Page is one page of a list and the reply that shows it.
type Page struct {
	First, Last int
	Reply       bot.Reply
}

// Pages pages through l as the commands package does, from the first row
// by Next: each page is fitted with fit (a platform's bot.Request.Fit) to
// at most size rows, with its Previous/Next buttons and the kick menu of
// its rows.
func (l List) Pages(fit func(bot.Reply) int, size int) []Page {
	req := bot.Request{Fit: fit}
	var out []Page
	for at := 0; ; {
		first, last := bot.FitPage(len(l.Rows), at, size, false, func(first, last int) int {
			return req.FitRows(l.Page(first, last))
		})
		out = append(out, Page{First: first, Last: last, Reply: l.Page(first, last)})
		if last >= len(l.Rows) || last == at {
			return out
		}
		at = last
	}
}

// Page is the reply showing the rows [first, last) of l.
func (l List) Page(first, last int) bot.Reply {
	r := l.Reply
	r.Table = &bot.Table{Columns: l.Columns, Rows: l.Rows[first:last:last], Offset: first, TotalRows: len(l.Rows)}
	if l.RowMenus != nil {
		r.Menus = append(append([]bot.Menu(nil), l.Reply.Menus...), l.RowMenus(l.Rows[first:last])...)
	}
	r.Buttons = nil
	if first == 0 {
		r.Buttons = append(r.Buttons, l.FirstButtons...)
	}
	if first == 0 && last == len(l.Rows) {
		return r
	}
	r.Files = []bot.File{{Name: l.Name + ".csv", Type: "text/csv", Data: bot.TableCSV(&bot.Table{Columns: l.Columns, Rows: l.Rows[:min(len(l.Rows), 3)]})}}
	cmd := l.Command
	if cmd == "" {
		cmd = l.Name
	}
	if first > 0 {
		r.Buttons = append(r.Buttons, bot.Button{Label: "Previous page", ActionID: "qlik.run", Value: fmt.Sprintf("%s --to %d", cmd, first)})
	}
	if last < len(l.Rows) {
		r.Buttons = append(r.Buttons, bot.Button{Label: "Next page", ActionID: "qlik.run", Value: fmt.Sprintf("%s --from %d", cmd, last+1)})
	}
	return r
}
