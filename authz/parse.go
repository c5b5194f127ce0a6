package authz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrInvalid is wrapped by every error Parse returns for a policy that is
// not acceptable, so callers can tell a bad file from a missing one.
var ErrInvalid = errors.New("invalid policy")

// Defaults and limits of the approval section.
const (
	DefaultApprovalTTL = 30 * time.Minute
	MaxApprovalTTL     = 7 * 24 * time.Hour
	// maxFileSize caps what LoadFile reads; a policy is a few kilobytes.
	maxFileSize = 1 << 20
)

// defaultApproval is what needs a second person when the file does not say.
var defaultApproval = []Permission{Kick, Logout}

// The file's shape. Field names are the YAML keys; unknown keys are errors.
type fileSpec struct {
	People   []personSpec            `yaml:"people"`
	Roles    map[string][]Permission `yaml:"roles"`
	Grants   []grantSpec             `yaml:"grants"`
	Approval *approvalSpec           `yaml:"approval"`
	Alerts   *alertsSpec             `yaml:"alerts"`
}

type grantSpec struct {
	Subjects       []string `yaml:"subjects"`
	Roles          []string `yaml:"roles"`
	VirtualProxies []string `yaml:"virtualProxies"`
	Hosts          []string `yaml:"hosts"`
	Channels       []string `yaml:"channels"`
	Sites          []string `yaml:"sites"`
}

type approvalSpec struct {
	// A pointer tells "not given" (defaults) from "required: []" (none).
	Required *[]Permission `yaml:"required"`
	TTL      string        `yaml:"ttl"`
}

// LoadFile reads and parses the policy file at path.
func LoadFile(path string) (*Policy, error) {
	data, err := readPolicyFile(path)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	return p, nil
}

func readPolicyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("load policy %s: %w: larger than %d bytes", path, ErrInvalid, maxFileSize)
	}
	return data, nil
}

// Parse parses a policy file (YAML; JSON is valid YAML). It is strict:
// unknown keys, unknown permissions, roles used but not defined, bad or
// out-of-range durations, malformed subjects (including "*"), and grants
// without subjects, roles or virtual proxies are errors wrapping ErrInvalid.
// An empty file (or one holding only comments) is an error too, so that a
// file caught half-written is never taken for "nobody may do anything";
// write "{}" or "grants: []" to mean that.
func Parse(data []byte) (*Policy, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrInvalid)
	}
	// Decode a second time with KnownFields: yaml.Node.Decode cannot reject
	// unknown keys, and the node tree is kept only for line numbers.
	var spec fileSpec
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&spec); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	p, err := build(spec, itemLines(&root, "grants"), itemLines(&root, "people"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if spec.Alerts != nil {
		if p.alerts, err = buildAlerts(*spec.Alerts, alertRuleLines(&root)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		p.hasAlerts = true
	}
	return p, nil
}

// itemLines returns the line of each item of the top-level list key.
func itemLines(root *yaml.Node, key string) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key || m.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		lines := make([]int, len(m.Content[i+1].Content))
		for j, item := range m.Content[i+1].Content {
			lines[j] = item.Line
		}
		return lines
	}
	return nil
}

func build(spec fileSpec, lines, peopleLines []int) (*Policy, error) {
	p := &Policy{
		roles:     make(map[string][]Permission, len(spec.Roles)),
		bySubject: make(map[string][]int),
		approval:  slices.Clone(defaultApproval),
		ttl:       DefaultApprovalTTL,
		personOf:  make(map[string]string),
	}
	if err := p.buildPeople(spec.People, peopleLines); err != nil {
		return nil, err
	}
	for name, perms := range spec.Roles {
		ps, err := buildRole(name, perms)
		if err != nil {
			return nil, err
		}
		p.roles[name] = ps
	}
	for i, gs := range spec.Grants {
		where := fmt.Sprintf("grant %d", i+1)
		if i < len(lines) {
			where = fmt.Sprintf("grant %d (line %d)", i+1, lines[i])
		}
		g, err := buildGrant(gs, p.roles, p.personSubjects)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		g.position = make(map[string]int, len(g.subjects))
		for j, sub := range g.subjects {
			p.bySubject[sub] = append(p.bySubject[sub], len(p.grants))
			g.position[sub] = j
		}
		p.grants = append(p.grants, g)
	}
	if spec.Approval != nil {
		if err := p.buildApproval(*spec.Approval); err != nil {
			return nil, fmt.Errorf("approval: %w", err)
		}
	}
	return p, nil
}

func buildRole(name string, perms []Permission) ([]Permission, error) {
	if name == "" || strings.ContainsFunc(name, isSpace) {
		return nil, fmt.Errorf("role name %q: must be non-empty without spaces", name)
	}
	if len(perms) == 0 {
		return nil, fmt.Errorf("role %q: lists no permissions", name)
	}
	for _, pm := range perms {
		if !pm.Valid() {
			return nil, fmt.Errorf("role %q: unknown permission %q (known: %s)", name, pm, permList(allPermissions[:]))
		}
	}
	return sortPerms(perms), nil
}

