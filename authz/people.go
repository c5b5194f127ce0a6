package authz

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// People: one human often has several identities (a Slack id, a Teams
// object id, a console name, an e-mail address). The policy's people
// section names them, grants may name a person ("person:lee"), and the
// two-person rule compares people, so asking on Slack and approving on
// Teams as the same person is refused.

type personSpec struct {
	Name    string   `yaml:"name"`
	Slack   []string `yaml:"slack"`
	Teams   []string `yaml:"teams"`
	Console []string `yaml:"console"`
	Emails  []string `yaml:"emails"`
}

type person struct {
	name     string   // as written in the file
	subjects []string // canonical
}

var personNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// buildPeople checks the people section: every person has a name (letters,
// digits and . _ -, unique case-insensitively) and at least one identity,
// and no identity belongs to two people.
func (p *Policy) buildPeople(specs []personSpec, lines []int) error {
	for i, ps := range specs {
		where := fmt.Sprintf("person %d", i+1)
		if ps.Name != "" {
			where = fmt.Sprintf("person %q", ps.Name)
		}
		if i < len(lines) {
			where += fmt.Sprintf(" (line %d)", lines[i])
		}
		per, err := p.buildPerson(ps)
		if err != nil {
			return fmt.Errorf("people: %s: %w", where, err)
		}
		p.people = append(p.people, per)
	}
	return nil
}

func (p *Policy) buildPerson(ps personSpec) (person, error) {
	per := person{name: ps.Name}
	key := strings.ToLower(ps.Name)
	switch {
	case ps.Name == "":
		return per, errors.New("no name")
	case !personNameRE.MatchString(ps.Name):
		return per, fmt.Errorf("name %q: use letters, digits and . _ - (at most 64)", ps.Name)
	case slices.ContainsFunc(p.people, func(q person) bool { return strings.ToLower(q.name) == key }):
		return per, fmt.Errorf("name %q is used twice", ps.Name)
	}
	for _, field := range []struct {
		key, kind string
		ids       []string
	}{{"slack", "slack", ps.Slack}, {"teams", "teams", ps.Teams}, {"console", "console", ps.Console}, {"emails", "email", ps.Emails}} {
		for _, id := range field.ids {
			if id == "" {
				return per, fmt.Errorf("%s: an empty id", field.key)
			}
			s, err := normSubject(field.kind + ":" + id)
			if err != nil {
				return per, fmt.Errorf("%s %q: %w", field.key, id, err)
			}
			if other, ok := p.personOf[s]; ok {
				return per, fmt.Errorf("%s %q also belongs to person %q: an identity is one person's", field.key, id, other)
			}
			if !slices.Contains(per.subjects, s) {
				per.subjects = append(per.subjects, s)
			}
		}
	}
	if len(per.subjects) == 0 {
		return per, errors.New("no identities: give at least one of slack, teams, console, emails")
	}
	for _, s := range per.subjects {
		p.personOf[s] = per.name
	}
	return per, nil
}

// personSubjects returns the canonical subjects of the person a grant
// names as "person:NAME".
func (p *Policy) personSubjects(name string) ([]string, error) {
	for _, per := range p.people {
		if strings.EqualFold(per.name, name) {
			return per.subjects, nil
		}
	}
	return nil, fmt.Errorf("subject %q: no person %q under people", "person:"+name, name)
}

// Person returns the name of the person the subjects belong to under the
// policy's people section ("" and false when none does). When they belong
// to two people, the first subject's person wins; SamePerson compares all.
func (p *Policy) Person(subjects []string) (string, bool) {
	if p == nil {
		return "", false
	}
	for _, s := range subjects {
		if n, err := normSubject(s); err == nil {
			if name, ok := p.personOf[n]; ok {
				return name, true
			}
		}
	}
	return "", false
}

// people returns the names of every person one of subjects belongs to.
func (p *Policy) peopleOf(subjects []string) []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, s := range subjects {
		if n, err := normSubject(s); err == nil {
			if name, ok := p.personOf[n]; ok && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// Identities returns, in canonical spelling and sorted, subjects and
// every subject of every person they belong to: who the asker is under
// this policy, kept with a request so that a later edit of the people
// section cannot make the same human a second person (SamePerson on the
// result needs no lookup in the policy of the time).
func (p *Policy) Identities(subjects []string) []string {
	set := canonicalSubjects(subjects)
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	if p != nil {
		for _, name := range p.peopleOf(subjects) {
			if subs, err := p.personSubjects(name); err == nil {
				out = append(out, subs...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SamePerson reports whether two sets of subjects (two requests) are the
// same person: they share a subject (compared canonically, so the same
// verified e-mail is the same person) or belong to the same person of the
// people section.
func (p *Policy) SamePerson(a, b []string) bool {
	ca, cb := canonicalSubjects(a), canonicalSubjects(b)
	for s := range ca {
		if _, ok := cb[s]; ok {
			return true
		}
	}
	pb := p.peopleOf(b)
	return slices.ContainsFunc(p.peopleOf(a), func(n string) bool { return slices.Contains(pb, n) })
}

// IsPerson reports whether name is one of subjects' people (for a person
// recorded earlier, under an older policy).
func (p *Policy) IsPerson(subjects []string, name string) bool {
	return name != "" && slices.Contains(p.peopleOf(subjects), name)
}

// Holders lists who, other than the same person as exclude, holds perm on
// every one of scopes: people by name, and subjects that belong to no
// person as written. Empty means nobody else could, for example, approve
// a request. Sorted.
func (p *Policy) Holders(perm Permission, scopes []Scope, exclude []string) []string {
	if p == nil {
		return nil
	}
	type candidate struct {
		label    string
		subjects []string
	}
	var cands []candidate
	for _, per := range p.people {
		cands = append(cands, candidate{per.name, per.subjects})
	}
	for s := range p.bySubject {
		if _, ok := p.personOf[s]; !ok {
			cands = append(cands, candidate{s, []string{s}})
		}
	}
	var out []string
	for _, c := range cands {
		if p.SamePerson(c.subjects, exclude) {
			continue
		}
		if !slices.ContainsFunc(scopes, func(s Scope) bool { return !p.Decide(c.subjects, perm, s).Allowed }) {
			out = append(out, c.label)
		}
	}
	slices.Sort(out)
	return out
}
