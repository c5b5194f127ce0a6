package watch_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
	"github.com/qlikbot/qlikbot/store/storetest"
	"github.com/qlikbot/qlikbot/watch"
)

const central = "pro2-win1.lab.ptarmiganlabs.net"

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// startSim starts the seed lab over mutual TLS.
func startSim(t *testing.T) *qliksim.Server {
	t.Helper()
	sim, err := qliksim.Start()
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// simClient is a real Qlik client of sim: no caches, no retries.
func simClient(t *testing.T, sim *qliksim.Server) *qlik.Client {
	t.Helper()
	c, err := qlik.New(qlik.Config{
		QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(), EnginePort: sim.EnginePort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(),
		Resolve: sim.Resolve(), Timeout: 3 * time.Second, ReadRetries: -1, TopologyTTL: -1,
		RequestsPerSecond: -1, Concurrency: 8,
	})
	if err != nil {
		t.Fatalf("qlik client: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// addUser gives user n sessions on prefix of the central node.
func addUser(t *testing.T, sim *qliksim.Server, prefix, user string, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		s, err := sim.AddSession(central, prefix, qliksim.Session{UserDirectory: "LAB", UserID: user})
		if err != nil {
			t.Fatalf("add session: %v", err)
		}
		ids = append(ids, s.ID)
	}
	return ids
}

// endSessions ends sessions through the real QPS delete.
func endSessions(t *testing.T, c *qlik.Client, prefix string, ids []string) {
	t.Helper()
	for _, id := range ids {
		if o := c.DeleteSession(t.Context(), qlik.DeleteTarget{Prefix: prefix, Host: central, SessionID: id}); o.Status != qlik.Deleted {
			t.Fatalf("delete session: %v %v", o.Status, o.Err)
		}
	}
}

// post is one Deliver call the fake chat platform got.
type post struct {
	dst   bot.Destination
	reply bot.Reply
}

// chat is a fake Deliverer: it records every post and names each new
// message m1, m2, ...; updates keep their message. fail makes the next
// posts fail.
type chat struct {
	mu    sync.Mutex
	posts []post
	fail  bool
}

func (c *chat) Deliver(ctx context.Context, dst bot.Destination, r bot.Reply) (bot.Destination, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return dst, fmt.Errorf("chat down")
	}
	c.posts = append(c.posts, post{dst, r})
	if r.ReplaceOriginal && dst.Message != "" {
		return dst, nil
	}
	dst.Message = fmt.Sprintf("m%d", len(c.posts))
	return dst, nil
}

func (c *chat) all() []post {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]post(nil), c.posts...)
}

// newPosts returns the posts of new messages (not updates).
func (c *chat) newPosts() []post {
	var out []post
	for _, p := range c.all() {
		if !p.reply.ReplaceOriginal {
			out = append(out, p)
		}
	}
	return out
}

// render is a plain renderer: the state, the summary, the item keys and
// whether a silence holds.
func render(n watch.Notice) bot.Reply {
	var keys []string
	for _, it := range n.Detail.Items {
		keys = append(keys, it.Key)
	}
	r := bot.Reply{Title: string(n.State) + ": " + n.Detail.Summary, Summary: []string{strings.Join(keys, ",")}, Visibility: bot.InChannel}
	if n.Silence != nil {
		r.Summary = append(r.Summary, "silenced by "+n.Silence.By)
	}
	return r
}

// rig is a watcher of one simulated site with real parts.
type rig struct {
	sim    *qliksim.Server
	client *qlik.Client
	st     watch.Store
	clk    *testkit.Clock
	chat   *chat
	sealer *seal.Sealer
	rules  []authz.AlertRule
}

func newRig(t *testing.T, st watch.Store, clk *testkit.Clock) *rig {
	t.Helper()
	sim := startSim(t)
	r := &rig{sim: sim, client: simClient(t, sim), st: st, clk: clk, chat: &chat{}, sealer: seal.Random(),
		rules: []authz.AlertRule{{Name: "session-limit", Type: authz.AlertUserSessions, Sessions: 5, Repeat: time.Hour,
			Post: authz.AlertPost{Slack: []string{"C0OPS"}, Subscribers: true}}}}
	return r
}

func (r *rig) watcher(t *testing.T, holder string, opts ...watch.Option) *watch.Watcher {
	t.Helper()
	base := []watch.Option{watch.WithClock(r.clk.Now), watch.WithInterval(time.Minute), watch.WithHolder(holder),
		watch.WithRules(func() []authz.AlertRule { return r.rules }), watch.WithDeliverer(r.chat), watch.WithSealer(r.sealer)}
	w, err := watch.New([]watch.Site{{Name: "prod", Qlik: r.client}}, r.st, render, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// boltStore opens a bolt file whose leases follow clk.
func boltStore(t *testing.T, clk *testkit.Clock) *store.Bolt {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "state.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// redisStore is a store on a real redis-server of the test's own.
func redisStore(t *testing.T) *store.Redis {
	t.Helper()
	st, err := store.NewRedis(&redis.Options{Addr: storetest.StartRedis(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// redisRaw is a store on a real redis-server of the test's own, and a
// plain client of that server, to write records as damage or an older
// qlikbot left them.
func redisRaw(t *testing.T) (*store.Redis, *redis.Client) {
	t.Helper()
	addr := storetest.StartRedis(t)
	st, err := store.NewRedis(&redis.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return st, c
}

// backends runs f on bolt and on Redis.
func backends(t *testing.T, f func(t *testing.T, st watch.Store, clk *testkit.Clock)) {
	t.Run("bolt", func(t *testing.T) {
		t.Parallel()
		clk := testkit.NewClock(t0)
		f(t, boltStore(t, clk), clk)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		f(t, redisStore(t), testkit.NewClock(t0))
	})
}

// fireOnce puts kiosk at the session limit and runs a first round of a
// new watcher "a", which must sample; it returns the watcher.
func (r *rig) fireOnce(t *testing.T) *watch.Watcher {
	t.Helper()
	addUser(t, r.sim, "win", "kiosk", 5)
	w := r.watcher(t, "a")
	if !w.Step(t.Context()) {
		t.Fatal("no sample")
	}
	return w
}