func buildGrant(gs grantSpec, roles map[string][]Permission, personSubjects func(string) ([]string, error)) (grant, error) {
	var g grant
	if len(gs.Subjects) == 0 {
		return g, errors.New("no subjects")
	}
	for _, s := range gs.Subjects {
		if name, ok := strings.CutPrefix(s, "person:"); ok {
			// A person stands for all of their identities.
			subs, err := personSubjects(name)
			if err != nil {
				return g, err
			}
			for _, n := range subs {
				g.subjects = appendUnique(g.subjects, n)
			}
			continue
		}
		n, err := normSubject(s)
		if err != nil {
			return g, err
		}
		g.subjects = appendUnique(g.subjects, n)
	}
	if len(gs.Roles) == 0 {
		return g, errors.New("no roles")
	}
	for _, r := range gs.Roles {
		if _, ok := roles[r]; !ok {
			return g, fmt.Errorf("role %q is not defined under roles", r)
		}
		g.roles = appendUnique(g.roles, r)
	}
	g.perms = make(map[Permission]string)
	for _, r := range g.roles {
		for _, pm := range roles[r] {
			if _, ok := g.perms[pm]; !ok {
				g.perms[pm] = r // the first role listed gets the credit
			}
		}
	}
	if len(gs.VirtualProxies) == 0 {
		return g, errors.New(`no virtualProxies (use ["*"] for all, "" or "default" for the default one)`)
	}
	for _, vp := range gs.VirtualProxies {
		switch {
		case vp == "*":
			g.anyVP = true
		case vp == "" || strings.EqualFold(vp, "default"):
			g.vps = appendUnique(g.vps, "")
		case strings.HasPrefix(vp, "/") || strings.HasSuffix(vp, "/") || strings.ContainsFunc(vp, isSpace) || strings.Contains(vp, "*"):
			return g, fmt.Errorf("virtual proxy %q: a prefix has no spaces, no leading or trailing \"/\" and no \"*\" inside", vp)
		default:
			g.vps = appendUnique(g.vps, strings.ToLower(vp))
		}
	}
	for _, h := range gs.Hosts {
		if err := checkListItem("host", h, "hosts"); err != nil {
			return g, err
		}
		g.hosts = appendUnique(g.hosts, normHost(h))
	}
	for _, c := range gs.Channels {
		if err := checkListItem("channel", c, "channels"); err != nil {
			return g, err
		}
		g.channels = appendUnique(g.channels, c)
	}
	for _, s := range gs.Sites {
		if s == "*" {
			return g, errors.New(`site "*": leave sites out to allow every site`)
		}
		if err := CheckSiteName(s); err != nil {
			return g, err
		}
		g.sites = appendUnique(g.sites, strings.ToLower(s))
	}
	return g, nil
}

func checkListItem(what, v, key string) error {
	switch {
	case v == "*":
		return fmt.Errorf("%s \"*\": leave %s empty to allow any", what, key)
	case v == "" || strings.ContainsFunc(v, isSpace):
		return fmt.Errorf("%s %q: must be non-empty without spaces", what, v)
	}
	return nil
}

func (p *Policy) buildApproval(a approvalSpec) error {
	if a.Required != nil {
		for _, pm := range *a.Required {
			if !pm.Valid() {
				return fmt.Errorf("unknown permission %q (known: %s)", pm, permList(allPermissions[:]))
			}
			if !approvable(pm) {
				return fmt.Errorf("permission %q cannot need approval (only delete, kick, logout)", pm)
			}
		}
		p.approval = sortPerms(*a.Required)
	}
	if a.TTL != "" {
		d, err := time.ParseDuration(a.TTL)
		if err != nil {
			return fmt.Errorf("ttl %q: %w", a.TTL, err)
		}
		if d <= 0 || d > MaxApprovalTTL {
			return fmt.Errorf("ttl %s: must be above 0 and at most %s", d, MaxApprovalTTL)
		}
		p.ttl = d
	}
	return nil
}

// normSubject checks a subject and returns its canonical spelling: emails
// and Teams AAD object ids (GUIDs) lower-cased, the others as given.
func normSubject(s string) (string, error) {
	if s == "*" {
		return "", errors.New(`subject "*" is not allowed: name each subject (a grant to everyone is too easy to make by accident)`)
	}
	kind, id, ok := strings.Cut(s, ":")
	switch {
	case !ok || id == "":
		return "", fmt.Errorf("subject %q: want <kind>:<id> with kind slack, teams, console or email", s)
	case strings.Contains(id, "*"):
		return "", fmt.Errorf("subject %q: wildcards are not allowed", s)
	case strings.ContainsFunc(id, isSpace):
		return "", fmt.Errorf("subject %q: contains spaces", s)
	}
	switch kind {
	case "slack", "console":
		return s, nil
	case "teams":
		return kind + ":" + strings.ToLower(id), nil
	case "email":
		if at := strings.IndexByte(id, '@'); at <= 0 || at == len(id)-1 {
			return "", fmt.Errorf("subject %q: not an email address", s)
		}
		return kind + ":" + strings.ToLower(id), nil
	}
	return "", fmt.Errorf("subject %q: unknown kind %q (want slack, teams, console, email, or person in a grant)", s, kind)
}

// normHost compares host names as DNS does: case-insensitively, with or
// without the trailing root dot.
func normHost(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

func appendUnique[T comparable](s []T, v T) []T {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func sortPerms(perms []Permission) []Permission {
	out := make([]Permission, 0, len(perms))
	for _, pm := range allPermissions {
		if slices.Contains(perms, pm) {
			out = append(out, pm)
		}
	}
	return out
}

func permList(perms []Permission) string {
	s := make([]string, len(perms))
	for i, pm := range perms {
		s[i] = string(pm)
	}
	return strings.Join(s, ", ")
}

// siteNameRE is what a site may be called: short, one word, easy to type
// after --site.
var siteNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)

// CheckSiteName checks a Qlik Sense site's name (QLIKBOT_SITES, a grant's
// sites, --site): letters, digits, - and _, starting with a letter or a
// digit, at most 32. Names are compared case-insensitively.
func CheckSiteName(name string) error {
	if !siteNameRE.MatchString(name) {
		return fmt.Errorf("site %q: a site name is letters, digits, - and _, starting with a letter or digit, at most 32", name)
	}
	return nil
}
