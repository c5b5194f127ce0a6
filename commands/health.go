package commands

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// /qlik health: one row per engine node of every site chosen (as the
// merged lists choose them), every node asked at once. The health right
// is asked per node on every virtual proxy ("*"): an engine serves them
// all. A node that does not answer is a row and a warning, never the
// others' loss.

// Default warning thresholds of /qlik health (Site.CPUWarn,
// Site.MemFreeWarn).
const (
	DefaultCPUWarn     = 90.0 // percent: at or above it, a warning
	DefaultMemFreeWarn = 10.0 // percent of the physical memory: under it, a warning
)

// CheckHealthThresholds checks a CPU threshold (above 0, at most 100
// percent) and a free memory threshold (above 0, under 100 percent).
func CheckHealthThresholds(cpuWarn, memFreeWarn float64) error {
	switch {
	case !(cpuWarn > 0 && cpuWarn <= 100):
		return fmt.Errorf("CPU warning threshold %v%%: want above 0 and at most 100", cpuWarn)
	case !(memFreeWarn > 0 && memFreeWarn < 100):
		return fmt.Errorf("free memory warning threshold %v%%: want above 0 and under 100", memFreeWarn)
	}
	return nil
}

var healthColumns = []string{"Node", "Answering", "Version", "Up since (UTC)", "CPU %", "Memory used / total", "Sessions active / total",
	"Users active / total", "Apps loaded", "Saturated"}

// siteHealth is one site's part of /qlik health.
type siteHealth struct {
	s       *site
	rep     *qlik.HealthReport
	denial  *authz.Decision // the first node refused
	refused int             // nodes left out for lack of the health right
	err     error           // *UsageError or *qlikFailure
}

func (e *Engine) health(ctx context.Context, c *call, cmd Command) bot.Reply {
	sites, r := e.chooseSites(c, cmd, true)
	if r != nil {
		return *r
	}
	c.site = strings.Join(siteNames(sites), ",")
	res := make([]siteHealth, len(sites))
	var wg sync.WaitGroup
	for i, s := range sites {
		wg.Go(func() { res[i] = e.siteHealth(ctx, c, s, cmd.Nodes) })
	}
	wg.Wait()

	g := &gathered{}
	se := siteErrors{asked: len(sites)}
	var shown []siteHealth
	var denial *authz.Decision
	for _, sh := range res {
		switch {
		case e.noteSiteErr(c, g, &se, sh.s, sh.err, "nodes"):
		case sh.rep == nil:
			if denial == nil {
				denial = sh.denial
			}
		default:
			shown = append(shown, sh)
			g.shown = append(g.shown, siteResult{s: sh.s})
		}
	}
	decision, reason := "denied", ""
	if len(shown) > 0 {
		decision = "allowed"
		var asked []string
		for _, sh := range shown {
			asked = append(asked, fmt.Sprintf("%s%s", g.label(sh.s), plural(len(sh.rep.Engines), "engine")))
		}
		reason = "health: " + strings.Join(asked, ", ")
	} else if denial != nil {
		reason = denial.Reason
	}
	c.note(decision, reason, strings.Join(cmd.Nodes, " "))
	if len(shown) == 0 {
		if r := e.noAnswer(c, se, denial, false); r != nil {
			return *r
		}
		return bot.Reply{Kind: bot.Info, Title: "Engine health", Summary: []string{"No engine services: QRS lists none."}, Visibility: bot.Ephemeral}
	}
	return e.healthReply(c, cmd, g, shown)
}

// siteHealth asks one site: its engines from QRS, the ones c may see,
// then their health check, all at once. It only reads c.
func (e *Engine) siteHealth(ctx context.Context, c *call, s *site, nodes []string) siteHealth {
	sh := siteHealth{s: s}
	engines, err := s.q.Engines(ctx)
	if err != nil {
		sh.err = &qlikFailure{"read the engine services from QRS", err}
		return sh
	}
	var asked []qlik.EngineService
	for _, n := range nodes {
		i := slices.IndexFunc(engines, func(es qlik.EngineService) bool {
			return strings.EqualFold(es.Node.HostName, n) || strings.EqualFold(es.Node.Name, n)
		})
		if i < 0 {
			sh.err = &UsageError{Verb: VerbHealth, Problem: unknownEngine(engines, n)}
			return sh
		}
		if !slices.ContainsFunc(asked, func(es qlik.EngineService) bool { return es.ID == engines[i].ID }) {
			asked = append(asked, engines[i])
		}
	}
	if len(nodes) == 0 {
		asked = engines
	}
	var hosts []string
	for _, es := range asked {
		d := c.policy.Decide(c.subjects, authz.Health, authz.Scope{VirtualProxy: "*", Host: es.Node.HostName, Channel: c.req.Channel, Site: s.name})
		switch {
		case d.Allowed:
			hosts = append(hosts, es.Node.HostName)
		case sh.denial == nil:
			sh.denial = &d
			fallthrough
		default:
			sh.refused++
		}
	}
	if len(hosts) == 0 { // never Health(ctx, nil): that asks every engine
		return sh
	}
	rep, err := s.q.Health(ctx, hosts)
	if err != nil {
		sh.err = &qlikFailure{"read the engines' health", err}
		return sh
	}
	sh.rep = rep
	return sh
}

