package authz_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/authz"
)

func ExamplePolicy_Decide() {
	p, err := authz.Parse([]byte(`
roles:
  lead: [list, delete, kick, logout, approve]
grants:
  - subjects: ["slack:U0LEAD", "email:lead@example.com"]
    roles: [lead]
    virtualProxies: ["finance"]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Decide([]string{"slack:U2CERLKJA"}, authz.Kick, authz.Scope{VirtualProxy: "finance"}).Reason)
	fmt.Println(p.Decide([]string{"slack:U9", "email:Lead@Example.com"}, authz.Kick, authz.Scope{VirtualProxy: "Finance"}).Reason)
	fmt.Println(p.NeedsApproval(authz.Kick), p.ApprovalTTL())
	// Output:
	// slack:U2CERLKJA has no grant with "kick" on virtual proxy "finance"
	// email:Lead@Example.com may "kick" on virtual proxy "Finance" (role "lead")
	// true 30m0s
}

// BenchmarkDecide measures a decision against a policy of 500 grants where
// the asker's grant is the last one.
func BenchmarkDecide(b *testing.B) {
	var y strings.Builder
	y.WriteString("roles: {viewer: [list], lead: [list, delete, kick, logout, approve]}\ngrants:\n")
	for i := range 500 {
		fmt.Fprintf(&y, "  - {subjects: [\"slack:U%d\", \"email:u%d@example.com\"], roles: [viewer, lead], virtualProxies: [\"vp%d\", finance], hosts: [\"node%d\"]}\n", i, i, i, i%4)
	}
	p, err := authz.Parse([]byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	subjects := []string{"slack:U499", "email:U499@example.com"}
	s := authz.Scope{VirtualProxy: "finance", Host: "node3", Channel: "C1"}
	for b.Loop() {
		if !p.Decide(subjects, authz.Kick, s).Allowed {
			b.Fatal("denied")
		}
	}
}
