package authz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Parsing and checking the alerts section (in the policy or a file of its
// own).

// The alerts section's shape. Pointers tell "not given" from zero.
type alertsSpec struct {
	Repeat string          `yaml:"repeat"`
	Rules  []alertRuleSpec `yaml:"rules"`
}

type alertRuleSpec struct {
	Name           string         `yaml:"name"`
	Type           string         `yaml:"type"`
	Sites          []string       `yaml:"sites"`
	VirtualProxies []string       `yaml:"virtualProxies"`
	Sessions       *int           `yaml:"sessions"`
	Samples        *int           `yaml:"samples"`
	Saturated      *bool          `yaml:"saturated"`
	CPUAbove       *float64       `yaml:"cpuAbove"`
	MemFreeBelow   *float64       `yaml:"memFreeBelow"`
	Above          *int           `yaml:"above"`
	Repeat         string         `yaml:"repeat"`
	Post           *alertPostSpec `yaml:"post"`
}

type alertPostSpec struct {
	Slack       []string         `yaml:"slack"`
	Teams       []teamsConvoSpec `yaml:"teams"`
	Console     bool             `yaml:"console"`
	Subscribers *bool            `yaml:"subscribers"`
}

type teamsConvoSpec struct {
	ServiceURL   string `yaml:"serviceUrl"`
	Conversation string `yaml:"conversation"`
	Tenant       string `yaml:"tenant"`
}

// alertsFile is a file of alert rules alone (QLIKBOT_ALERTS).
type alertsFile struct {
	Alerts *alertsSpec `yaml:"alerts"`
}

// LoadAlertsFile reads a file holding an alerts section alone (the same
// "alerts:" as in the policy file) and returns its rules. Mistakes wrap
// ErrInvalid and name the rule and the field.
func LoadAlertsFile(path string) ([]AlertRule, error) {
	data, err := readPolicyFile(path)
	if err != nil {
		return nil, err
	}
	rules, err := parseAlerts(data)
	if err != nil {
		return nil, fmt.Errorf("load alerts %s: %w", path, err)
	}
	return rules, nil
}

// parseAlerts parses a file holding an alerts section alone.
func parseAlerts(data []byte) ([]AlertRule, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var f alertsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if f.Alerts == nil {
		return nil, fmt.Errorf("%w: no alerts section (the file holds alerts: with repeat and rules)", ErrInvalid)
	}
	rules, err := buildAlerts(*f.Alerts, alertRuleLines(&root))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return rules, nil
}

// alertRuleLines returns the line of each rule of alerts.rules.
func alertRuleLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := child(root.Content[0], "alerts")
	if m == nil {
		return nil
	}
	rules := child(m, "rules")
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return nil
	}
	lines := make([]int, len(rules.Content))
	for i, r := range rules.Content {
		lines[i] = r.Line
	}
	return lines
}

