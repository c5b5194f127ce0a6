package commands

import (
	"slices"
	"strings"

	"github.com/qlikbot/qlikbot/bot"
)

// spec describes one verb: its flags, whether it takes prefixes, its
// forms and help text. Help lines are kept under 100 columns (a console
// line, with the reply's "[console:name] " prefix on the first): forms and
// details are one short line each, and the overview table holds the short
// form and the one-line summary only.
type spec struct {
	flags    map[string]bool
	prefixes bool
	forms    []string // the full forms, one per line
	short    string   // the form in the overview ("kick PREFIX | --user DIR\ID")
	summary  string   // one line, at most 60 columns
	details  []string
	examples []string
}

// form is the verb's forms on one line (usage errors).
func (s spec) form() string { return strings.Join(s.forms, " | ") }

// flagNames lists the verb's flags as typed (--proxy ...), sorted.
func (s spec) flagNames() []string {
	out := make([]string, 0, len(s.flags))
	for f := range s.flags {
		out = append(out, "--"+f)
	}
	slices.Sort(out)
	return out
}

// siteFlag is the flags of a verb that takes --site alone.
var siteFlag = map[string]bool{"site": true}

var verbOrder = []string{VerbSessions, VerbUsers, VerbProxies, VerbHealth, VerbTrend, VerbAlerts, VerbSubscribe, VerbUnsubscribe, VerbDelete, VerbKick, VerbApprove, VerbReject, VerbApproval, VerbJobs, VerbAudit, VerbWhoami, VerbHelp}

