package authz

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const roles = "roles: {viewer: [list]}\n"
	grant := func(body string) string { return roles + "grants:\n  - " + body + "\n" }
	tests := []struct {
		name, in, want string
	}{
		{"empty file", "", "empty"},
		{"only comments", "# nothing yet\n\n", "empty"},
		{"syntax error", "roles: [list\n", "yaml"},
		{"two documents", roles + "---\n" + roles, "more than one YAML document"},
		{"unknown top-level key", roles + "grant: []\n", "field grant not found"},
		{"unknown grant key", grant(`{subjects: ["slack:U1"], roles: [viewer], virtualproxies: ["*"]}`), "field virtualproxies not found"},
		{"unknown approval key", roles + "approval: {tll: 5m}\n", "field tll not found"},
		{"unknown permission", "roles: {viewer: [list, lst]}\n", `unknown permission "lst"`},
		{"role without permissions", "roles: {viewer: []}\n", "lists no permissions"},
		{"undefined role", grant(`{subjects: ["slack:U1"], roles: [leed], virtualProxies: ["*"]}`), `role "leed" is not defined`},
		{"undefined role names grant line", grant(`{subjects: ["slack:U1"], roles: [leed], virtualProxies: ["*"]}`), "grant 1 (line 3)"},
		{"star subject", grant(`{subjects: ["*"], roles: [viewer], virtualProxies: ["*"]}`), `subject "*" is not allowed`},
		{"wildcard in subject", grant(`{subjects: ["slack:*"], roles: [viewer], virtualProxies: ["*"]}`), "wildcards are not allowed"},
		{"subject without kind", grant(`{subjects: ["U2CERLKJA"], roles: [viewer], virtualProxies: ["*"]}`), "want <kind>:<id>"},
		{"subject without id", grant(`{subjects: ["slack:"], roles: [viewer], virtualProxies: ["*"]}`), "want <kind>:<id>"},
		{"unknown subject kind", grant(`{subjects: ["slak:U1"], roles: [viewer], virtualProxies: ["*"]}`), `unknown kind "slak"`},
		{"bad email", grant(`{subjects: ["email:nobody"], roles: [viewer], virtualProxies: ["*"]}`), "not an email address"},
		{"subject with space", grant(`{subjects: ["console:ann lee"], roles: [viewer], virtualProxies: ["*"]}`), "contains spaces"},
		{"no subjects", grant(`{roles: [viewer], virtualProxies: ["*"]}`), "no subjects"},
		{"no roles", grant(`{subjects: ["slack:U1"], virtualProxies: ["*"]}`), "no roles"},
		{"no virtual proxies", grant(`{subjects: ["slack:U1"], roles: [viewer]}`), "no virtualProxies"},
		{"prefix with slash", grant(`{subjects: ["slack:U1"], roles: [viewer], virtualProxies: ["/finance"]}`), `virtual proxy "/finance"`},
		{"star host", grant(`{subjects: ["slack:U1"], roles: [viewer], virtualProxies: ["*"], hosts: ["*"]}`), "leave hosts empty"},
		{"empty channel", grant(`{subjects: ["slack:U1"], roles: [viewer], virtualProxies: ["*"], channels: [""]}`), `channel ""`},
		{"ttl without unit", roles + "approval: {ttl: 30}\n", `ttl "30"`},
		{"ttl garbage", roles + "approval: {ttl: soon}\n", `ttl "soon"`},
		{"ttl negative", roles + "approval: {ttl: -5m}\n", "must be above 0"},
		{"ttl zero", roles + "approval: {ttl: 0s}\n", "must be above 0"},
		{"ttl too long", roles + "approval: {ttl: 200h}\n", "at most 168h"},
		{"approval of list", roles + "approval: {required: [list]}\n", `"list" cannot need approval`},
		{"approval of unknown", roles + "approval: {required: [nuke]}\n", `unknown permission "nuke"`},
		{"roles not a map", "roles: [viewer]\n", "yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse = %+v, nil; want error containing %q", p, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if p != nil {
				t.Errorf("Parse returned a policy with its error")
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		grants int
	}{
		{"empty object denies all", "{}", 0},
		{"no grants", "roles: {viewer: [list]}\ngrants: []\n", 0},
		{"json", `{"roles":{"viewer":["list"]},"grants":[{"subjects":["slack:U1"],"roles":["viewer"],"virtualProxies":["*"]}],"approval":{"ttl":"1h"}}`, 1},
		{"default spellings", "roles: {viewer: [list]}\ngrants:\n  - {subjects: [\"slack:U1\"], roles: [viewer], virtualProxies: [\"\", default, DEFAULT]}\n", 1},
		{"approval section empty", "approval: {}\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(p.grants) != tc.grants {
				t.Errorf("grants = %d, want %d", len(p.grants), tc.grants)
			}
		})
	}
}

func TestApprovalRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		required []Permission
		ttl      time.Duration
	}{
		{"defaults", "{}", []Permission{Kick, Logout}, 30 * time.Minute},
		{"empty section", "approval: {}", []Permission{Kick, Logout}, 30 * time.Minute},
		{"ttl only", "approval: {ttl: 2h}", []Permission{Kick, Logout}, 2 * time.Hour},
		{"none required", "approval: {required: []}", nil, 30 * time.Minute},
		{"delete too", "approval: {required: [delete, kick, logout], ttl: 5m}", []Permission{Delete, Kick, Logout}, 5 * time.Minute},
		{"kick only", "approval: {required: [kick]}", []Permission{Kick}, 30 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for _, pm := range Permissions() {
				if got, want := p.NeedsApproval(pm), slices.Contains(tc.required, pm); got != want {
					t.Errorf("NeedsApproval(%s) = %v, want %v", pm, got, want)
				}
			}
			if got := p.ApprovalTTL(); got != tc.ttl {
				t.Errorf("ApprovalTTL = %s, want %s", got, tc.ttl)
			}
		})
	}
}

func TestNilPolicyDeniesWithDefaults(t *testing.T) {
	t.Parallel()
	var p *Policy
	if d := p.Decide([]string{"console:admin"}, List, Scope{}); d.Allowed {
		t.Errorf("nil policy allowed: %+v", d)
	}
	if !p.NeedsApproval(Kick) || p.NeedsApproval(List) || p.ApprovalTTL() != DefaultApprovalTTL {
		t.Errorf("nil policy approval rules are not the defaults")
	}
	if g := p.Grants([]string{"console:admin"}); len(g) != 0 {
		t.Errorf("nil policy grants = %v", g)
	}
}

func TestPermissionsIsACopy(t *testing.T) {
	t.Parallel()
	ps := Permissions()
	ps[0] = "nuke"
	if Permissions()[0] != List || Permission("nuke").Valid() {
		t.Errorf("Permissions() exposes package state")
	}
}
