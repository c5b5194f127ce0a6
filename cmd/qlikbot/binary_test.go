package main

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// block is one reply the console printed: who it answered and its text.
type block struct{ user, text string }

var replyStart = regexp.MustCompile(`\[console:([A-Za-z0-9._@\\-]+)\]`)

// replies splits console output into replies; console notices ("now acting
// as ...", confirmation prompts) stay attached to the reply before them.
func replies(out string) []block {
	idx := replyStart.FindAllStringSubmatchIndex(out, -1)
	bs := make([]block, 0, len(idx))
	for i, m := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		bs = append(bs, block{user: out[m[2]:m[3]], text: out[m[1]:end]})
	}
	return bs
}

// seedSessions are the seed lab's sessions on one virtual proxy.
func seedSessions(prefix string) []qliksim.LabSession {
	var ss []qliksim.LabSession
	for _, s := range qliksim.SeedLab().Sessions {
		if s.Prefix == prefix {
			ss = append(ss, s)
		}
	}
	return ss
}

// auditRow finds a line of the audit table that holds every one of parts.
func auditRow(audit string, parts ...string) bool {
	for line := range strings.Lines(audit) {
		all := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// TestBinaryConsoleE2E runs the real program as an operator would, with
// nothing configured: the built-in simulator, the demo policy and the
// console, driven by a script on stdin.
func TestBinaryConsoleE2E(t *testing.T) {
	t.Parallel()
	finance := seedSessions("finance")
	if len(finance) < 2 {
		t.Fatalf("seed lab has %d finance sessions; the scenario needs at least 2", len(finance))
	}
	script := strings.Join([]string{
		"/qlik sessions finance",
		"--as lead /qlik kick finance",
		"--as lead /click 1", // the requester approving their own kick: refused before "are you sure?"
		"/as admin",
		"/click 1",
		"y",
		"/qlik sessions finance",
		"/qlik audit 60",
	}, "\n") + "\n"

	res := runBinary(t, cleanEnv(), script)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, "built-in Qlik Sense simulator") || !strings.Contains(res.stderr, "demo policy") {
		t.Errorf("stderr does not say the demo runs on the simulator and the demo policy:\n%s", res.stderr)
	}
	bs := replies(res.stdout)
	want := []struct {
		user  string
		parts []string
	}{
		{"oncall", []string{"Sessions", "Total sessions: " + strconv.Itoa(len(finance))}},
		{"lead", []string{"Approval needed: end " + strconv.Itoa(len(finance)) + " sessions on finance", "[1] Approve"}},
		{"lead", []string{"Not allowed", "two-person rule", "now acting as console:admin"}},
		{"admin", []string{"Approved: end " + strconv.Itoa(len(finance)) + " sessions on finance", "requested by console:lead",
			"Deleted " + strconv.Itoa(len(finance)) + ", already gone 0, failed 0"}},
		{"admin", []string{"Sessions", "Total sessions: 0", "(no rows)"}},
		{"admin", []string{"Audit trail"}},
	}
	if len(bs) != len(want) {
		t.Fatalf("got %d replies, want %d\nstdout:\n%s\nstderr:\n%s", len(bs), len(want), res.stdout, res.stderr)
	}
	for i, w := range want {
		if bs[i].user != w.user {
			t.Errorf("reply %d answers console:%s, want console:%s:\n%s", i+1, bs[i].user, w.user, bs[i].text)
		}
		for _, p := range w.parts {
			if !strings.Contains(bs[i].text, p) {
				t.Errorf("reply %d lacks %q:\n%s", i+1, p, bs[i].text)
			}
		}
	}
	for _, s := range finance {
		id := handle(s.Session.ID)
		if !strings.Contains(bs[0].text, id) || !strings.Contains(bs[1].text, id) {
			t.Errorf("session %s missing from the first list or the approval request", id)
		}
		if !auditRow(bs[3].text, id, "deleted") {
			t.Errorf("approval outcome does not show %s deleted:\n%s", id, bs[3].text)
		}
		if strings.Contains(bs[4].text, id) {
			t.Errorf("session %s still listed after the approved kick:\n%s", id, bs[4].text)
		}
	}

	if n := strings.Count(res.stdout, "Type y to confirm"); n != 1 {
		t.Errorf("the console asked %d times to confirm, want once (the admin's approval, not the requester's own):\n%s", n, res.stdout)
	}

	audit := bs[5].text
	rows := []struct {
		name  string
		parts []string
	}{
		// One row per command, with its decision.
		{"the kick command", []string{"console:lead", "/qlik kick", "kick finance", "allowed"}},
		{"the approval request", []string{"console:lead", "request-approval", "finance"}},
		{"the approver's command", []string{"console:admin", "/qlik approve", "allowed"}},
		{"the approval", []string{"console:admin", "approve", "allowed; approved"}},
	}
	for _, r := range rows {
		if !auditRow(audit, r.parts...) {
			t.Errorf("audit trail lacks %s (a row with %q):\n%s", r.name, r.parts, audit)
		}
	}
	for _, s := range finance {
		if !auditRow(audit, "console:admin", "delete", handle(s.Session.ID), s.Session.UserID, "deleted") {
			t.Errorf("audit trail lacks the deletion of %s:\n%s", s.Session.ID, audit)
		}
	}
}

// TestBinaryUsageAndConfigErrors: -h lists every variable and exits 0;
// bad settings and unknown arguments get one line and exit 2.
func TestBinaryUsageAndConfigErrors(t *testing.T) {
	t.Parallel()
	t.Run("help lists every variable", func(t *testing.T) {
		t.Parallel()
		for _, arg := range []string{"-h", "--help"} {
			res := runBinary(t, cleanEnv(), "", arg)
			if res.code != 0 || res.stderr != "" {
				t.Fatalf("qlikbot %s: exit %d, stderr %q", arg, res.code, res.stderr)
			}
			lines := map[string]string{} // variable -> its usage line
			for line := range strings.Lines(res.stdout) {
				if name, _, ok := strings.Cut(line, " "); ok && strings.HasPrefix(name, envPrefix) {
					lines[name] = line
				}
			}
			typ := reflect.TypeFor[Config]()
			for i := range typ.NumField() {
				f := typ.Field(i)
				key := f.Tag.Get("envconfig")
				if !strings.HasPrefix(key, envPrefix) {
					t.Errorf("field %s: variable %q does not start with %s", f.Name, key, envPrefix)
				}
				line, ok := lines[key]
				if !ok {
					t.Errorf("qlikbot %s does not list %s (field %s)", arg, key, f.Name)
					continue
				}
				if def := f.Tag.Get("default"); def != "" && !strings.Contains(line, def) {
					t.Errorf("%s: usage line lacks the default %q: %s", key, def, line)
				}
				delete(lines, key)
			}
			for key := range lines {
				t.Errorf("qlikbot %s lists %s, which is not a Config field", arg, key)
			}
		}
	})

	// envconfig also reads a tag's unprefixed name (LOG_LEVEL for
	// QLIKBOT_LOG_LEVEL) when the prefixed one is unset: qlikbot must not
	// pick up another program's settings from a shared environment.
	t.Run("unprefixed variables are ignored", func(t *testing.T) {
		t.Parallel()
		res := runBinary(t, cleanEnv("LOG_LEVEL=loud", "SLACK_MODE=rtm", "QLIK_HOST=qlik.example.com",
			"STORE=mysql://db/x", "WORKERS=0", "HTTP_ADDR=bad address"), "/qlik sessions finance\n")
		if res.code != 0 || !strings.Contains(res.stdout, "Total sessions") {
			t.Errorf("exit %d, want 0 and the demo's answer\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
		}
	})

	tests := []struct {
		name  string
		env   []string
		args  []string
		want  string // named in the one error line
		inApp bool   // found by newApp: the demo may have logged its start first
	}{
		{"port not a number", []string{"QLIKBOT_QLIK_QPS_PORT=abc"}, nil, "QLIKBOT_QLIK_QPS_PORT", false},
		{"port out of range", []string{"QLIKBOT_QLIK_QRS_PORT=70000"}, nil, "QLIKBOT_QLIK_QRS_PORT", false},
		{"slack rtm mode", []string{"QLIKBOT_SLACK_MODE=rtm"}, nil, "QLIKBOT_SLACK_MODE", false},
		{"duration not a duration", []string{"QLIKBOT_QLIK_TIMEOUT=soon"}, nil, "QLIKBOT_QLIK_TIMEOUT", false},
		{"qlik host without policy", []string{"QLIKBOT_QLIK_HOST=qlik.example.com"}, nil, "QLIKBOT_POLICY", false},
		{"log level", []string{"QLIKBOT_LOG_LEVEL=loud"}, nil, "QLIKBOT_LOG_LEVEL", false},
		{"store scheme", []string{"QLIKBOT_STORE=mysql://db/qlikbot"}, nil, "QLIKBOT_STORE", true},
		{"policy file missing", []string{"QLIKBOT_POLICY=/nonexistent/policy.yaml"}, nil, "QLIKBOT_POLICY", true},
		{"unknown flag", nil, []string{"--verbose"}, `"--verbose"`, false},
		{"unknown word", nil, []string{"start"}, `"start"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runBinary(t, cleanEnv(tt.env...), "/qlik sessions\n", tt.args...)
			if res.code != 2 {
				t.Errorf("exit code %d, want 2", res.code)
			}
			if res.stdout != "" {
				t.Errorf("stdout %q, want nothing (no command may run)", res.stdout)
			}
			lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
			if tt.inApp {
				lines = nonLogLines(res.stderr)
			}
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("want one error line naming %s, got:\n%s", tt.want, res.stderr)
			}
		})
	}
}

// nonLogLines drops the JSON log lines (and the demo's notices) a run may
// print before a setting fails in newApp, keeping the lines meant for the
// operator.
func nonLogLines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\n")
		if line == "" || strings.HasPrefix(line, "{") || strings.Contains(line, "is not set: using") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// handle is how replies and the audit trail show a session of the seed
// lab: its first 8 hex digits, never the full id (a credential).
func handle(id string) string { return strings.ReplaceAll(strings.ToLower(id), "-", "")[:8] }
