package authz

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// matrixPolicy has one subject per role and scope restriction.
const matrixPolicy = `
roles:
  viewer: [list]
  lead:   [list, delete, kick, logout, approve]
  admin:  [list, delete, kick, logout, approve, audit, health]
grants:
  - subjects: ["slack:UVIEW"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["slack:ULEAD"]
    roles: [lead]
    virtualProxies: ["Finance"]
  - subjects: ["slack:UADMIN"]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: ["slack:UHOST"]
    roles: [lead]
    virtualProxies: ["finance"]
    hosts: ["node1.example.com"]
  - subjects: ["slack:UCHAN"]
    roles: [lead]
    virtualProxies: ["default"]
    channels: ["COPS"]
  - subjects: ["teams:0A1B2C3D-0000-4000-8000-00000000000F", "email:Ann.Lee@Example.com"]
    roles: [viewer]
    virtualProxies: [""]
`

var (
	lead  = []Permission{List, Delete, Kick, Logout, Approve}
	all   = Permissions()
	view  = []Permission{List}
	none  = []Permission(nil)
	fin   = Scope{VirtualProxy: "finance"}
	def   = Scope{}
	hr    = Scope{VirtualProxy: "hr"}
	finN1 = Scope{VirtualProxy: "finance", Host: "node1.example.com"}
	finN2 = Scope{VirtualProxy: "finance", Host: "node2.example.com"}
)

func TestDecideMatrix(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(matrixPolicy))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		name    string
		subject string
		scope   Scope
		allowed []Permission // every other permission must be denied
		role    string       // expected Decision.Role when allowed
		hostRes bool         // expected HostRestricted for List
	}{
		{"viewer finance", "slack:UVIEW", fin, view, "viewer", false},
		{"viewer default", "slack:UVIEW", def, view, "viewer", false},
		{"viewer other", "slack:UVIEW", hr, view, "viewer", false},
		{"viewer on a host", "slack:UVIEW", finN2, view, "viewer", false},
		{"viewer in a channel", "slack:UVIEW", Scope{VirtualProxy: "hr", Channel: "CX"}, view, "viewer", false},
		{"lead finance", "slack:ULEAD", fin, lead, "lead", false},
		{"lead finance other case", "slack:ULEAD", Scope{VirtualProxy: "FINANCE"}, lead, "lead", false},
		{"lead finance any host", "slack:ULEAD", finN2, lead, "lead", false},
		{"lead default", "slack:ULEAD", def, none, "", false},
		{"lead other", "slack:ULEAD", hr, none, "", false},
		{"lead prefix is not a substring match", "slack:ULEAD", Scope{VirtualProxy: "finance2"}, none, "", false},
		{"admin finance", "slack:UADMIN", fin, all, "admin", false},
		{"admin default", "slack:UADMIN", def, all, "admin", false},
		{"admin other in channel", "slack:UADMIN", Scope{VirtualProxy: "hr", Host: "x", Channel: "C9"}, all, "admin", false},
		{"host lead on its host", "slack:UHOST", finN1, lead, "lead", false},
		{"host lead host case and root dot", "slack:UHOST", Scope{VirtualProxy: "finance", Host: "NODE1.example.com."}, lead, "lead", false},
		{"host lead other host", "slack:UHOST", finN2, none, "", false},
		{"host lead no host: list filtered, rest denied", "slack:UHOST", fin, view, "lead", true},
		{"host lead other proxy on its host", "slack:UHOST", Scope{VirtualProxy: "hr", Host: "node1.example.com"}, none, "", false},
		{"channel lead in its channel", "slack:UCHAN", Scope{Channel: "COPS"}, lead, "lead", false},
		{"channel lead channel ids are exact", "slack:UCHAN", Scope{Channel: "cops"}, none, "", false},
		{"channel lead other channel", "slack:UCHAN", Scope{Channel: "CX"}, none, "", false},
		{"channel lead direct message", "slack:UCHAN", def, none, "", false},
		{"channel lead other proxy in its channel", "slack:UCHAN", Scope{VirtualProxy: "finance", Channel: "COPS"}, none, "", false},
		{"slack ids are exact", "slack:ulead", fin, none, "", false},
		{"teams object id any case", "teams:0a1b2c3d-0000-4000-8000-00000000000f", def, view, "viewer", false},
		{"email any case", "email:ANN.LEE@example.COM", def, view, "viewer", false},
		{"email outside scope", "email:ann.lee@example.com", fin, none, "", false},
		{"unknown subject", "slack:UNOBODY", fin, none, "", false},
		{"star subject asked", "*", fin, none, "", false},
		{"platform prefix matters", "console:UADMIN", fin, none, "", false},
		{"admin site-wide", "slack:UADMIN", Scope{VirtualProxy: "*", Channel: "C1"}, all, "admin", false},
		{"viewer site-wide", "slack:UVIEW", Scope{VirtualProxy: "*"}, view, "viewer", false},
		{"lead site-wide needs a grant on every proxy", "slack:ULEAD", Scope{VirtualProxy: "*"}, none, "", false},
		{"default-proxy viewer site-wide", "email:ann.lee@example.com", Scope{VirtualProxy: "*"}, none, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, pm := range Permissions() {
				d := p.Decide([]string{tc.subject}, pm, tc.scope)
				want := slices.Contains(tc.allowed, pm)
				if d.Allowed != want {
					t.Errorf("%s: Allowed = %v, want %v (reason %q)", pm, d.Allowed, want, d.Reason)
					continue
				}
				if d.Permission != pm || d.Scope != tc.scope || d.Subject != tc.subject {
					t.Errorf("%s: decision echoes %q %q %+v", pm, d.Subject, d.Permission, d.Scope)
				}
				if !strings.Contains(d.Reason, tc.subject) || !strings.Contains(d.Reason, fmt.Sprintf("%q", pm)) {
					t.Errorf("%s: reason %q names neither subject nor permission", pm, d.Reason)
				}
				if !want {
					if d.Role != "" || !strings.Contains(d.Reason, "has no grant") {
						t.Errorf("%s: denial role %q reason %q", pm, d.Role, d.Reason)
					}
					continue
				}
				if d.Role != tc.role {
					t.Errorf("%s: Role = %q, want %q", pm, d.Role, tc.role)
				}
				if d.HostRestricted != tc.hostRes {
					t.Errorf("%s: HostRestricted = %v, want %v", pm, d.HostRestricted, tc.hostRes)
				}
			}
		})
	}
}

