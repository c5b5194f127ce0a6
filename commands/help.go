package commands

import (
	"strings"

	"github.com/qlikbot/qlikbot/bot"
)

// spec describes one verb: its flags, whether it takes prefixes, its form
// and help text.
type spec struct {
	flags    map[string]bool
	prefixes bool
	form     string
	summary  string
	details  []string
	examples []string
}

var verbOrder = []string{VerbSessions, VerbUsers, VerbProxies, VerbDelete, VerbKick, VerbApprove, VerbReject, VerbAudit, VerbWhoami, VerbHelp}

var specs = map[string]spec{
	VerbHelp: {
		form:     "help [COMMAND]",
		summary:  "this help, or the help of one command",
		examples: []string{"help", "help kick"},
	},
	VerbSessions: {
		flags:    map[string]bool{"proxy": true, "user": true, "sort": true, "page": true, "from": true, "to": true},
		prefixes: true,
		form:     `sessions [PREFIX ...] [--proxy HOST ...] [--user DIR\ID] [--sort FIELD] [--page N]`,
		summary:  "who is connected, per virtual proxy and node",
		details: []string{
			"PREFIX is a virtual proxy prefix; the default virtual proxy is written default (or \"\" or -); a proxy literally named default is =default.",
			"No PREFIX lists every virtual proxy you may see. --proxy limits the nodes (host names as Qlik reports them, see proxies).",
			"--sort: prefix (default), proxyhost, proxyname, userdir, userid, username. Long lists are paged; the full list comes as CSV.",
		},
		examples: []string{"sessions finance", "sessions default win --sort userid", `sessions --user LAB\testuser_1`},
	},
	VerbUsers: {
		flags:    map[string]bool{"min": true, "page": true, "from": true, "to": true},
		prefixes: true,
		form:     "users [PREFIX ...] [--min N] [--page N]",
		summary:  "users by session count; flags users at the access-pass limit of 5 sessions",
		details:  []string{"--min N shows only users with at least N sessions. The Kick a user menu offers the users of the page you may log out."},
		examples: []string{"users", "users finance --min 3"},
	},
	VerbProxies: {
		flags:    pagingFlags,
		form:     "proxies",
		summary:  "topology: nodes, virtual proxies, links, warnings",
		examples: []string{"proxies"},
	},
	VerbDelete: {
		prefixes: true,
		form:     "delete PREFIX SESSION_ID ...",
		summary:  "end named sessions of one virtual proxy",
		details:  []string{"Each id is looked up on every node the virtual proxy is linked to; ids not found are reported, not guessed."},
		examples: []string{"delete finance 55142b14-8d2d-43b3-a522-4b2fb46b2798"},
	},
	VerbKick: {
		flags:    map[string]bool{"proxy": true, "user": true},
		prefixes: true,
		form:     `kick PREFIX [--proxy HOST ...] | kick --user DIR\ID [PREFIX ...] [--proxy HOST ...]`,
		summary:  "end every session on a virtual proxy, or log one user out (needs a second person's approval)",
		details: []string{
			"The sessions you see when you ask are the ones ended on approval: sessions that start later are not touched.",
			"Without PREFIX, kick --user acts on every virtual proxy where you may log users out.",
			"An approver other than you clicks Approve; you or an approver may Reject. Unanswered requests expire.",
		},
		examples: []string{"kick finance", "kick finance --proxy pro2-win1.lab.ptarmiganlabs.net", `kick --user LAB\testuser_1`},
	},
	VerbApprove: {
		form:     "approve APPROVAL_ID",
		summary:  "approve a pending request by its id, as the Approve button does",
		details:  []string{"The id is on the approval request. The same rules as the button apply: the approve right on its scope, and not your own request."},
		examples: []string{"approve 3af6e3d85bc85c2627a4f8fd1570db60"},
	},
	VerbReject: {
		form:     "reject APPROVAL_ID",
		summary:  "reject a pending request by its id, as the Reject button does",
		examples: []string{"reject 3af6e3d85bc85c2627a4f8fd1570db60"},
	},
	VerbAudit: {
		flags:    pagingFlags,
		form:     "audit [N]",
		summary:  "the N most recent actions (default 20, at most 200; needs the audit right on every virtual proxy)",
		examples: []string{"audit", "audit 50"},
	},
	VerbWhoami: {
		form:     "whoami",
		summary:  "your ids, roles and where they apply",
		examples: []string{"whoami"},
	},
}

// help answers "help" and "help COMMAND".
func (e *Engine) help(topic string) bot.Reply {
	if topic != "" {
		s := specs[topic]
		lines := []string{"Usage: " + e.cmdName + " " + s.form, s.summary}
		lines = append(lines, s.details...)
		for _, ex := range s.examples {
			lines = append(lines, "Example: "+e.cmdName+" "+ex)
		}
		return bot.Reply{Kind: bot.Info, Title: "Help: " + topic, Summary: lines}
	}
	t := &bot.Table{Columns: []string{"Command", "What it does", "Example"}}
	for _, v := range verbOrder {
		s := specs[v]
		t.Rows = append(t.Rows, []string{e.cmdName + " " + s.form, s.summary, e.cmdName + " " + s.examples[0]})
	}
	return bot.Reply{
		Kind:  bot.Info,
		Title: "qlikbot commands",
		Summary: []string{
			"Type " + e.cmdName + " help COMMAND for details. The default virtual proxy is written default.",
		},
		Table: t,
	}
}

// usage turns a parse mistake into a reply.
func (e *Engine) usage(ue *UsageError) bot.Reply {
	lines := []string{ue.Problem}
	if s, ok := specs[ue.Verb]; ok {
		lines = append(lines, "Usage: "+e.cmdName+" "+s.form, "Example: "+e.cmdName+" "+s.examples[0])
	} else {
		lines = append(lines, "Commands: "+strings.Join(verbOrder, ", ")+". Try "+e.cmdName+" help.")
	}
	return bot.Reply{Kind: bot.Usage, Title: "Usage", Summary: lines, Visibility: bot.Ephemeral}
}
