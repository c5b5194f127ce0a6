package commands

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// Seed lab facts the tests quote.
const (
	central    = "pro2-win1.lab.ptarmiganlabs.net"
	dev1       = "pro2-win2.lab.ptarmiganlabs.net"
	goranID    = "a906ee6b-a8da-4c66-9700-48036c96de7b"
	user1ID    = "55142b14-8d2d-43b3-a522-4b2fb46b2798"
	user2ID    = "d1b5d953-4312-4cf2-a106-1992a84dd82b"
	user3ID    = "e9a9c1d3-2d75-4559-9a68-48d1180b3859"
	user4ID    = "6ac3b0ea-7d87-41d6-bede-89eb43c63e38"
	testPolicy = `
roles:
  viewer: [list]
  lead:   [list, delete, kick, logout, approve]
  admin:  [list, delete, kick, logout, approve, audit]
grants:
  - subjects: ["slack:UVIEWER"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["slack:ULEAD", "slack:ULEAD2", "email:lead3@example.com"]
    roles: [lead]
    virtualProxies: ["finance"]
  - subjects: ["slack:ULEAD", "slack:ULEAD2", "email:lead3@example.com"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["slack:UADMIN", "slack:UADMIN2"]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: ["slack:UFIN"]
    roles: [viewer]
    virtualProxies: ["finance"]
approval:
  required: [kick, logout]
  ttl: 30m
`
)

// clock is a clock tests move by hand.
type clock = testkit.Clock

// env is one engine wired to real parts: the simulator over mutual TLS,
// the real Qlik client, a bolt file and a parsed policy.
type env struct {
	sim    *qliksim.Server
	client *qlik.Client
	st     *store.Bolt
	dbPath string
	pol    *authz.Policy
	clk    *clock
	eng    *Engine
	events chan Event
	sealer *seal.Sealer // shared by every engine of the env, as by replicas
	idsMu  sync.Mutex
	ids    map[string]bool // every session id seen (sessionIDs)
}

type envConfig struct {
	lab      *qliksim.Lab
	policy   string
	pageSize int
}

func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	var simOpts []qliksim.Option
	if cfg.lab != nil {
		simOpts = append(simOpts, qliksim.WithLab(*cfg.lab))
	}
	sim, err := qliksim.Start(simOpts...)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	client := simClient(t, sim)
	e := &env{sim: sim, client: client, clk: testkit.NewClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)), events: make(chan Event, 1000), sealer: seal.Random()}
	e.dbPath = filepath.Join(t.TempDir(), "state.db")
	e.st, err = store.OpenBolt(e.dbPath)
	if err != nil {
		t.Fatalf("open bolt: %v", err)
	}
	t.Cleanup(func() { _ = e.st.Close() })
	src := cfg.policy
	if src == "" {
		src = testPolicy
	}
	e.pol, err = authz.Parse([]byte(src))
	if err != nil {
		t.Fatalf("parse policy: %v", err)
	}
	e.eng = e.newEngine(t, e.st, cfg.pageSize)
	e.sessionIDs(t)       // what the lab holds at the start
	e.sim.ResetRequests() // tests count the requests commands send
	return e
}

// simClient is a real Qlik client of sim over mutual TLS: no cache, no
// retries, no rate limit, so every command reaches the simulator.
func simClient(t *testing.T, sim *qliksim.Server) *qlik.Client {
	t.Helper()
	client, err := qlik.New(qlik.Config{
		QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(),
		Resolve: sim.Resolve(), Timeout: 5 * time.Second, ReadRetries: -1, TopologyTTL: -1,
		RequestsPerSecond: -1, Concurrency: 8,
	})
	if err != nil {
		t.Fatalf("qlik client: %v", err)
	}
	t.Cleanup(client.Close)
	return client
}

func (e *env) newEngine(t *testing.T, st Store, pageSize int) *Engine {
	t.Helper()
	opts := []Option{WithClock(e.clk.Now), WithSealer(e.sealer), WithObserver(func(ev Event) {
		select {
		case e.events <- ev:
		default:
		}
	})}
	if pageSize > 0 {
		opts = append(opts, WithPageSize(pageSize))
	}
	eng, err := New(e.client, st, authz.NewStatic(e.pol), opts...)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	return eng
}

// ask runs a command line as slack user id in channel C1.
func (e *env) ask(t *testing.T, user, text string) bot.Reply {
	t.Helper()
	return askAs(t, e.eng, user, text)
}

// click sends a button click as slack user id.
func (e *env) click(t *testing.T, user, actionID, value string) bot.Reply {
	t.Helper()
	return clickAs(t, e.eng, user, actionID, value)
}

// askAs runs a command line on eng as slack user id in channel C1.
func askAs(t *testing.T, eng *Engine, user, text string) bot.Reply {
	t.Helper()
	return eng.Handle(t.Context(), bot.Request{ID: "req-" + user, Platform: bot.Slack, User: bot.User{ID: user, Name: strings.ToLower(user)}, Channel: "C1", Text: text})
}

// clickAs sends a button click to eng as slack user id.
func clickAs(t *testing.T, eng *Engine, user, actionID, value string) bot.Reply {
	t.Helper()
	return eng.Handle(t.Context(), bot.Request{ID: "click-" + user, Platform: bot.Slack, User: bot.User{ID: user, Name: strings.ToLower(user)}, Channel: "C1",
		Action: &bot.Action{ID: actionID, Value: value, MessageRef: "m1"}})
}

// deletes returns the DELETE requests the simulator received.
func (e *env) deletes() []qliksim.Request {
	var out []qliksim.Request
	for _, r := range e.sim.Requests() {
		if r.Method == "DELETE" {
			out = append(out, r)
		}
	}
	return out
}

