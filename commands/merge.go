package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// Merged lists: sessions, users and proxies ask every site chosen (see
// chooseSites) at once and show what the sites that answered hold. A site
// that does not have the prefix or host asked for, or where the caller
// may list nothing, is left out; a site that does not answer is a
// warning, and the others' rows are shown. On one site, every answer is
// what it always was.

// siteResult is one site's part of a merged list.
type siteResult struct {
	s   *site
	v   *view
	sl  *qlik.SessionList // nil when the list holds no sessions (proxies)
	err error             // *UsageError or *qlikFailure
}

// gathered is what a merged list shows.
type gathered struct {
	shown    []siteResult // sites with something to show, in site order
	warnings []string     // one per site that did not answer
}

// multi reports whether rows of more than one site are shown: then rows
// carry a Site column and per-site lines name their site.
func (g *gathered) multi() bool { return len(g.shown) > 1 }

// label is what starts a line about site s: "prod: " when several sites
// are shown, else nothing.
func (g *gathered) label(s *site) string {
	if !g.multi() {
		return ""
	}
	return s.name + ": "
}

// labelled prefixes each line with s's label.
func (g *gathered) labelled(s *site, lines []string) []string {
	if !g.multi() {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = g.label(s) + l
	}
	return out
}

// columns are cols with "Site" first when several sites are shown.
func (g *gathered) columns(cols []string) []string {
	if !g.multi() {
		return cols
	}
	return append([]string{"Site"}, cols...)
}

// row is cells with s's name first when several sites are shown.
func (g *gathered) row(s *site, cells []string) []string {
	if !g.multi() {
		return cells
	}
	return append([]string{s.name}, cells...)
}

// gather resolves (and with sessions, lists) cmd on the sites it runs on,
// all at once, and notes the decision. A non-nil reply means stop and
// answer it: a usage mistake no site can use, a refusal, or no site
// answering. An empty gathered.shown means nothing is selected (no
// virtual proxy linked to the hosts asked): the caller says so.
func (e *Engine) gather(ctx context.Context, c *call, cmd Command, perm authz.Permission, sessions bool) (*gathered, *bot.Reply) {
	sites, r := e.chooseSites(c, cmd, true)
	if r != nil {
		return nil, r
	}
	c.site = strings.Join(siteNames(sites), ",")
	res := make([]siteResult, len(sites))
	var wg sync.WaitGroup
	for i, s := range sites {
		wg.Go(func() { res[i] = e.gatherSite(ctx, c, s, cmd, perm, sessions) })
	}
	wg.Wait()

	g := &gathered{}
	se := siteErrors{asked: len(sites)}
	var (
		denial   *authz.Decision
		reasons  []string
		decision = "denied"
	)
	for _, sr := range res {
		if e.noteSiteErr(c, g, &se, sr.s, sr.err, "rows") {
			continue
		}
		dec, reason := sr.v.decisionText(perm)
		if len(sites) > 1 {
			reason = sr.s.name + ": " + reason
		}
		reasons = append(reasons, reason)
		if dec == "allowed" {
			decision = "allowed"
		}
		if sr.v.empty() {
			if denial == nil {
				denial = sr.v.denial
			}
			continue // nothing of this site to show
		}
		g.shown = append(g.shown, sr)
	}
	c.note(decision, strings.Join(reasons, "; "), "")
	if len(g.shown) > 0 {
		return g, nil
	}
	if r := e.noAnswer(c, se, denial, true); r != nil {
		return nil, r
	}
	return g, nil
}

// siteErrors is what the sites asked for one command could not answer.
type siteErrors struct {
	asked  int // sites asked
	usage  []*UsageError
	failed []siteResult
}

// noteSiteErr sorts the error of site s into se (false when err is nil):
// a usage mistake, or a site that did not answer, logged when several
// were asked (one site's failure is its reply, logged there) and named in
// g's warnings, saying that its missing (rows, nodes) are missing.
func (e *Engine) noteSiteErr(c *call, g *gathered, se *siteErrors, s *site, err error, missing string) bool {
	var ue *UsageError
	switch {
	case err == nil:
		return false
	case errors.As(err, &ue):
		se.usage = append(se.usage, ue)
	default:
		se.failed = append(se.failed, siteResult{s: s, err: err})
		if se.asked > 1 {
			e.log.Warn("qlik call failed", "request_id", c.id, "site", s.name, "err", redactIDs(err.Error()))
		}
		g.warnings = append(g.warnings, fmt.Sprintf("Site %s did not answer (could not %s: %s); its %s are missing", s.name,
			failWhat(err), qlikReason(err, false), missing))
	}
	return true
}

// noAnswer is the reply when no site has anything to show: the one
// site's failure, the sites down, the refusal, or the usage mistake
// (with allUsage, only when every site made it); nil when none applies.
func (e *Engine) noAnswer(c *call, se siteErrors, denial *authz.Decision, allUsage bool) *bot.Reply {
	var r bot.Reply
	switch {
	case len(se.failed) == 1 && se.asked == 1:
		r = e.failReply(c, se.failed[0].err)
	case len(se.failed) > 0:
		r = e.sitesDown(c, se.failed)
	case denial != nil:
		r = e.denied(c, *denial)
	case len(se.usage) > 0 && (!allUsage || len(se.usage) == se.asked):
		r = e.usage(se.usage[0])
	default:
		return nil
	}
	return &r
}

// gatherSite is one site's part of gather; it only reads c.
func (e *Engine) gatherSite(ctx context.Context, c *call, s *site, cmd Command, perm authz.Permission, sessions bool) siteResult {
	sr := siteResult{s: s}
	sr.v, sr.err = e.resolveSite(ctx, c, s, cmd, perm)
	if sr.err != nil || !sessions || sr.v.empty() {
		return sr
	}
	sr.sl, sr.err = e.listSite(ctx, sr.v, cmd.User)
	return sr
}

// sitesDown is the reply when no site chosen answered.
func (e *Engine) sitesDown(c *call, failed []siteResult) bot.Reply {
	r := bot.Reply{Kind: bot.Error, Title: "Qlik request failed", Visibility: bot.Ephemeral}
	for _, sr := range failed {
		r.Summary = append(r.Summary, fmt.Sprintf("Site %s: could not %s: %s.", sr.s.name, failWhat(sr.err), qlikReason(sr.err, true)))
	}
	r.Summary = append(r.Summary, "Nothing was changed. The operators have the details in the log (request "+c.id+").")
	return r
}

// failWhat is what a failed Qlik call was doing ("list sessions").
func failWhat(err error) string {
	var qf *qlikFailure
	if errors.As(err, &qf) {
		return qf.what
	}
	return "read Qlik"
}
