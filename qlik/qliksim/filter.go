package qliksim

import (
	"errors"
	"fmt"
	"strings"
)

// errFilter is QRS's answer to a filter it cannot read.
var errFilter = errors.New("Cannot parse the expression")

// clause is one `field eq 'value'` of a filter; clauses are or-ed.
type clause struct {
	field string
	value string
}

// parseFilter reads the subset of the QRS filter language the simulator
// supports: `field eq 'value'` joined by ` or `, keywords in any case,
// quotes inside a value doubled (OData style; a value of two quotes with
// nothing between them is the empty string).
func parseFilter(expr string, fields []string) ([]clause, error) {
	p := &filterParser{s: expr}
	var out []clause
	for {
		p.space()
		field := p.ident()
		if field == "" {
			return nil, p.fail("expected a field name")
		}
		known := ""
		for _, f := range fields {
			if strings.EqualFold(f, field) {
				known = f
			}
		}
		if known == "" {
			return nil, p.fail("unknown field " + field)
		}
		if !p.keyword("eq") {
			return nil, p.fail("expected eq")
		}
		p.space()
		val, ok := p.quoted()
		if !ok {
			return nil, p.fail("expected a quoted value")
		}
		out = append(out, clause{field: known, value: val})
		save := p.pos
		if p.space(); p.done() {
			return out, nil
		}
		p.pos = save
		if !p.keyword("or") {
			return nil, p.fail("expected or")
		}
	}
}

type filterParser struct {
	s   string
	pos int
}

func (p *filterParser) done() bool { return p.pos >= len(p.s) }

func (p *filterParser) fail(why string) error {
	return fmt.Errorf("%w: %s at position %d", errFilter, why, p.pos)
}

func (p *filterParser) space() {
	for !p.done() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *filterParser) ident() string {
	start := p.pos
	for !p.done() {
		c := p.s[p.pos]
		if c == '.' || c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

// keyword reads a word after at least one space. What follows is checked
// by the caller: quoted() needs a quote, the next clause a field name.
func (p *filterParser) keyword(kw string) bool {
	start := p.pos
	p.space()
	if p.pos == start {
		return false
	}
	if w := p.ident(); !strings.EqualFold(w, kw) {
		p.pos = start
		return false
	}
	return true
}

func (p *filterParser) quoted() (string, bool) {
	if p.done() || p.s[p.pos] != '\'' {
		return "", false
	}
	p.pos++
	var b strings.Builder
	for !p.done() {
		c := p.s[p.pos]
		p.pos++
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if !p.done() && p.s[p.pos] == '\'' { // doubled quote: a literal one
			b.WriteByte('\'')
			p.pos++
			continue
		}
		// The closing quote must end the clause.
		if !p.done() && p.s[p.pos] != ' ' && p.s[p.pos] != '\t' {
			return "", false
		}
		return b.String(), true
	}
	return "", false // unterminated
}

// matches reports whether any clause holds; get reads a field of the item.
func matches(cs []clause, get func(field string) string) bool {
	for _, c := range cs {
		if strings.EqualFold(get(c.field), c.value) {
			return true
		}
	}
	return false
}
