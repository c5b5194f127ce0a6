package commands

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/qlik"
)

// parsePrefix reads a virtual proxy prefix. The default virtual proxy
// (prefix "") is spelled default, "" or -. A real virtual proxy whose
// prefix is literally "default" (or "-") is written with a leading "=":
// =default.
func parsePrefix(tok string) (string, error) {
	switch {
	case strings.EqualFold(tok, "default"), tok == "-", tok == `""`, tok == "''", tok == "\u201c\u201d", tok == "\u2018\u2019":
		return "", nil
	}
	lit := strings.TrimPrefix(tok, "=")
	if err := checkPrefix(lit); err != nil {
		return "", fmt.Errorf("%q is not a virtual proxy prefix (letters, digits and . _ ~ -, at most 64; default for the default proxy)", clip(tok))
	}
	return lit, nil
}

func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	// "." and ".." pass the character rule but would climb out of their
	// URL path segment.
	if !prefixRE.MatchString(p) || p == "." || p == ".." {
		return fmt.Errorf("bad prefix %q", clip(p))
	}
	return nil
}

func parseUser(s string) (qlik.UserRef, error) {
	dir, id, ok := strings.Cut(s, `\`)
	if !ok {
		return qlik.UserRef{}, fmt.Errorf("%q: write the user as DIRECTORY\\ID, e.g. LAB\\testuser_1", clip(s))
	}
	u := qlik.UserRef{Directory: dir, ID: id}
	if err := checkUser(u); err != nil {
		return qlik.UserRef{}, err
	}
	return u, nil
}

// checkUser keeps a user directory and id inside their URL path segments
// (/qps/{prefix}/user/{dir}/{id}).
func checkUser(u qlik.UserRef) error {
	for _, part := range []struct{ name, v string }{{"directory", u.Directory}, {"user id", u.ID}} {
		switch {
		case part.v == "":
			return fmt.Errorf("the %s is empty: write DIRECTORY\\ID, e.g. LAB\\testuser_1", part.name)
		case len(part.v) > maxUserPart:
			return fmt.Errorf("the %s is longer than %d bytes", part.name, maxUserPart)
		case part.v == "." || part.v == "..":
			return fmt.Errorf("the %s %q is not allowed", part.name, part.v)
		case !utf8.ValidString(part.v):
			return fmt.Errorf("the %s is not valid UTF-8", part.name)
		case strings.IndexFunc(part.v, badUserRune) >= 0:
			return fmt.Errorf("the %s %q holds a character that is not allowed (/ \\ %% ? # space or control)", part.name, clip(part.v))
		}
	}
	return nil
}

func badUserRune(r rune) bool {
	return unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune(`/\%?#`, r) || r == utf8.RuneError
}

// validHost applies RFC 1123 host name rules (which also admit dotted IPv4
// addresses).
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Validate checks every field against the rules Parse applies, so a
// Command built by hand (or decoded) is as safe as a parsed one.
func (c Command) Validate() error {
	spec, ok := specs[c.Verb]
	if !ok {
		return &UsageError{Problem: fmt.Sprintf("unknown command %q", clip(c.Verb))}
	}
	bad := func(format string, a ...any) error {
		return &UsageError{Verb: c.Verb, Problem: fmt.Sprintf(format, a...)}
	}
	if c.Topic != "" {
		if _, ok := specs[c.Topic]; !ok || c.Verb != VerbHelp {
			return bad("bad help topic %q", clip(c.Topic))
		}
	}
	for _, p := range c.Prefixes {
		if err := checkPrefix(p); err != nil {
			return bad("%v", err)
		}
	}
	for _, h := range append(slices.Clone(c.Hosts), c.Nodes...) {
		if !validHost(h) {
			return bad("bad host %q", clip(h))
		}
	}
	if len(c.Nodes) > 0 && c.Verb != VerbHealth {
		return bad("arguments not valid for %s", c.Verb)
	}
	if c.User != nil {
		if err := checkUser(*c.User); err != nil {
			return bad("%v", err)
		}
	}
	for _, id := range c.SessionIDs {
		if !validSessionRef(id) {
			return bad("bad session %q", clip(id))
		}
	}
	if c.Sort != "" && !slices.Contains(sortKeys, c.Sort) {
		return bad("bad sort field %q", clip(c.Sort))
	}
	if (c.Actor != "" || c.Action != "") && c.Verb != VerbAudit || c.Since != "" && c.Verb != VerbAudit && c.Verb != VerbTrend {
		return bad("flag not valid for %s", c.Verb)
	}
	if err := c.validWatch(); err != nil {
		return err
	}
	if c.Actor != "" {
		if err := checkActor(c.Actor); err != nil {
			return bad("--user: %v", err)
		}
	}
	if c.Action != "" && !slices.Contains(auditActions(), c.Action) {
		return bad("bad audit action %q", clip(c.Action))
	}
	if c.Since != "" {
		if _, err := sinceTime(c.Since, time.Time{}); err != nil {
			return bad("--since: %v", err)
		}
	}
	if err := c.validRows(spec); err != nil {
		return err
	}
	if c.Site != "" {
		if !spec.flags["site"] {
			return bad("flag not valid for %s", c.Verb)
		}
		if err := authz.CheckSiteName(c.Site); err != nil {
			return bad("--site: %v", err)
		}
	}
	switch {
	case c.Page < 0 || c.Page > maxPage, c.Min < 0 || c.Min > maxMin, c.N < 0 || c.N > maxAudit:
		return bad("number out of range")
	case len(c.Hosts) > 0 && !spec.flags["proxy"], c.User != nil && !spec.flags["user"],
		c.Sort != "" && !spec.flags["sort"], c.Page != 0 && !spec.flags["page"], c.Min != 0 && !spec.flags["min"]:
		return bad("flag not valid for %s", c.Verb)
	case len(c.Prefixes) > 0 && !spec.prefixes, len(c.SessionIDs) > 0 && c.Verb != VerbDelete:
		return bad("arguments not valid for %s", c.Verb)
	case c.Verb == VerbDelete && (len(c.Prefixes) != 1 || len(c.SessionIDs) == 0 || len(c.SessionIDs) > maxSessionIDs):
		return bad("delete needs one prefix and 1 to %d sessions", maxSessionIDs)
	case c.Verb == VerbKick && c.User == nil && len(c.Prefixes) != 1:
		return bad("kick needs exactly one virtual proxy prefix (or --user DIR\\ID)")
	case c.Verb == VerbAudit && c.N == 0:
		return bad("audit needs a number of events")
	case (c.Verb == VerbApprove || c.Verb == VerbReject || c.Verb == VerbApproval) != (c.Approval != ""),
		c.Approval != "" && !pendingIDRE.MatchString(c.Approval):
		return bad("%s needs one approval id", c.Verb)
	}
	return nil
}

// String renders the command as a canonical command line that Parse reads
// back to the same Command (used for paging and "Kick" buttons).
func (c Command) String() string {
	if c.Verb == VerbHelp {
		return strings.TrimSpace(VerbHelp + " " + c.Topic)
	}
	parts := []string{c.Verb}
	for _, p := range c.Prefixes {
		parts = append(parts, prefixWord(p))
	}
	parts = append(parts, c.Nodes...)
	parts = append(parts, c.SessionIDs...)
	parts = append(parts, c.Rules...)
	if c.Approval != "" {
		parts = append(parts, c.Approval)
	}
	if c.Verb == VerbAudit && c.N != 0 {
		parts = append(parts, strconv.Itoa(c.N))
	}
	for _, h := range c.Hosts {
		parts = append(parts, "--proxy", h)
	}
	if c.User != nil {
		parts = append(parts, "--user", c.User.String())
	}
	if c.Actor != "" {
		parts = append(parts, "--user", c.Actor)
	}
	if c.Action != "" {
		parts = append(parts, "--action", c.Action)
	}
	if c.Since != "" {
		parts = append(parts, "--since", c.Since)
	}
	if c.Sort != "" {
		parts = append(parts, "--sort", c.Sort)
	}
	if c.Min != 0 {
		parts = append(parts, "--min", strconv.Itoa(c.Min))
	}
	if c.Page != 0 {
		parts = append(parts, "--page", strconv.Itoa(c.Page))
	}
	if c.By != "" {
		parts = append(parts, "--by", c.By)
	}
	if c.Site != "" {
		parts = append(parts, "--site", c.Site)
	}
	parts = c.rowArgs(parts)
	return strings.Join(parts, " ")
}

// prefixWord is how a prefix is typed: "default" for the default virtual
// proxy, "=default" for a virtual proxy literally named default (and
// "=-x" for a prefix that starts with a dash).
func prefixWord(p string) string {
	switch {
	case p == "":
		return "default"
	case strings.EqualFold(p, "default"), strings.HasPrefix(p, "-"):
		// A word starting with "-" would read as a flag.
		return "=" + p
	}
	return p
}

// prefixPhrase is how a prefix reads in a sentence: "finance", "the
// default virtual proxy".
func prefixPhrase(p string) string {
	if p == "" {
		return "the default virtual proxy"
	}
	return p
}

// prefixLabel is how a prefix is shown in a table or a list.
func prefixLabel(p string) string {
	if p == "" {
		return "(default)"
	}
	return p
}
