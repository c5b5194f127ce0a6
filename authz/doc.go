// Package authz decides who may do what, where: it parses the policy file
// (roles, grants scoped to virtual proxies, proxy hosts and chat channels,
// approval rules) and answers Decide questions. Deny by default.
//
// The policy file (YAML; JSON is valid YAML):
//
//	people:                     # optional: one human, several identities
//	  - name: lee
//	    slack: [U0LEE]
//	    teams: ["0a1b2c3d-0000-4000-8000-00000000000f"]
//	    console: [lead]
//	    emails: [lee@example.com]
//	roles:
//	  viewer: [list, health]
//	  lead:   [list, delete, kick, logout, approve]
//	  admin:  [list, delete, kick, logout, approve, audit, health]
//	grants:
//	  - subjects: ["slack:U0ONCALL", "email:oncall@example.com", "person:lee"]
//	    roles: [viewer]
//	    virtualProxies: ["*"]   # "*" any; "" (or "default") = the default virtual proxy
//	    hosts: []               # optional; empty = any proxy node
//	    channels: []            # optional; empty = any channel
//	    sites: []               # optional: Qlik Sense sites by name (QLIKBOT_SITES); empty = every site
//	approval:
//	  required: [kick, logout]  # need a second person (default kick, logout; only delete/kick/logout)
//	  ttl: 30m                  # pending approvals expire (default 30m, at most 168h)
//	alerts:                     # the watcher's rules (see alerts.go); default rules without it
//	  rules:
//	    - {name: session-limit, type: user-sessions, sessions: 5, post: {slack: [C0OPS]}}
//
// The permission subscribe (/qlik subscribe, unsubscribe, the Silence
// buttons) is asked like health, on every virtual proxy ("*").
//
// Subjects are "slack:<user id>", "teams:<AAD object id>", "console:<name>"
// and "email:<address>". Emails and Teams object ids (GUIDs) are compared
// case-insensitively, the others exactly. The caller adds an "email:"
// subject only when the platform verified the address. The subject "*" (and
// any wildcard in a subject) is refused: a grant to everyone is too easy to
// make by accident, so every person or address is named.
//
// People: a person of the people section has a name (letters, digits and
// . _ -, unique case-insensitively) and any of Slack ids, Teams object
// ids, console names and e-mail addresses; an identity belongs to one
// person at most. A grant naming "person:NAME" holds for each of that
// person's identities. Person maps a request's subjects to its person, and
// SamePerson compares two requests as the two-person rule must: the same
// subject, the same verified e-mail, or the same person. Holders answers
// "who else may approve this?" (people by name, other subjects as
// written). Errors in the section name the person and its line.
//
// Parsing is strict: unknown keys, unknown permissions, roles used but not
// defined, malformed subjects, grants without subjects, roles or virtual
// proxies, and bad durations are errors (wrapping ErrInvalid); so is an
// empty file, so that a half-written file is never read as "deny all".
//
// Sites: a grant may be limited to sites by name (CheckSiteName; compared
// case-insensitively). A Scope names the site it acts on; a Scope without
// one reaches every site (the whole audit trail), so only a grant without
// sites covers it.
//
// Matching rules, including what a Scope without a Host means for a grant
// limited to hosts, are documented on Policy.Decide. A Policy is immutable;
// an Authorizer holds the current one and swaps it on Reload (SIGHUP) or
// when Watch sees the file change, keeping the last good policy when the new
// file is invalid.
package authz
