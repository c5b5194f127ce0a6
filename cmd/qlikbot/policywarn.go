package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/qlikbot/qlikbot/authz"
)

// minApprovalTTL is the shortest approval lifetime that leaves a second
// person time to read the request and click.
const minApprovalTTL = time.Minute

// policyWarnings are what the loaded policy at path cannot do as probably
// meant: grant nothing, or let approvals expire before anyone can click.
// They are warnings, not errors: an empty policy is a valid first step
// (deny everything) and the policy is reloaded while qlikbot runs.
func policyWarnings(path string, p *authz.Policy, sites []string) []string {
	var warn []string
	if data, err := os.ReadFile(path); err == nil {
		var spec struct {
			Grants []yaml.Node `yaml:"grants"`
		}
		if yaml.Unmarshal(data, &spec) == nil && len(spec.Grants) == 0 {
			warn = append(warn, "the policy grants nothing: every request will be denied until grants are added (see authz/demo-policy.yaml)")
		}
	}
	for _, name := range p.SiteNames() {
		if !slices.Contains(sites, name) {
			warn = append(warn, fmt.Sprintf("the policy grants rights on site %q, which is not one of the sites served (%s): check its spelling", name, strings.Join(sites, ", ")))
		}
	}
	if ttl := p.ApprovalTTL(); ttl < minApprovalTTL {
		warn = append(warn, fmt.Sprintf("the policy's approval ttl %s is under %s: requests will expire before a second person can approve them", ttl, minApprovalTTL))
	}
	return warn
}
