package authz

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const peoplePolicy = `
people:
  - name: lee
    slack: [U0LEE]
    teams: ["0A1B2C3D-0000-4000-8000-00000000000F"]
    console: [lead]
    emails: [Lee@Example.com]
  - name: kim
    console: [kim]
roles:
  lead:     [list, delete, kick, logout, approve]
  approver: [list, approve]
grants:
  - subjects: ["person:lee"]
    roles: [lead]
    virtualProxies: [finance]
  - subjects: ["person:KIM", "slack:U0SOLO"]
    roles: [approver]
    virtualProxies: ["*"]
  - subjects: ["slack:U0WIN"]
    roles: [approver]
    virtualProxies: [win]
`

func TestPeople(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(peoplePolicy))
	if err != nil {
		t.Fatal(err)
	}
	fin := Scope{VirtualProxy: "finance"}
	// A grant to a person holds for each of their identities.
	for _, s := range []string{"slack:U0LEE", "teams:0a1b2c3d-0000-4000-8000-00000000000f", "console:lead", "email:lee@example.com"} {
		if d := p.Decide([]string{s}, Kick, fin); !d.Allowed || d.Subject != s {
			t.Errorf("%s may not kick on finance through person:lee: %+v", s, d)
		}
	}
	if p.Decide([]string{"console:lead"}, Kick, Scope{VirtualProxy: "win"}).Allowed {
		t.Error("person:lee's grant reaches beyond finance")
	}
	if name, ok := p.Person([]string{"slack:U9", "email:LEE@example.com"}); !ok || name != "lee" {
		t.Errorf("Person(verified e-mail) = %q, %v; want lee", name, ok)
	}
	if name, ok := p.Person([]string{"slack:U0SOLO"}); ok {
		t.Errorf("Person(no person) = %q, true", name)
	}
	same := []struct {
		name string
		a, b []string
		want bool
	}{
		{"console and slack of lee", []string{"console:lead"}, []string{"slack:U0LEE"}, true},
		{"teams id in other case", []string{"teams:0A1B2C3D-0000-4000-8000-00000000000F"}, []string{"console:lead"}, true},
		{"same verified e-mail, no person", []string{"slack:UA", "email:a@example.com"}, []string{"teams:x", "email:A@example.com"}, true},
		{"same subject", []string{"slack:U0SOLO"}, []string{"slack:U0SOLO"}, true},
		{"lee and kim", []string{"console:lead"}, []string{"console:kim"}, false},
		{"two strangers", []string{"slack:UA"}, []string{"slack:UB"}, false},
	}
	for _, tc := range same {
		if got := p.SamePerson(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: SamePerson = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !p.IsPerson([]string{"slack:U0LEE"}, "lee") || p.IsPerson([]string{"slack:U0LEE"}, "kim") || p.IsPerson(nil, "") {
		t.Error("IsPerson")
	}
	holders := []struct {
		name    string
		scopes  []Scope
		exclude []string
		want    []string
	}{
		{"finance, asked by lee", []Scope{fin}, []string{"slack:U0LEE"}, []string{"kim", "slack:U0SOLO"}},
		{"finance, asked by kim", []Scope{fin}, []string{"console:kim"}, []string{"lee", "slack:U0SOLO"}},
		{"finance and win", []Scope{fin, {VirtualProxy: "win"}}, []string{"console:kim"}, []string{"slack:U0SOLO"}},
		{"win only", []Scope{{VirtualProxy: "win"}}, []string{"slack:U0SOLO"}, []string{"kim", "slack:U0WIN"}},
	}
	for _, tc := range holders {
		if got := p.Holders(Approve, tc.scopes, tc.exclude); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Holders = %v, want %v", tc.name, got, tc.want)
		}
	}
	ids := []struct {
		subjects, want []string
	}{
		{[]string{"slack:U0LEE"}, []string{"console:lead", "email:lee@example.com", "slack:U0LEE", "teams:0a1b2c3d-0000-4000-8000-00000000000f"}},
		{[]string{"slack:U9", "email:LEE@example.com"}, []string{"console:lead", "email:lee@example.com", "slack:U0LEE", "slack:U9", "teams:0a1b2c3d-0000-4000-8000-00000000000f"}},
		{[]string{"slack:U0SOLO", "*"}, []string{"slack:U0SOLO"}},
	}
	for _, tc := range ids {
		got := p.Identities(tc.subjects)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Identities(%v) = %v, want %v", tc.subjects, got, tc.want)
		}
		// Under a policy without people, the kept identities still tell
		// the same person.
		if !(*Policy)(nil).SamePerson([]string{tc.subjects[0]}, got) || !(*Policy)(nil).SamePerson(got[:1], got) {
			t.Errorf("SamePerson with the kept identities of %v", tc.subjects)
		}
	}
	var nilPolicy *Policy
	if nilPolicy.Holders(Approve, []Scope{fin}, nil) != nil || nilPolicy.SamePerson([]string{"slack:A"}, []string{"slack:B"}) {
		t.Error("nil policy")
	}
}

func TestPeopleParseErrors(t *testing.T) {
	t.Parallel()
	const tail = "roles: {viewer: [list]}\n"
	tests := []struct{ name, in, want string }{
		{"no name", "people:\n  - slack: [U1]\n" + tail, "people: person 1 (line 2): no name"},
		{"bad name", "people:\n  - {name: \"lee lee\", slack: [U1]}\n" + tail, `person "lee lee" (line 2): name "lee lee"`},
		{"name twice", "people:\n  - {name: lee, slack: [U1]}\n  - {name: LEE, slack: [U2]}\n" + tail, `person "LEE" (line 3): name "LEE" is used twice`},
		{"no identities", "people:\n  - {name: lee}\n" + tail, "no identities"},
		{"bad slack id", "people:\n  - {name: lee, slack: [\"U 1\"]}\n" + tail, `slack "U 1"`},
		{"empty console", "people:\n  - {name: lee, console: [\"\"]}\n" + tail, "console: an empty id"},
		{"bad email", "people:\n  - {name: lee, emails: [lee]}\n" + tail, `emails "lee"`},
		{"identity twice", "people:\n  - {name: lee, emails: [a@x.org]}\n  - {name: kim, emails: [A@X.org]}\n" + tail, `also belongs to person "lee"`},
		{"unknown field", "people:\n  - {name: lee, slak: [U1]}\n" + tail, "field slak not found"},
		{"grant names unknown person", "people:\n  - {name: lee, slack: [U1]}\n" + tail + "grants:\n  - {subjects: [\"person:kim\"], roles: [viewer], virtualProxies: [\"*\"]}\n",
			`grant 1 (line 5): subject "person:kim": no person "kim" under people`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.in))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
