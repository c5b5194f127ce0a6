package authz

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// sitesPolicy has grants scoped to sites next to one that is not.
const sitesPolicy = `
roles:
  viewer: [list]
  lead:   [list, delete, kick, logout, approve]
  admin:  [list, delete, kick, logout, approve, audit, health]
grants:
  - subjects: ["slack:UEVERY"]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: ["slack:UPROD"]
    roles: [admin]
    virtualProxies: ["*"]
    sites: ["Prod"]
  - subjects: ["slack:UTEST"]
    roles: [lead]
    virtualProxies: ["finance"]
    sites: ["test", "dev"]
  - subjects: ["slack:UTEST"]
    roles: [viewer]
    virtualProxies: ["*"]
`

func TestDecideSites(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(sitesPolicy))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		name    string
		subject string
		scope   Scope
		allowed []Permission
	}{
		{"unscoped grant on a site", "slack:UEVERY", Scope{VirtualProxy: "hr", Site: "prod"}, all},
		{"unscoped grant on every site", "slack:UEVERY", Scope{VirtualProxy: "*"}, all},
		{"site grant on its site", "slack:UPROD", Scope{VirtualProxy: "hr", Site: "prod"}, all},
		{"site grant, site in another case", "slack:UPROD", Scope{VirtualProxy: "hr", Site: "PROD"}, all},
		{"site grant on another site", "slack:UPROD", Scope{VirtualProxy: "hr", Site: "test"}, none},
		{"site grant on every site", "slack:UPROD", Scope{VirtualProxy: "*"}, none},
		{"site grant, site is not a prefix match", "slack:UPROD", Scope{VirtualProxy: "hr", Site: "prod2"}, none},
		{"two sites, the second", "slack:UTEST", Scope{VirtualProxy: "finance", Site: "dev"}, lead},
		{"two sites, elsewhere only the unscoped viewer", "slack:UTEST", Scope{VirtualProxy: "finance", Site: "prod"}, view},
		{"unscoped viewer on every site", "slack:UTEST", Scope{VirtualProxy: "finance"}, view},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, pm := range Permissions() {
				d := p.Decide([]string{tc.subject}, pm, tc.scope)
				if want := slices.Contains(tc.allowed, pm); d.Allowed != want {
					t.Errorf("%s on %+v: Allowed = %v, want %v (%s)", pm, tc.scope, d.Allowed, want, d.Reason)
				}
			}
		})
	}
}

func TestDecideSiteReasons(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(sitesPolicy))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	d := p.Decide([]string{"slack:UPROD"}, Audit, Scope{VirtualProxy: "*"})
	if d.Allowed || !strings.Contains(d.Reason, "only on sites prod: name one") {
		t.Errorf("audit without a site for a prod-only admin: %+v; want a denial hinting at the site", d)
	}
	d = p.Decide([]string{"slack:UPROD"}, Kick, Scope{VirtualProxy: "finance", Site: "test"})
	if d.Allowed || !strings.Contains(d.Reason, `on site "test"`) {
		t.Errorf("kick on test for a prod-only admin: %+v; want a denial naming the site", d)
	}
	d = p.Decide([]string{"slack:UPROD"}, Kick, Scope{VirtualProxy: "finance", Site: "prod"})
	if !d.Allowed || !strings.Contains(d.Reason, `on site "prod"`) {
		t.Errorf("kick on prod for a prod-only admin: %+v; want allowed, naming the site", d)
	}
}

func TestSiteGrantsParse(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(sitesPolicy))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := p.SiteNames(), []string{"dev", "prod", "test"}; !slices.Equal(got, want) {
		t.Errorf("SiteNames = %v, want %v", got, want)
	}
	got := p.Grants([]string{"slack:UTEST"})
	if len(got) != 2 || fmt.Sprint(got[0].Sites) != "[test dev]" || len(got[1].Sites) != 0 {
		t.Errorf("Grants of UTEST = %+v; want the site list on the first and none on the second", got)
	}
	const roles = "roles: {viewer: [list]}\ngrants:\n  - "
	for _, tc := range []struct{ in, want string }{
		{`{subjects: ["slack:U1"], roles: [viewer], virtualProxies: ["*"], sites: ["*"]}`, "leave sites out"},
		{`{subjects: ["slack:U1"], roles: [viewer], virtualProxies: ["*"], sites: ["pro d"]}`, `site "pro d"`},
		{`{subjects: ["slack:U1"], roles: [viewer], virtualProxies: ["*"], sites: [""]}`, `site ""`},
		{`{subjects: ["slack:U1"], roles: [viewer], virtualProxies: ["*"], site: ["prod"]}`, "field site not found"},
	} {
		_, err := Parse([]byte(roles + tc.in + "\n"))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v; want ErrInvalid containing %q", tc.in, err, tc.want)
		}
	}
}

func TestCheckSiteName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"prod", "test", "eu-west_2", "P1", strings.Repeat("a", 32)} {
		if err := CheckSiteName(ok); err != nil {
			t.Errorf("CheckSiteName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "-prod", "_x", "pr od", "prod/", "*", "é", strings.Repeat("a", 33)} {
		if err := CheckSiteName(bad); err == nil {
			t.Errorf("CheckSiteName(%q) = nil, want an error", bad)
		}
	}
}
