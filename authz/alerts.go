package authz

import (
	//DELETE-IMPORT
	//DELETE-IMPORT
	//DELETE-IMPORT
	//DELETE-IMPORT
	//DELETE-IMPORT
	//DELETE-IMPORT
	"slices"
	"strings"
	"time"
)

// Alert rules: what the watcher (package watch) alerts about and where it
// posts. They live in the policy file's alerts section, or in a file of
// their own (LoadAlertsFile) holding only that section:
//
//	alerts:
//	  repeat: 4h                  # re-notify a firing alert this often (default 4h)
//	  rules:
//	    - name: session-limit     # letters, digits, - and _: what /qlik subscribe names
//	      type: user-sessions     # a user with at least `sessions` sessions on a site
//	      sessions: 5             # default 5, the access-pass limit
//	      sites: [prod]           # optional; empty = every site
//	      virtualProxies: []      # optional (user-sessions, proxy-sessions); empty = every one
//	      post:
//	        slack: [C0OPS]        # channel ids
//	        teams:                # conversation references
//	          - serviceUrl: https://smba.trafficmanager.net/emea/
//	            conversation: "19:abc@thread.tacv2"
//	            tenant: contoso.onmicrosoft.com
//	        console: false        # the console chat of the process
//	        subscribers: true     # channels that subscribed (/qlik subscribe); default true
//	    - name: node-down
//	      type: node-down         # a node's proxy or engine not answering
//	      samples: 3              # for this many samples in a row (default 3)
//	    - name: engine-busy
//	      type: engine            # any of: saturated, CPU above, free memory below
//	      saturated: true
//	      cpuAbove: 90            # percent
//	      memFreeBelow: 10        # percent of the physical memory
//	    - name: finance-crowded
//	      type: proxy-sessions    # sessions on a virtual proxy (all its nodes) above `above`
//	      above: 200
//	      virtualProxies: [finance]
//
// Without an alerts section the default rules hold (DefaultAlertRules:
// session-limit, node-down and engine, posting to subscribers only);
// "alerts: {rules: []}" has none. Every mistake is an error naming the
// rule and the field.

// AlertType is what an alert rule watches.
type AlertType string

// The alert types.
const (
	AlertUserSessions  AlertType = "user-sessions"  // a user at or above N sessions on a site
	AlertNodeDown      AlertType = "node-down"      // a node's proxy or engine not answering for N samples
	AlertEngine        AlertType = "engine"         // an engine saturated, over a CPU or under a free memory threshold
	AlertProxySessions AlertType = "proxy-sessions" // sessions on a virtual proxy above N
)

var alertTypes = []AlertType{AlertUserSessions, AlertNodeDown, AlertEngine, AlertProxySessions}

// Defaults and limits of alert rules.
const (
	DefaultAlertRepeat   = 4 * time.Hour
	DefaultAlertSessions = 5 // the access-pass limit
	DefaultAlertSamples  = 3
	DefaultAlertCPU      = 90.0
	DefaultAlertMemFree  = 10.0
	MaxAlertRules        = 100
	maxAlertTargets      = 50
	minAlertRepeat       = time.Minute
	maxAlertRepeat       = 30 * 24 * time.Hour
)

// AlertRule is one rule of the alerts section, checked and with its
// defaults filled in.
type AlertRule struct {
	Name           string // lower-case
	Type           AlertType
	Sites          []string // lower-case; empty: every site
	VirtualProxies []string // lower-case prefixes, "" the default one; empty: every one
	Sessions       int      // user-sessions: at or above
	Samples        int      // node-down: samples in a row
	Saturated      bool     // engine
	CPUAbove       float64  // engine: 0 = not checked
	MemFreeBelow   float64  // engine: 0 = not checked
	Above          int      // proxy-sessions: above
	Repeat         time.Duration
	Post           AlertPost
}

// AlertPost says where a rule's alerts go.
type AlertPost struct {
	Slack       []string // channel ids
	Teams       []TeamsConversation
	Console     bool
	Subscribers bool
}

// TeamsConversation is where a proactive Teams message goes: the
// conversation reference of a channel.
type TeamsConversation struct {
	ServiceURL   string
	Conversation string
	Tenant       string
}

// AppliesTo reports whether the rule watches site.
func (r AlertRule) AppliesTo(site string) bool {
	return len(r.Sites) == 0 || slices.Contains(r.Sites, strings.ToLower(site))
}

// WatchesProxy reports whether the rule watches the virtual proxy prefix.
func (r AlertRule) WatchesProxy(prefix string) bool {
	return len(r.VirtualProxies) == 0 || slices.Contains(r.VirtualProxies, strings.ToLower(prefix))
}

// DefaultAlertRules are the rules without an alerts section: a user at the
// access-pass limit, a node not answering for 3 samples, an engine
// saturated, at 90% CPU or under 10% free memory; each posting to the
// channels that subscribed.
func DefaultAlertRules() []AlertRule {
	post := AlertPost{Subscribers: true}
	return []AlertRule{
		{Name: "session-limit", Type: AlertUserSessions, Sessions: DefaultAlertSessions, Repeat: DefaultAlertRepeat, Post: post},
		{Name: "node-down", Type: AlertNodeDown, Samples: DefaultAlertSamples, Repeat: DefaultAlertRepeat, Post: post},
		{Name: "engine", Type: AlertEngine, Saturated: true, CPUAbove: DefaultAlertCPU, MemFreeBelow: DefaultAlertMemFree, Repeat: DefaultAlertRepeat, Post: post},
	}
}

// Alerts returns the policy's alert rules: its alerts section, or
// DefaultAlertRules when it has none. The slice is a copy.
func (p *Policy) Alerts() []AlertRule {
	if p == nil || !p.hasAlerts {
		return DefaultAlertRules()
	}
	return cloneRules(p.alerts)
}

func cloneRules(rs []AlertRule) []AlertRule {
	out := make([]AlertRule, len(rs))
	for i, r := range rs {
		r.Sites, r.VirtualProxies = slices.Clone(r.Sites), slices.Clone(r.VirtualProxies)
		r.Post.Slack, r.Post.Teams = slices.Clone(r.Post.Slack), slices.Clone(r.Post.Teams)
		out[i] = r
	}
	return out
}