var specs = map[string]spec{
	VerbHelp: {
		forms:    []string{"help [COMMAND]"},
		short:    "help [COMMAND]",
		summary:  "this help, or the help of one command",
		examples: []string{"help", "help kick"},
	},
	VerbSessions: {
		flags:    map[string]bool{"proxy": true, "user": true, "sort": true, "page": true, "from": true, "to": true, "after": true, "before": true, "site": true},
		prefixes: true,
		forms:    []string{`sessions [PREFIX ...] [--proxy HOST ...] [--user DIR\ID] [--sort FIELD] [--page N]`},
		short:    "sessions [PREFIX ...] [flags]",
		summary:  "who is connected, per virtual proxy and node",
		details: []string{
			"PREFIX is a virtual proxy prefix. The default virtual proxy (no prefix) is written default,",
			"\"\" or -; a virtual proxy literally named default is =default. No PREFIX: all you may see.",
			"--proxy limits the nodes: a host name or a node name as proxies shows them (e.g. dev1).",
			"--sort: prefix (default), proxyhost, proxyname, userdir, userid, username.",
			"Each session shows its handle (the first 8 or more hex digits of its id), never the id.",
			"Long lists come a page at a time, with the full list as CSV; Next and Previous page by key",
			"(--after KEY, --before KEY), so sessions ending between clicks neither skip nor repeat a row.",
			"--site NAME: one Qlik Sense site; without it, every site you may see, with a Site column.",
		},
		examples: []string{"sessions finance", "sessions default win --sort userid", `sessions --user LAB\testuser_1`, "sessions --site test"},
	},
	VerbUsers: {
		flags:    map[string]bool{"min": true, "page": true, "from": true, "to": true, "site": true},
		prefixes: true,
		forms:    []string{"users [PREFIX ...] [--min N] [--page N]"},
		short:    "users [PREFIX ...] [--min N]",
		summary:  "users by session count; flags the 5-session limit",
		details: []string{
			"Flags users at the access-pass limit of 5 sessions. --min N shows users with N or more.",
			"The Kick a user menu offers the users of the page you may log out.",
			"--site NAME: one Qlik Sense site; without it, every site you may see (counted per site).",
		},
		examples: []string{"users", "users finance --min 3"},
	},
	VerbProxies: {
		flags:    map[string]bool{"page": true, "from": true, "to": true, "site": true},
		forms:    []string{"proxies [--site NAME]"},
		short:    "proxies",
		summary:  "nodes, virtual proxies, links, warnings",
		examples: []string{"proxies"},
	},
	VerbHealth: {
		flags:   map[string]bool{"page": true, "from": true, "to": true, "site": true},
		forms:   []string{"health [NODE ...] [--site NAME]"},
		short:   "health [NODE ...]",
		summary: "engine health per node: CPU, memory, sessions",
		details: []string{
			"One row per engine node: answering, version, up since, CPU, memory, sessions, users, apps",
			"loaded, saturated; warnings for a node down, saturated, busy or short of memory.",
			"NODE is a host name or a node name (Central); none: every engine node.",
			"--site NAME: one Qlik Sense site; without it, every site you may see.",
		},
		examples: []string{"health", "health Central", "health --site test"},
	},
	VerbDelete: {
		flags:    siteFlag,
		prefixes: true,
		forms:    []string{"delete PREFIX SESSION ..."},
		short:    "delete PREFIX SESSION ...",
		summary:  "end named sessions of one virtual proxy",
		details: []string{
			"SESSION is a session's handle as lists show it (8 or more hex digits) or its full id.",
			"It is looked up on every node of the virtual proxy, among the sessions you may end.",
			"If one is not found or could be more than one session, nothing at all is ended.",
			"--site NAME: the Qlik Sense site; without it, the default site.",
		},
		examples: []string{"delete finance 55142b14"},
	},
	VerbKick: {
		flags:    map[string]bool{"proxy": true, "user": true, "site": true},
		prefixes: true,
		forms:    []string{"kick PREFIX [--proxy HOST ...]", `kick --user DIR\ID [PREFIX ...] [--proxy HOST ...]`},
		short:    `kick PREFIX | kick --user DIR\ID`,
		summary:  "end every session on a virtual proxy, or log a user out",
		details: []string{
			"Needs a second person's approval: someone else with the approve right clicks Approve;",
			"you or an approver may Reject. Unanswered requests expire.",
			"The sessions you see when you ask are the ones ended: later sessions are not touched.",
			"Without PREFIX, kick --user acts on every virtual proxy where you may log users out.",
			"--site NAME: the Qlik Sense site; without it, the default site.",
		},
		examples: []string{"kick finance", "kick finance --proxy dev1", `kick --user LAB\testuser_1`},
	},
	VerbApprove: {
		flags:   siteFlag,
		forms:   []string{"approve APPROVAL_ID"},
		short:   "approve APPROVAL_ID",
		summary: "approve a request by its id, as its button does",
		details: []string{
			"The id is on the approval request. The button's rules apply:",
			"the approve right on every place of the request, and not your own request.",
		},
		examples: []string{"approve 3af6e3d85bc85c2627a4f8fd1570db60"},
	},
	VerbReject: {
		flags:    siteFlag,
		forms:    []string{"reject APPROVAL_ID"},
		short:    "reject APPROVAL_ID",
		summary:  "reject a request by its id, as its button does",
		examples: []string{"reject 3af6e3d85bc85c2627a4f8fd1570db60"},
	},
	VerbApproval: {
		flags:   map[string]bool{"page": true, "from": true, "to": true},
		forms:   []string{"approval APPROVAL_ID [--page N | --from ROW | --to ROW]"},
		short:   "approval APPROVAL_ID",
		summary: "an approval request's sessions, or its outcome, by page",
		details: []string{
			"What the Next and Previous buttons of an approval request and of its outcome run; the",
			"page is shown to you only. Once approved, it shows the outcome so far, session by session.",
			"You may see it if you asked for it, or hold list or approve on every place it covers.",
		},
		examples: []string{"approval 3af6e3d85bc85c2627a4f8fd1570db60 --page 2"},
	},
	VerbJobs: {
		forms:   []string{"jobs"},
		short:   "jobs",
		summary: "approved work running or interrupted (needs the audit right)",
		details: []string{
			"An approved kick runs as a job recorded in the state store: if qlikbot stops or crashes",
			"half-way, it goes on by itself once its lease lapses (on restart or on another replica).",
			"Lists each job's progress, whether it runs now or waits to be resumed, and how soon it is.",
		},
		examples: []string{"jobs"},
	},
	VerbAudit: {
		flags:   map[string]bool{"user": true, "action": true, "since": true, "page": true, "from": true, "to": true, "after": true, "before": true, "site": true},
		forms:   []string{"audit [N] [--user WHO] [--action ACTION] [--since WHEN]"},
		short:   "audit [N] [filters]",
		summary: "recent actions (needs the audit right everywhere)",
		details: []string{
			"The N most recent events (default 20, at most 200), newest first, one row per command.",
			"--user: a subject (slack:U0LEAD), an id, a name or a person of the policy.",
			"--action: command, request-approval, approve, reject, expire, delete, tamper, outcome (what went",
			"wrong after a command's row was written), or a command (kick, sessions ...). Reads of the audit",
			"trail itself are left out unless --action audit.",
			"--since: 30m, 2h, 7d, a date (2026-11-22, UTC) or an RFC 3339 time.",
		},
		examples: []string{"audit", "audit 50 --action delete --since 2h", "audit --user lead"},
	},
	VerbWhoami: {
		flags:    siteFlag,
		forms:    []string{"whoami"},
		short:    "whoami",
		summary:  "your ids, roles and where they apply",
		examples: []string{"whoami"},
	},
	VerbTrend: {
		flags:    map[string]bool{"since": true, "by": true, "site": true},
		prefixes: true,
		forms:    []string{"trend [PREFIX ...] [--since 24h|7d] [--by proxy|node] [--site NAME]"},
		short:    "trend [PREFIX ...] [flags]",
		summary:  "a chart of sessions over time, from the watcher",
		details: []string{
			"A line chart (PNG) of the sessions per virtual proxy (--by node: per node) that the watcher",
			"sampled, the busiest named in the legend, with their figures as a table.",
			"PREFIX keeps those virtual proxies; none: every one you may see. --since: 30m, 24h (default),",
			"7d, a date or a time. Past 24 h the points are 5-minute peaks. --site: one site (default one).",
		},
		examples: []string{"trend", "trend finance --since 7d", "trend --by node"},
	},
	VerbAlerts: {
		flags:   map[string]bool{"page": true, "from": true, "to": true, "site": true},
		forms:   []string{"alerts [--site NAME]"},
		short:   "alerts",
		summary: "the watcher's alerts: firing, resolved, silenced",
		details: []string{
			"Alerts firing and resolved lately, the silences, the rules and this channel's subscription.",
			"Alerts of a site show to those who may list every virtual proxy of it.",
		},
		examples: []string{"alerts", "alerts --site test"},
	},
	VerbSubscribe: {
		forms:   []string{"subscribe [RULE ...]"},
		short:   "subscribe [RULE ...]",
		summary: "post the watcher's alerts in this channel",
		details: []string{
			"This channel gets the alerts of the rules named (none: every rule), posted when they fire,",
			"updated while they fire, marked resolved. Subscribing again replaces the rules.",
			"Needs the subscribe right. /qlik alerts lists the rules.",
		},
		examples: []string{"subscribe", "subscribe session-limit node-down"},
	},
	VerbUnsubscribe: {
		forms:    []string{"unsubscribe"},
		short:    "unsubscribe",
		summary:  "stop posting alerts in this channel",
		examples: []string{"unsubscribe"},
	},
}