func child(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

var (
	ruleNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
	slackIDRE  = regexp.MustCompile(`^[A-Z0-9]{2,40}$`)
)

func buildAlerts(spec alertsSpec, lines []int) ([]AlertRule, error) {
	repeat := DefaultAlertRepeat
	if spec.Repeat != "" {
		d, err := alertRepeat(spec.Repeat)
		if err != nil {
			return nil, fmt.Errorf("alerts: repeat: %w", err)
		}
		repeat = d
	}
	if len(spec.Rules) > MaxAlertRules {
		return nil, fmt.Errorf("alerts: %d rules, at most %d", len(spec.Rules), MaxAlertRules)
	}
	rules := make([]AlertRule, 0, len(spec.Rules))
	for i, rs := range spec.Rules {
		where := fmt.Sprintf("rule %d", i+1)
		if rs.Name != "" {
			where = fmt.Sprintf("rule %q", rs.Name)
		}
		if i < len(lines) {
			where += fmt.Sprintf(" (line %d)", lines[i])
		}
		r, err := buildRule(rs, repeat)
		if err != nil {
			return nil, fmt.Errorf("alerts: %s: %w", where, err)
		}
		if slices.ContainsFunc(rules, func(o AlertRule) bool { return o.Name == r.Name }) {
			return nil, fmt.Errorf("alerts: %s: name: %q is used by another rule", where, r.Name)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func alertRepeat(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a duration like 4h", s)
	}
	if d < minAlertRepeat || d > maxAlertRepeat {
		return 0, fmt.Errorf("%s: want %s to %s", d, minAlertRepeat, maxAlertRepeat)
	}
	return d, nil
}

// buildRule checks one rule; errors name the field.
func buildRule(rs alertRuleSpec, repeat time.Duration) (AlertRule, error) {
	r := AlertRule{Name: strings.ToLower(rs.Name), Type: AlertType(rs.Type), Repeat: repeat}
	if CheckRuleName(r.Name) != nil {
		return r, fmt.Errorf("name: %q; want 1 to 40 letters, digits, - and _, starting with a letter or digit", rs.Name)
	}
	if !slices.Contains(alertTypes, r.Type) {
		return r, fmt.Errorf("type: %q; want one of %s", rs.Type, typeList())
	}
	if rs.Repeat != "" {
		d, err := alertRepeat(rs.Repeat)
		if err != nil {
			return r, fmt.Errorf("repeat: %w", err)
		}
		r.Repeat = d
	}
	for _, s := range rs.Sites {
		if err := CheckSiteName(s); err != nil {
			return r, fmt.Errorf("sites: %w", err)
		}
		r.Sites = appendUnique(r.Sites, strings.ToLower(s))
	}
	if len(rs.VirtualProxies) > 0 && r.Type != AlertUserSessions && r.Type != AlertProxySessions {
		return r, fmt.Errorf("virtualProxies: only for types %s and %s", AlertUserSessions, AlertProxySessions)
	}
	for _, vp := range rs.VirtualProxies {
		if vp == "*" || strings.ContainsAny(vp, " /*") {
			return r, fmt.Errorf("virtualProxies: %q; want prefixes (default for the default one), or leave it out for every one", vp)
		}
		if strings.EqualFold(vp, "default") {
			vp = ""
		}
		r.VirtualProxies = appendUnique(r.VirtualProxies, strings.ToLower(vp))
	}
	if err := r.setThresholds(rs); err != nil {
		return r, err
	}
	post, err := buildPost(rs.Post)
	if err != nil {
		return r, err
	}
	r.Post = post
	return r, nil
}

// setThresholds fills the figures of r's type and refuses those of others.
func (r *AlertRule) setThresholds(rs alertRuleSpec) error {
	given := map[string]bool{"sessions": rs.Sessions != nil, "samples": rs.Samples != nil, "saturated": rs.Saturated != nil,
		"cpuAbove": rs.CPUAbove != nil, "memFreeBelow": rs.MemFreeBelow != nil, "above": rs.Above != nil}
	own := map[AlertType][]string{
		AlertUserSessions: {"sessions"}, AlertNodeDown: {"samples"},
		AlertEngine: {"saturated", "cpuAbove", "memFreeBelow"}, AlertProxySessions: {"above"},
	}[r.Type]
	for _, f := range []string{"sessions", "samples", "saturated", "cpuAbove", "memFreeBelow", "above"} {
		if given[f] && !slices.Contains(own, f) {
			return fmt.Errorf("%s: not a field of type %s (it takes %s)", f, r.Type, strings.Join(own, ", "))
		}
	}
	var err error
	switch r.Type {
	case AlertUserSessions:
		r.Sessions, err = intField("sessions", rs.Sessions, DefaultAlertSessions, 1, 1000, "a session count")
	case AlertNodeDown:
		r.Samples, err = intField("samples", rs.Samples, DefaultAlertSamples, 1, 1000, "a number of samples")
	case AlertEngine:
		if rs.Saturated == nil && rs.CPUAbove == nil && rs.MemFreeBelow == nil {
			r.Saturated, r.CPUAbove, r.MemFreeBelow = true, DefaultAlertCPU, DefaultAlertMemFree
			return nil
		}
		if rs.Saturated != nil {
			r.Saturated = *rs.Saturated
		}
		if r.CPUAbove, err = percentField("cpuAbove", rs.CPUAbove); err != nil {
			return err
		}
		if r.MemFreeBelow, err = percentField("memFreeBelow", rs.MemFreeBelow); err != nil {
			return err
		}
		if !r.Saturated && r.CPUAbove == 0 && r.MemFreeBelow == 0 {
			return errors.New("saturated: false, and no cpuAbove or memFreeBelow: the rule checks nothing")
		}
	case AlertProxySessions:
		if rs.Above == nil {
			return errors.New("above: missing; want the session count a virtual proxy must pass to alert")
		}
		r.Above, err = intField("above", rs.Above, 0, 0, 1000000, "a session count")
	}
	return err
}

// intField is an optional whole number within [lo, hi]; def when not given.
func intField(name string, v *int, def, lo, hi int, want string) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < lo || *v > hi {
		return 0, fmt.Errorf("%s: %d; want %s from %d to %d", name, *v, want, lo, hi)
	}
	return *v, nil
}

// percentField is an optional percent above 0 and under 100; 0 when not
// given (not checked).
func percentField(name string, v *float64) (float64, error) {
	if v == nil {
		return 0, nil
	}
	if !(*v > 0 && *v < 100) {
		return 0, fmt.Errorf("%s: %v; want a percent above 0 and under 100", name, *v)
	}
	return *v, nil
}

func buildPost(ps *alertPostSpec) (AlertPost, error) {
	if ps == nil {
		return AlertPost{Subscribers: true}, nil
	}
	p := AlertPost{Console: ps.Console, Subscribers: ps.Subscribers == nil || *ps.Subscribers}
	if len(ps.Slack)+len(ps.Teams) > maxAlertTargets {
		return p, fmt.Errorf("post: %d channels, at most %d", len(ps.Slack)+len(ps.Teams), maxAlertTargets)
	}
	for _, c := range ps.Slack {
		if !slackIDRE.MatchString(c) {
			return p, fmt.Errorf("post: slack: %q; want a channel id like C0123ABCD (in the channel's details), not its name", c)
		}
		p.Slack = appendUnique(p.Slack, c)
	}
	for i, t := range ps.Teams {
		u, err := url.Parse(t.ServiceURL)
		switch {
		case t.ServiceURL == "":
			return p, fmt.Errorf("post: teams %d: serviceUrl: missing; want the service URL of the conversation reference", i+1)
		case err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))):
			return p, fmt.Errorf("post: teams %d: serviceUrl: %q; want an https URL like https://smba.trafficmanager.net/emea/", i+1, t.ServiceURL)
		case t.Conversation == "" || strings.ContainsAny(t.Conversation, "/?# "):
			return p, fmt.Errorf("post: teams %d: conversation: %q; want the channel's conversation id like 19:abc@thread.tacv2", i+1, t.Conversation)
		case strings.ContainsAny(t.Tenant, "/?# "):
			return p, fmt.Errorf("post: teams %d: tenant: %q; want the tenant id or domain", i+1, t.Tenant)
		}
		p.Teams = appendUnique(p.Teams, TeamsConversation(t))
	}
	if !p.Console && !p.Subscribers && len(p.Slack) == 0 && len(p.Teams) == 0 {
		return p, errors.New("post: nowhere to post; give slack, teams, console: true or subscribers: true")
	}
	return p, nil
}

func loopbackHost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

func typeList() string {
	s := make([]string, len(alertTypes))
	for i, t := range alertTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// CheckRuleName checks what an alert rule may be called: 1 to 40 of a-z,
// 0-9, "_" and "-", starting with a letter or digit.
func CheckRuleName(name string) error {
	if !ruleNameRE.MatchString(name) {
		return fmt.Errorf("%q is not a rule name (1 to 40 of a-z, 0-9, _ and -)", name)
	}
	return nil
}
