package authz

import (
	"bytes"
	"slices"
	"testing"
)

func TestDemoPolicy(t *testing.T) {
	t.Parallel()
	p := DemoPolicy()
	if _, err := Parse(DemoPolicyYAML()); err != nil {
		t.Fatalf("demo policy YAML does not parse: %v", err)
	}
	tests := []struct {
		name    string
		subject string
		scope   Scope
		allowed []Permission
	}{
		{"oncall finance", "console:oncall", Scope{VirtualProxy: "finance"}, []Permission{List, Health}},
		{"oncall default", "console:oncall", Scope{}, []Permission{List, Health}},
		{"lead finance", "console:lead", Scope{VirtualProxy: "finance", Host: "n1", Channel: "console"}, []Permission{List, Delete, Kick, Logout, Approve, Health}},
		{"lead default", "console:lead", Scope{}, []Permission{List, Health}},
		{"lead hr", "console:lead", Scope{VirtualProxy: "hr"}, []Permission{List, Health}},
		{"admin finance", "console:admin", Scope{VirtualProxy: "finance"}, Permissions()},
		{"admin default", "console:admin", Scope{}, Permissions()},
		{"deputy finance", "console:deputy", Scope{VirtualProxy: "finance"}, []Permission{List, Approve, Audit, Health}},
		{"deputy everywhere", "console:deputy", Scope{VirtualProxy: "*"}, []Permission{List, Approve, Audit, Health}},
		{"stranger", "console:mallory", Scope{VirtualProxy: "finance"}, nil},
		{"viewer health of a node", "console:oncall", Scope{VirtualProxy: "*", Host: "pro2-win1.lab.ptarmiganlabs.net", Site: "prod"}, []Permission{List, Health}},
		{"tester on test", "console:tester", Scope{VirtualProxy: "vp2", Site: "test"}, []Permission{List, Delete, Kick, Logout, Approve, Health}},
		{"tester on prod", "console:tester", Scope{VirtualProxy: "finance", Site: "prod"}, []Permission{List, Health}},
		{"lead on test", "console:lead", Scope{VirtualProxy: "finance", Site: "test"}, []Permission{List, Delete, Kick, Logout, Approve, Health}},
		{"commented-out slack example is not live", "slack:U0ONCALL", Scope{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, pm := range Permissions() {
				d := p.Decide([]string{tc.subject}, pm, tc.scope)
				if want := slices.Contains(tc.allowed, pm); d.Allowed != want {
					t.Errorf("%s: Allowed = %v, want %v (%s)", pm, d.Allowed, want, d.Reason)
				}
			}
		})
	}
	if !p.NeedsApproval(Kick) || !p.NeedsApproval(Logout) || p.NeedsApproval(Delete) || p.ApprovalTTL().Minutes() != 30 {
		t.Error("demo approval rules are not kick+logout for 30m")
	}
	// The demo never dead-ends: wherever someone may ask for something that
	// needs approval, someone else may approve it.
	for _, asker := range []string{"console:oncall", "console:lead", "console:admin", "console:deputy", "console:tester"} {
		for _, vp := range []string{"finance", "", "hr", "win", "*"} {
			for _, pm := range []Permission{Delete, Kick, Logout} {
				s := Scope{VirtualProxy: vp, Host: "pro2-win1.lab.ptarmiganlabs.net", Channel: "console", Site: "test"}
				if !p.NeedsApproval(pm) || !p.Decide([]string{asker}, pm, s).Allowed {
					continue
				}
				if h := p.Holders(Approve, []Scope{s}, []string{asker}); len(h) == 0 {
					t.Errorf("%s may %s on %q but nobody else may approve it", asker, pm, vp)
				}
			}
		}
	}
	if name, ok := p.Person([]string{"console:lead"}); !ok || name != "lee" {
		t.Errorf("console:lead is person %q, %v; want lee", name, ok)
	}
	y := DemoPolicyYAML()
	y[0] = '!'
	if bytes.Equal(y, DemoPolicyYAML()) {
		t.Error("DemoPolicyYAML exposes the embedded bytes")
	}
}
