package commands

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/qlik"
)

// The verbs of the /qlik language.
const (
	VerbHelp     = "help"
	VerbSessions = "sessions"
	VerbUsers    = "users"
	VerbProxies  = "proxies"
	VerbHealth   = "health"
	VerbDelete   = "delete"
	VerbKick     = "kick"
	VerbAudit    = "audit"
	VerbWhoami   = "whoami"
	VerbApprove  = "approve"
	VerbReject   = "reject"
	VerbJobs     = "jobs"
	VerbApproval = "approval"
	// The watcher's commands (watchcmd.go, trend.go).
	VerbSubscribe   = "subscribe"
	VerbUnsubscribe = "unsubscribe"
	VerbAlerts      = "alerts"
	VerbTrend       = "trend"
)

// Limits on what a command line may hold; generous for people, small
// enough that nobody can make the bot do unbounded work.
const (
	maxTextLen    = 4000
	maxTokens     = 200
	maxPage       = 100000
	maxMin        = 1000
	maxAudit      = 200
	defaultAudit  = 20
	maxSessionIDs = 100
	maxUserPart   = 128
)

// Command is one parsed command line. Parse fills only the fields its
// verb uses; Validate checks them again.
type Command struct {
	Verb  string
	Topic string // help: the verb asked about ("" = all)
	// Prefixes are virtual proxy prefixes; "" is the default virtual proxy.
	Prefixes   []string
	Hosts      []string      // --proxy: proxy node host names
	Nodes      []string      // health: engine nodes, by host or node name
	User       *qlik.UserRef // --user DIR\ID
	Sort       string        // --sort field (sessions)
	Page       int           // --page N, 1-based; 0 = first page
	From       int           // --from ROW: the page starts at this 1-based row (Next)
	To         int           // --to ROW: the page ends at this 1-based row (Previous)
	After      string        // --after KEY: the page starts after the row of this key (Next; see pageKey)
	Before     string        // --before KEY: the page ends before the row of this key (Previous)
	Min        int           // --min N (users)
	SessionIDs []string      // delete: full ids or handles (8+ hex digits), lower-case
	N          int           // audit: number of events
	Approval   string        // approve, reject, approval: the pending action id
	// audit filters: --user (a subject, a platform id, a user or person
	// name), --action (an audit action or a command verb), --since.
	Actor  string
	Action string
	Since  string // as typed: 30m, 2h, 7d, 2026-11-22 or an RFC 3339 time
	// Site is --site: the Qlik Sense site, lower-cased ("" = the default
	// site, or every site for a merged list).
	Site string
	// Rules are the alert rules subscribe names, lower-cased; By is
	// trend's --by (proxy or node).
	Rules []string
	By    string
}

// UsageError is a mistake in a command line. It names the mistake and the
// right form of the command.
type UsageError struct {
	Verb    string // the command it concerns; "" when the command is unknown
	Problem string
}

func (e *UsageError) Error() string {
	if s, ok := specs[e.Verb]; ok {
		return e.Problem + "; usage: " + s.form()
	}
	return e.Problem + "; commands: " + strings.Join(verbOrder, ", ")
}

var (
	prefixRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,64}$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	sortKeys = []string{"prefix", "proxyhost", "proxyname", "userdir", "userid", "username"}
)

// Parse turns a command line (without "/qlik") into a Command. Mistakes
// come back as *UsageError.
func Parse(text string) (Command, error) {
	if len(text) > maxTextLen {
		return Command{}, &UsageError{Problem: fmt.Sprintf("command too long (%d bytes, at most %d)", len(text), maxTextLen)}
	}
	if !utf8.ValidString(text) {
		return Command{}, &UsageError{Problem: "command is not valid UTF-8"}
	}
	toks := strings.Fields(text)
	if len(toks) > maxTokens {
		return Command{}, &UsageError{Problem: fmt.Sprintf("too many words (%d, at most %d)", len(toks), maxTokens)}
	}
	if len(toks) == 0 {
		return Command{Verb: VerbHelp}, nil
	}
	verb := strings.ToLower(toks[0])
	spec, ok := specs[verb]
	if !ok {
		return Command{}, &UsageError{Problem: fmt.Sprintf("unknown command %q", clip(toks[0])) + didYouMean(toks[0], verbOrder)}
	}
	c := Command{Verb: verb}
	var pos []string
	seen := map[string]bool{}
	args := toks[1:]
	for i := 0; i < len(args); i++ {
		tok := args[i]
		if tok == "--help" || tok == "-h" {
			return Command{Verb: VerbHelp, Topic: verb}, nil
		}
		if !strings.HasPrefix(tok, "-") || tok == "-" {
			pos = append(pos, tok)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(tok, "--"), "=")
		name = strings.ToLower(name)
		if !strings.HasPrefix(tok, "--") || !spec.flags[name] {
			return Command{}, &UsageError{Verb: verb, Problem: fmt.Sprintf("unknown flag %q for %s", clip(tok), verb) + didYouMean(strings.ToLower(strings.SplitN(tok, "=", 2)[0]), spec.flagNames())}
		}
		if !hasVal {
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "--") {
				return Command{}, &UsageError{Verb: verb, Problem: fmt.Sprintf("--%s needs a value", name)}
			}
			i++
			val = args[i]
		}
		if seen[name] && name != "proxy" {
			return Command{}, &UsageError{Verb: verb, Problem: fmt.Sprintf("--%s given twice", name)}
		}
		seen[name] = true
		if err := c.setFlag(name, val); err != nil {
			return Command{}, err
		}
	}
	if err := c.setPositional(pos); err != nil {
		return Command{}, err
	}
	if err := c.Validate(); err != nil {
		return Command{}, err
	}
	return c, nil
}