func unknownEngine(engines []qlik.EngineService, n string) string {
	var names, labels []string
	for _, es := range engines {
		names = append(names, es.Node.Name, es.Node.HostName)
		labels = append(labels, nodeLabel(es.Node))
	}
	return fmt.Sprintf("unknown engine node %q%s; the engine nodes are: %s", clip(n), didYouMean(n, names), strings.Join(labels, ", "))
}

func (e *Engine) healthReply(c *call, cmd Command, g *gathered, shown []siteHealth) bot.Reply {
	reply := bot.Reply{Kind: bot.Info, Title: "Engine health", Visibility: listVisibility(c)}
	var rows [][]string
	chart := &bot.Chart{Title: "Sessions per node"}
	asked, answering := 0, 0
	for _, sh := range shown {
		cpuWarn, memWarn := sh.s.cpuWarn, sh.s.memFreeWarn
		l := g.label(sh.s)
		answers := map[string]qlik.NodeHealth{}
		for _, n := range sh.rep.Nodes {
			answers[n.Engine.ID] = n
		}
		fails := map[string]*qlik.EngineError{}
		for _, f := range sh.rep.Errors {
			fails[f.Engine.ID] = f
		}
		for _, es := range sh.rep.Engines {
			asked++
			name := l + nodeLabel(es.Node)
			n, ok := answers[es.ID]
			if !ok {
				reason := "no answer"
				if f := fails[es.ID]; f != nil {
					reason = qlikReason(f.Err, false)
				}
				reply.Warnings = append(reply.Warnings, fmt.Sprintf("%s is not answering its health check: %s", name, reason))
				rows = append(rows, g.row(sh.s, []string{es.Node.Name, "no", "", "", "", "", "", "", "", ""}))
				continue
			}
			answering++
			rows = append(rows, g.row(sh.s, healthRow(n)))
			chart.Points = append(chart.Points, bot.Point{Label: l + es.Node.Name, Value: float64(n.Sessions.Total)})
			reply.Warnings = append(reply.Warnings, healthWarnings(name, n.EngineHealth, cpuWarn, memWarn)...)
		}
	}
	reply.Facts = append(reply.Facts, bot.Fact{Label: "Engines answering", Value: fmt.Sprintf("%d of %d", answering, asked)})
	for _, sh := range shown {
		if sh.refused > 0 {
			reply.Summary = append(reply.Summary, g.label(sh.s)+plural(sh.refused, "engine node")+" not shown: you may not read its health")
		}
	}
	if len(reply.Warnings) > 0 {
		reply.Kind = bot.Warning
	}
	if len(chart.Points) > 0 {
		reply.Chart = chart
	}
	e.siteWarnings(&reply, g)
	e.paginate(c, &reply, cmd, g.columns(healthColumns), rows, "health.csv")
	return reply
}

func healthRow(n qlik.NodeHealth) []string {
	h := n.EngineHealth
	up := h.StartedText
	if !h.Started.IsZero() {
		up = h.Started.UTC().Format("2006-01-02 15:04")
	}
	sat := "no"
	if h.Saturated {
		sat = "yes"
	}
	return []string{n.Engine.Node.Name, "yes", h.Version, up, strconv.FormatFloat(h.CPU, 'f', 1, 64),
		fmt.Sprintf("%s / %s", gb(h.Mem.TotalPhysical-h.Mem.Free), gb(h.Mem.TotalPhysical)),
		fmt.Sprintf("%d / %d", h.Sessions.Active, h.Sessions.Total), fmt.Sprintf("%d / %d", h.Users.Active, h.Users.Total),
		strconv.Itoa(h.Apps.LoadedDocs.Count), sat}
}

// gb writes megabytes as gigabytes with one decimal.
func gb(mb float64) string { return strconv.FormatFloat(mb/1024, 'f', 1, 64) + " GB" }

// healthWarnings are what is wrong with one engine: saturated, CPU at or
// above cpuWarn percent, free memory under memWarn percent.
func healthWarnings(name string, h qlik.EngineHealth, cpuWarn, memWarn float64) []string {
	var w []string
	if h.Saturated {
		w = append(w, name+" is saturated: the engine reports it is overloaded")
	}
	if h.CPU >= cpuWarn {
		w = append(w, fmt.Sprintf("%s CPU at %s%% (warning at %s%%)", name, num(h.CPU), num(cpuWarn)))
	}
	if h.Mem.TotalPhysical > 0 {
		if free := 100 * h.Mem.Free / h.Mem.TotalPhysical; free < memWarn {
			w = append(w, fmt.Sprintf("%s has %.1f%% of its memory free (%s of %s; warning under %s%%)", name, free, gb(h.Mem.Free), gb(h.Mem.TotalPhysical), num(memWarn)))
		}
	}
	return w
}

// num writes a figure as short as it reads: 97, 6.5.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