func TestDecideReasons(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(matrixPolicy))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		name     string
		subjects []string
		perm     Permission
		scope    Scope
		allowed  bool
		subject  string
		reason   string
	}{
		{"denial example", []string{"slack:U2CERLKJA"}, Kick, fin, false, "slack:U2CERLKJA",
			`slack:U2CERLKJA has no grant with "kick" on virtual proxy "finance"`},
		{"default proxy spelled out", []string{"slack:U2CERLKJA"}, List, def, false, "slack:U2CERLKJA",
			`slack:U2CERLKJA has no grant with "list" on the default virtual proxy`},
		{"host and channel named", []string{"slack:UVIEW"}, Delete, Scope{VirtualProxy: "hr", Host: "n1", Channel: "C1"}, false, "slack:UVIEW",
			`slack:UVIEW has no grant with "delete" on virtual proxy "hr" on host "n1" in channel "C1"`},
		{"site-wide spelled out", []string{"slack:ULEAD"}, Audit, Scope{VirtualProxy: "*"}, false, "slack:ULEAD",
			`slack:ULEAD has no grant with "audit" on every virtual proxy`},
		{"missing host hinted", []string{"slack:UHOST"}, Kick, fin, false, "slack:UHOST",
			"only on hosts node1.example.com: name one"},
		{"all subjects named", []string{"slack:U1", "email:x@example.com"}, Audit, fin, false, "slack:U1",
			`slack:U1 / email:x@example.com has no grant with "audit"`},
		{"second subject allows", []string{"slack:U1", "email:ANN.LEE@EXAMPLE.COM"}, List, def, true, "email:ANN.LEE@EXAMPLE.COM",
			`email:ANN.LEE@EXAMPLE.COM may "list" on the default virtual proxy (role "viewer")`},
		{"no subjects", nil, List, fin, false, "", "no subject"},
		{"unknown permission", []string{"slack:UADMIN"}, "nuke", fin, false, "slack:UADMIN", `unknown permission "nuke"`},
		{"approve on the action's scope", []string{"slack:ULEAD"}, Approve, Scope{VirtualProxy: "finance", Host: "n3", Channel: "C1"}, true, "slack:ULEAD",
			`role "lead"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := p.Decide(tc.subjects, tc.perm, tc.scope)
			if d.Allowed != tc.allowed || d.Subject != tc.subject {
				t.Errorf("Decide = allowed %v subject %q, want %v %q (reason %q)", d.Allowed, d.Subject, tc.allowed, tc.subject, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tc.reason)
			}
		})
	}
}

func TestGrants(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(matrixPolicy + `
  - subjects: ["slack:UHOST"]
    roles: [viewer, lead]
    virtualProxies: ["*", "HR", default]
    channels: ["C1"]
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := p.Grants([]string{"slack:UHOST", "slack:UNOBODY"})
	want := []GrantView{
		{Subject: "slack:UHOST", Role: "lead", Permissions: lead, VirtualProxies: []string{"finance"}, Hosts: []string{"node1.example.com"}},
		{Subject: "slack:UHOST", Role: "viewer", Permissions: view, VirtualProxies: []string{"*", "hr", ""}, Channels: []string{"C1"}},
		{Subject: "slack:UHOST", Role: "lead", Permissions: lead, VirtualProxies: []string{"*", "hr", ""}, Channels: []string{"C1"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Grants =\n%+v\nwant\n%+v", got, want)
	}
	// Views are copies: writing to them must not change the policy.
	got[0].Permissions[0] = Audit
	got[0].VirtualProxies[0] = "*"
	if d := p.Decide([]string{"slack:UHOST"}, Audit, finN1); d.Allowed {
		t.Errorf("editing a GrantView changed the policy: %+v", d)
	}
	if g := p.Grants([]string{"email:ann.lee@EXAMPLE.com"}); len(g) != 1 || g[0].Subject != "email:ann.lee@EXAMPLE.com" || g[0].Role != "viewer" {
		t.Errorf("Grants by email = %+v", g)
	}
	if g := p.Grants([]string{"slack:UNOBODY"}); len(g) != 0 {
		t.Errorf("Grants for a stranger = %+v", g)
	}
}
