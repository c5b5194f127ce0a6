package authz

import (
	_ "embed"
	"fmt"
	"slices"
)

//go:embed demo-policy.yaml
var demoPolicyYAML []byte

// DemoPolicyYAML returns (a copy of) the demo policy file, e.g. to write it
// out as a starting point.
func DemoPolicyYAML() []byte { return slices.Clone(demoPolicyYAML) }

// DemoPolicy returns the demo policy for the console users console:oncall
// (viewer everywhere), console:lead (person lee: lead on "finance", viewer
// everywhere), console:admin (person ada: everything, audit included,
// everywhere) and console:deputy (person dee: may approve and audit
// everywhere, so what the admin asks for can be approved).
func DemoPolicy() *Policy {
	p, err := Parse(demoPolicyYAML)
	if err != nil {
		// The file is compiled in and parsed by the tests: a programming error.
		panic(fmt.Sprintf("authz: embedded demo policy: %v", err))
	}
	return p
}