// help answers "help" and "help COMMAND".
func (e *Engine) help(topic string) bot.Reply {
	if topic != "" {
		s := specs[topic]
		var lines []string
		for i, f := range s.forms {
			lead := "Usage: "
			if i > 0 {
				lead = "       "
			}
			lines = append(lines, lead+e.cmdName+" "+f)
		}
		lines = append(lines, s.summary+".")
		lines = append(lines, s.details...)
		for _, ex := range s.examples {
			lines = append(lines, "Example: "+e.cmdName+" "+ex)
		}
		return bot.Reply{Kind: bot.Info, Title: "Help: " + topic, Summary: lines}
	}
	t := &bot.Table{Columns: []string{"Command", "What it does"}}
	for _, v := range verbOrder {
		s := specs[v]
		t.Rows = append(t.Rows, []string{e.cmdName + " " + s.short, s.summary})
	}
	t.TotalRows = len(t.Rows)
	r := bot.Reply{
		Kind:  bot.Info,
		Title: "qlikbot commands",
		Summary: []string{
			"Type " + e.cmdName + " help COMMAND for its flags and examples.",
			"The default virtual proxy is written default. Sessions are shown by handle.",
		},
		Table: t,
	}
	if e.multi() {
		r.Summary = append(r.Summary, "Several Qlik Sense sites: --site NAME picks one; lists without it show every site you may see.")
	}
	return r
}

// usage turns a parse mistake into a reply.
func (e *Engine) usage(ue *UsageError) bot.Reply {
	lines := []string{redactIDs(ue.Problem)}
	if s, ok := specs[ue.Verb]; ok {
		for _, f := range s.forms {
			lines = append(lines, "Usage: "+e.cmdName+" "+f)
		}
		lines = append(lines, "Example: "+e.cmdName+" "+s.examples[0], "More: "+e.cmdName+" help "+ue.Verb)
	} else {
		lines = append(lines, "Commands: "+strings.Join(verbOrder, ", ")+". Try "+e.cmdName+" help.")
	}
	return bot.Reply{Kind: bot.Usage, Title: "Usage", Summary: lines, Visibility: bot.Ephemeral}
}