// qpsCalls returns the QPS requests the simulator received.
func (e *env) qpsCalls() []qliksim.Request {
	var out []qliksim.Request
	for _, r := range e.sim.Requests() {
		if r.Service == "qps" {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) audit(t *testing.T) []store.Event {
	t.Helper()
	return auditOf(t, e.st)
}

// auditOf reads the whole audit trail of st, newest first.
func auditOf(t *testing.T, st Store) []store.Event {
	t.Helper()
	evs, err := st.RecentAudit(t.Context(), 10000)
	if err != nil {
		t.Fatalf("read audit: %v", err)
	}
	return evs
}

func countAudit(evs []store.Event, action, outcome string) int {
	n := 0
	for _, ev := range evs {
		if ev.Action == action && (outcome == "" || ev.Outcome == outcome) {
			n++
		}
	}
	return n
}

func sessionCount(e *env) int { return e.sim.AllSessions() }

// column returns the values of one column of a reply's table.
func column(t *testing.T, r bot.Reply, name string) []string {
	t.Helper()
	if r.Table == nil {
		t.Fatalf("reply %q has no table: %+v", r.Title, r)
	}
	i := -1
	for j, c := range r.Table.Columns {
		if c == name {
			i = j
		}
	}
	if i < 0 {
		t.Fatalf("no column %q in %v", name, r.Table.Columns)
	}
	var out []string
	for _, row := range r.Table.Rows {
		out = append(out, row[i])
	}
	return out
}

func joined(r bot.Reply) string {
	return r.Title + "\n" + strings.Join(r.Summary, "\n") + "\n" + strings.Join(r.Warnings, "\n")
}

func pendingID(t *testing.T, r bot.Reply) string {
	t.Helper()
	if r.Kind != bot.Pending {
		t.Fatalf("want a pending reply, got %v: %s", r.Kind, joined(r))
	}
	for _, b := range r.Buttons {
		if b.ActionID == ActionApprove {
			return b.Value
		}
	}
	t.Fatalf("no approve button in %+v", r.Buttons)
	return ""
}

// hd is the handle a result shows for id when no other id of the result
// shares its first 8 hex digits (true of the seed lab and, but for a
// 1-in-billions chance, of the generated ones).
func hd(id string) string { return normID(id)[:handleMin] }

// hs maps hd over ids.
func hs(ids ...string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = hd(id)
	}
	return out
}

// seedIDs are the session ids of the seed lab.
var seedIDs = []string{goranID, user1ID, user2ID, user3ID, user4ID}

// anyUUIDRE finds any UUID: written here, not taken from the code under test.
var anyUUIDRE = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// sessionIDs are the real ids of the sessions the simulator holds now
// (every node, every virtual proxy of its topology), of those it was
// asked to delete, and of the seed lab. What the simulator held when the
// env started is among them (newEnv asks), so a session ended since,
// by a logout as well, is still checked.
func (e *env) sessionIDs(t *testing.T) []string {
	t.Helper()
	e.idsMu.Lock()
	defer e.idsMu.Unlock()
	if e.ids == nil {
		e.ids = map[string]bool{}
	}
	for _, id := range seedIDs {
		e.ids[id] = true
	}
	if topo, err := e.client.Topology(t.Context()); err == nil {
		for _, h := range e.sim.Hosts() {
			for _, vp := range topo.VirtualProxies {
				for _, s := range e.sim.Sessions(h, vp.Prefix) {
					e.ids[s.ID] = true
				}
			}
		}
	}
	for _, r := range e.sim.Requests() {
		if i := strings.LastIndex(r.Path, "/session/"); r.Method == "DELETE" && i >= 0 {
			e.ids[r.Path[i+len("/session/"):]] = true
		}
	}
	return slices.Collect(maps.Keys(e.ids))
}

// assertNoFullIDs fails when a reply (text, table, CSV, buttons, menus)
// or the audit trail holds a session id in full (see checkNoFullIDs).
func assertNoFullIDs(t *testing.T, e *env, replies ...bot.Reply) {
	t.Helper()
	var texts []string
	for _, r := range replies {
		texts = append(texts, bot.PlainText(r))
		if r.Table != nil {
			texts = append(texts, string(bot.TableCSV(r.Table)))
		}
		for _, f := range r.Files {
			texts = append(texts, string(f.Data))
		}
		for _, b := range r.Buttons {
			texts = append(texts, b.Label, b.Value, b.Confirm)
		}
		for _, m := range r.Menus {
			texts = append(texts, m.Label, m.Placeholder, m.Confirm)
			for _, o := range m.Options {
				texts = append(texts, o.Label, o.Value)
			}
		}
	}
	for _, ev := range e.audit(t) {
		texts = append(texts, fmt.Sprintf("%+v", ev))
	}
	checkNoFullIDs(t, e.sessionIDs(t), strings.Join(texts, "\n"))
}

// errorReporter is the part of *testing.T checkNoFullIDs uses (its own
// test hands it a recorder).
type errorReporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// checkNoFullIDs fails when s holds one of ids in full: with or without
// its dashes (or with dashes elsewhere), in any case; or any UUID.
func checkNoFullIDs(t errorReporter, ids []string, s string) {
	t.Helper()
	if m := anyUUIDRE.FindString(s); m != "" {
		t.Errorf("a UUID %s is shown or audited", m)
	}
	flat := strings.ToLower(strings.ReplaceAll(s, "-", ""))
	for _, id := range ids {
		if n := strings.ToLower(strings.ReplaceAll(id, "-", "")); len(n) >= 16 && strings.Contains(flat, n) {
			t.Errorf("session id %s is shown or audited in full", id)
		}
	}
}
