package main

import (
	"os"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/authz"
)

// TestShippedK8sPolicy: the policy deploy/k8s/base ships parses, and its
// admin role, granted on every virtual proxy, holds every permission
// qlikbot knows (health and subscribe included); its viewer may list and
// read health but not act.
func TestShippedK8sPolicy(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../deploy/k8s/base/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "grants: []", `grants:
  - subjects: ["console:admin"]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: ["console:viewer"]
    roles: [viewer]
    virtualProxies: ["*"]`, 1)
	if text == string(data) {
		t.Fatal(`deploy/k8s/base/policy.yaml has no "grants: []" to fill in`)
	}
	p, err := authz.Parse([]byte(text))
	if err != nil {
		t.Fatalf("deploy/k8s/base/policy.yaml: %v", err)
	}
	everywhere := authz.Scope{VirtualProxy: "*"}
	for _, perm := range authz.Permissions() {
		if d := p.Decide([]string{"console:admin"}, perm, everywhere); !d.Allowed {
			t.Errorf("admin lacks %s: %s", perm, d.Reason)
		}
		want := perm == "list" || perm == "health"
		if d := p.Decide([]string{"console:viewer"}, perm, everywhere); d.Allowed != want {
			t.Errorf("viewer %s: allowed %v, want %v", perm, d.Allowed, want)
		}
	}
}