func (c *Command) setFlag(name, val string) error {
	bad := func(format string, a ...any) error {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf(format, a...)}
	}
	switch name {
	case "proxy":
		if !validHost(val) {
			return bad("--proxy %q is not a host name", clip(val))
		}
		c.Hosts = appendFold(c.Hosts, val)
	case "user":
		if c.Verb == VerbAudit {
			if err := checkActor(val); err != nil {
				return bad("--user: %v", err)
			}
			c.Actor = val
			return nil
		}
		u, err := parseUser(val)
		if err != nil {
			return bad("--user: %v", err)
		}
		c.User = &u
	case "sort":
		k := strings.ToLower(val)
		if !slices.Contains(sortKeys, k) {
			return bad("--sort %q: sort by one of %s", clip(val), strings.Join(sortKeys, ", "))
		}
		c.Sort = k
	case "page":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > maxPage {
			return bad("--page %q: give a page number from 1 to %d", clip(val), maxPage)
		}
		c.Page = n
	case "action":
		a := strings.ToLower(val)
		if !slices.Contains(auditActions(), a) {
			return bad("--action %q: one of %s%s", clip(val), strings.Join(auditActions(), ", "), didYouMean(a, auditActions()))
		}
		c.Action = a
	case "since":
		if _, err := sinceTime(val, time.Time{}); err != nil {
			return bad("--since %q: %v", clip(val), err)
		}
		c.Since = val
	case "from", "to":
		return c.setRow(name, val)
	case "after", "before":
		return c.setKey(name, val)
	case "site":
		if err := authz.CheckSiteName(val); err != nil {
			return bad("--site: %v", err)
		}
		c.Site = strings.ToLower(val)
	case "by":
		return c.setBy(val)
	case "min":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > maxMin {
			return bad("--min %q: give a session count from 1 to %d", clip(val), maxMin)
		}
		c.Min = n
	}
	return nil
}

func (c *Command) setPositional(pos []string) error {
	bad := func(format string, a ...any) error {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf(format, a...)}
	}
	switch c.Verb {
	case VerbHelp:
		if len(pos) > 1 {
			return bad("help takes at most one command name")
		}
		if len(pos) == 1 {
			t := strings.ToLower(pos[0])
			if _, ok := specs[t]; !ok {
				return &UsageError{Problem: fmt.Sprintf("no help for unknown command %q", clip(pos[0]))}
			}
			c.Topic = t
		}
	case VerbProxies, VerbWhoami, VerbJobs:
		if len(pos) > 0 {
			return bad("%s takes no arguments, got %q", c.Verb, clip(pos[0]))
		}
	case VerbAudit:
		if len(pos) > 1 {
			return bad("audit takes at most one number")
		}
		c.N = defaultAudit
		if len(pos) == 1 {
			n, err := strconv.Atoi(pos[0])
			if err != nil || n < 1 || n > maxAudit {
				return bad("audit %q: give a number of events from 1 to %d", clip(pos[0]), maxAudit)
			}
			c.N = n
		}
	case VerbSessions, VerbUsers, VerbTrend:
		return c.addPrefixes(pos)
	case VerbSubscribe, VerbUnsubscribe, VerbAlerts:
		return c.setRules(pos)
	case VerbHealth:
		for _, n := range pos {
			if !validHost(n) {
				return bad("%q is not a node: give its host name or node name, as health lists them (e.g. Central)", clip(n))
			}
			c.Nodes = appendFold(c.Nodes, n)
		}
	case VerbDelete:
		if len(pos) == 0 {
			return bad("delete needs a virtual proxy prefix and at least one session (its handle or id)")
		}
		if err := c.addPrefixes(pos[:1]); err != nil {
			return err
		}
		ids := pos[1:]
		if len(ids) == 0 {
			return bad("delete needs at least one session (its handle or id) after the prefix")
		}
		if len(ids) > maxSessionIDs {
			return bad("delete takes at most %d sessions, got %d", maxSessionIDs, len(ids))
		}
		for _, id := range ids {
			ref := strings.ToLower(id)
			if !validSessionRef(ref) {
				return bad("%q is not a session: give its handle (8 or more hex digits, as listed, e.g. 55142b14) or its full id", clip(id))
			}
			c.SessionIDs = appendFold(c.SessionIDs, ref)
		}
	case VerbApprove, VerbReject, VerbApproval:
		if len(pos) != 1 || !pendingIDRE.MatchString(strings.ToLower(pos[0])) {
			return bad("%s needs the approval id shown on the approval request (32 hex digits)", c.Verb)
		}
		c.Approval = strings.ToLower(pos[0])
	case VerbKick:
		if err := c.addPrefixes(pos); err != nil {
			return err
		}
		if c.User == nil && len(c.Prefixes) != 1 {
			return bad("kick needs exactly one virtual proxy prefix (or --user DIR\\ID)")
		}
	}
	return nil
}

func (c *Command) addPrefixes(toks []string) error {
	for _, t := range toks {
		p, err := parsePrefix(t)
		if err != nil {
			return &UsageError{Verb: c.Verb, Problem: err.Error()}
		}
		c.Prefixes = appendFold(c.Prefixes, p)
	}
	return nil
}

func appendFold(list []string, v string) []string {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return list
		}
	}
	return append(list, v)
}

// clip shortens user input quoted back in messages.
func clip(s string) string { return clipN(s, 60) }

// clipN cuts s to at most n bytes, at a rune boundary, marked by "...".
func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
