package commands

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// redisRec is the stored form of a pending approval in Redis (the "rec"
// field of its hash, see store/redis_scripts.go), as anyone who can reach
// Redis reads and writes it.
type redisRec struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	State     string    `json:"state"`
	DecidedAt time.Time `json:"decided_at"`
	Data      []byte    `json:"data,omitempty"`
}

// sealEnvelope is store/seal's stored form: altering its data keeps the MAC.
type sealEnvelope struct {
	V    int    `json:"v"`
	Kind string `json:"kind"`
	Key  string `json:"key"`
	MAC  []byte `json:"mac"`
	Data []byte `json:"data"`
}

// financeKick is the action of "kick finance" as the requester saw it.
func financeKick(requester string, now time.Time) action {
	return action{Kind: "kick", Permission: authz.Kick, Command: "kick finance", Prefixes: []string{"finance"},
		Requester: testRequester(requester), Created: now, Expires: now.Add(30 * time.Minute),
		Targets: []target{
			{Prefix: "finance", VirtualProxy: "finance", Host: central, Node: "Central", SessionID: user1ID, UserDirectory: "LAB", UserID: "testuser_1"},
			{Prefix: "finance", VirtualProxy: "finance", Host: central, Node: "Central", SessionID: user2ID, UserDirectory: "LAB", UserID: "testuser_2"},
		}}
}

func testRequester(subject string) requester {
	return requester{Subject: subject, Subjects: []string{subject}, Platform: "slack", Channel: "C1", RequestID: "r1"}
}

// TestTamperedApprovalsRefused writes to a real redis-server with a plain
// go-redis client, as anyone who can reach an open Redis could: a forged
// pending approval, and genuine ones with their targets, expiry or id
// altered, are refused when approved (and rejected), audited as tampering,
// and nothing is deleted or claimed. The untouched one is approved.
func TestTamperedApprovalsRefused(t *testing.T) {
	t.Parallel()
	addr := storetest.StartRedis(t)
	raw := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = raw.Close() })

	timeKey := func(t time.Time) string { return fmt.Sprintf("%020d", uint64(t.UnixNano())^(1<<63)) }
	// writeRec stores rec under id as the store would (hash fields rec, exp, state).
	writeRec := func(t *testing.T, prefix, id string, rec redisRec) {
		t.Helper()
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.HSet(t.Context(), prefix+"pending:"+id, "rec", string(b), "exp", timeKey(rec.ExpiresAt), "state", "pending").Err(); err != nil {
			t.Fatal(err)
		}
	}
	readRec := func(t *testing.T, prefix, id string) redisRec {
		t.Helper()
		s, err := raw.HGet(t.Context(), prefix+"pending:"+id, "rec").Result()
		if err != nil {
			t.Fatal(err)
		}
		var rec redisRec
		if err := json.Unmarshal([]byte(s), &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	// alter changes the sealed action of a genuine record, keeping its MAC.
	alter := func(t *testing.T, rec *redisRec, change func(*action)) {
		t.Helper()
		var env sealEnvelope
		if err := json.Unmarshal(rec.Data, &env); err != nil {
			t.Fatal(err)
		}
		var a action
		if err := json.Unmarshal(env.Data, &a); err != nil {
			t.Fatal(err)
		}
		change(&a)
		var err error
		if env.Data, err = json.Marshal(a); err != nil {
			t.Fatal(err)
		}
		if rec.Data, err = json.Marshal(env); err != nil {
			t.Fatal(err)
		}
	}
	win3 := target{Prefix: "win", VirtualProxy: "win", Host: central, Node: "Central", SessionID: user3ID, UserDirectory: "LAB", UserID: "testuser_3"}

	cases := []struct {
		name   string
		verb   string // the button clicked
		tamper func(t *testing.T, e *env, prefix string) string
	}{
		{"untouched (control)", ActionApprove, func(t *testing.T, e *env, _ string) string {
			return pendingID(t, e.ask(t, "ULEAD", "kick finance"))
		}},
		{"forged, not sealed", ActionApprove, func(t *testing.T, e *env, prefix string) string {
			id, now := strings.Repeat("f0", 16), e.clk.Now()
			data, _ := json.Marshal(financeKick("slack:UEVIL", now))
			writeRec(t, prefix, id, redisRec{ID: id, CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute), State: "pending", Data: data})
			return id
		}},
		{"forged, sealed with another key", ActionApprove, func(t *testing.T, e *env, prefix string) string {
			id, now := strings.Repeat("f1", 16), e.clk.Now()
			data, _ := json.Marshal(financeKick("slack:UEVIL", now))
			writeRec(t, prefix, id, redisRec{ID: id, CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute), State: "pending",
				Data: seal.Random().Seal(sealKind, id, data)})
			return id
		}},
		{"genuine, target added", ActionApprove, func(t *testing.T, e *env, prefix string) string {
			id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
			rec := readRec(t, prefix, id)
			alter(t, &rec, func(a *action) { a.Targets = append(a.Targets, win3) })
			writeRec(t, prefix, id, rec)
			return id
		}},
		{"genuine, targets swapped, rejected", ActionReject, func(t *testing.T, e *env, prefix string) string {
			id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
			rec := readRec(t, prefix, id)
			alter(t, &rec, func(a *action) { a.Targets = []target{win3} })
			writeRec(t, prefix, id, rec)
			return id
		}},
		{"genuine, expiry moved in the store", ActionApprove, func(t *testing.T, e *env, prefix string) string {
			id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
			rec := readRec(t, prefix, id)
			rec.ExpiresAt = rec.ExpiresAt.Add(24 * time.Hour)
			writeRec(t, prefix, id, rec)
			e.clk.Advance(31 * time.Minute) // past the sealed expiry, before the store's
			return id
		}},
		{"genuine, the store's expiry index moved", ActionApprove, func(t *testing.T, e *env, prefix string) string {
			id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
			if err := raw.HSet(t.Context(), prefix+"pending:"+id, "exp", timeKey(e.clk.Now().Add(24*time.Hour))).Err(); err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(31 * time.Minute) // past the sealed expiry: the store alone lets it be claimed
			return id
		}},
		{"genuine, the store's expiry index moved, rejected", ActionReject, func(t *testing.T, e *env, prefix string) string {
			id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
			if err := raw.HSet(t.Context(), prefix+"pending:"+id, "exp", timeKey(e.clk.Now().Add(24*time.Hour))).Err(); err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(31 * time.Minute)
			return id
		}},
		{"genuine, copied under another id", ActionApprove, func(t *testing.T, e *env, prefix string) string {
			id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
			rec := readRec(t, prefix, id)
			other := strings.Repeat("0c", 16)
			rec.ID = other
			writeRec(t, prefix, other, rec)
			return other
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prefix := fmt.Sprintf("t%d:", i)
			st, err := store.NewRedis(&redis.Options{Addr: addr}, store.WithKeyPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			e := newEnv(t, envConfig{})
			e.eng = e.newEngine(t, st, 0)
			id := tc.tamper(t, e, prefix)

			r := e.click(t, "UADMIN", tc.verb, id)
			evs, err := st.RecentAudit(t.Context(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			tampers := 0
			for _, ev := range evs {
				if ev.Action == "tamper" && ev.Pending == id && ev.Reason != "" {
					tampers++
				}
			}
			state, err := raw.HGet(t.Context(), prefix+"pending:"+id, "state").Result()
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if r.Kind != bot.Success || tampers != 0 || len(e.deletes()) != 2 || state != "approved" {
					t.Fatalf("untouched approval: %v %s; tamper events %d, DELETEs %d, state %s", r.Kind, joined(r), tampers, len(e.deletes()), state)
				}
				return
			}
			if n := len(e.deletes()); n != 0 || sessionCount(e) != 5 {
				t.Errorf("DELETEs %d, sessions %d: a tampered approval touched Qlik", n, sessionCount(e))
			}
			// Nothing is claimed: the sealed expiry is checked before the
			// claim, the rest before that.
			if state != "pending" {
				t.Errorf("state %q, want pending", state)
			}
			if strings.Contains(tc.name, "index") {
				// The record verifies and says it expired: it is refused as
				// expired, before the store (whose index lags) is asked.
				if r.Kind != bot.Warning || !strings.Contains(joined(r), "This request expired at") || tampers != 0 {
					t.Errorf("past the sealed expiry: %v %s; tamper events %d", r.Kind, joined(r), tampers)
				}
				if evs[0].Action != "command" || evs[0].Decision != "allowed" || !strings.Contains(evs[0].Outcome, "expired") {
					t.Errorf("command row %+v", evs[0])
				}
				return
			}
			if strings.Contains(tc.name, "another key") {
				// A key not held here may be another replica's (a key
				// rotation) or a forger's: refused as not verifiable here,
				// left pending, said in the click's command row and audited
				// as tamper.
				if r.Kind != bot.Error || r.Visibility != bot.Ephemeral || !strings.Contains(joined(r), "nothing was done and it is still pending") ||
					tampers != 1 || evs[0].Action != "command" || evs[0].Decision != "denied" || !strings.Contains(evs[0].Reason, "cannot be verified here") {
					t.Errorf("reply %v: %s; tamper events %d; command row %+v", r.Kind, joined(r), tampers, evs[0])
				}
				return
			}
			if r.Kind != bot.Error || r.Visibility != bot.Ephemeral || !strings.Contains(joined(r), "This approval cannot be verified; nothing was done.") {
				t.Errorf("reply %v: %s", r.Kind, joined(r))
			}
			if tampers != 1 {
				t.Errorf("%d tamper events for %s, want 1", tampers, id)
			}
		})
	}
}

// TestSealedButMalformedRefused: a record sealed with the engine's own key
// whose target would not pass as typed (a path in the session id, a bad
// host) is refused like a forged one.
func TestSealedButMalformedRefused(t *testing.T) {
	t.Parallel()
	bad := map[string]func(*target){
		"session id a path": func(tg *target) { tg.SessionID = "../../qrs/about" },
		"host with a slash": func(tg *target) { tg.Host = "evil.example.com/x" },
		"prefix dot-dot":    func(tg *target) { tg.Prefix = ".." },
	}
	for name, change := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{})
			now := e.clk.Now()
			a := financeKick("slack:ULEAD", now)
			change(&a.Targets[0])
			data, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			id := strings.Repeat("5e", 16)
			if err := e.st.CreatePending(t.Context(), store.Pending{ID: id, CreatedAt: now, ExpiresAt: a.Expires, Data: e.sealer.Seal(sealKind, id, data)}); err != nil {
				t.Fatal(err)
			}
			r := e.click(t, "UADMIN", ActionApprove, id)
			if r.Kind != bot.Error || !strings.Contains(joined(r), "cannot be verified") {
				t.Errorf("reply %v: %s", r.Kind, joined(r))
			}
			if len(e.deletes()) != 0 || countAudit(e.audit(t), "tamper", "") != 1 {
				t.Errorf("DELETEs %d, tamper events %d", len(e.deletes()), countAudit(e.audit(t), "tamper", ""))
			}
			if p, err := e.st.GetPending(t.Context(), id); err != nil || p.State != store.StatePending {
				t.Errorf("state %v, %v: want still pending", p.State, err)
			}
		})
	}
}

// TestSealerKeyRotation: an approval sealed under the old key is approved
// by an engine that lists it for verification, and refused by one that
// does not know it.
func TestSealerKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := seal.NewKey(), seal.NewKey()
	for _, tc := range []struct {
		name string
		old  [][]byte
		ok   bool
	}{{"old key kept for verification", [][]byte{oldKey}, true}, {"old key dropped", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{})
			var err error
			if e.sealer, err = seal.New(oldKey); err != nil {
				t.Fatal(err)
			}
			e.eng = e.newEngine(t, e.st, 0)
			id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
			if e.sealer, err = seal.New(newKey, tc.old...); err != nil {
				t.Fatal(err)
			}
			e.eng = e.newEngine(t, e.st, 0) // restarted with the new key
			r := e.click(t, "UADMIN", ActionApprove, id)
			if got := r.Kind == bot.Success && len(e.deletes()) == 2; got != tc.ok {
				t.Errorf("approved %v, want %v: %v %s", got, tc.ok, r.Kind, joined(r))
			}
		})
	}
}

// TestApprovalUnknownKeyLeftPending: a click on an approval sealed with a
// key this replica does not hold (another may, during a key rotation) is
// neither refused as forged nor closed: the reply says it cannot be
// verified here, the click's command row says so, a tamper row is written
// (the store cannot tell another replica's key from a forger's), the
// request stays pending, and a replica holding the key decides it.
func TestApprovalUnknownKeyLeftPending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	holderSealer, err := seal.New(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	holder := e.jobEngine(t, e.client, e.st, WithSealer(holderSealer))
	pending := pendingID(t, askAs(t, holder, "ULEAD", "kick finance"))

	var logs syncBuffer
	lacking := e.jobEngine(t, e.client, e.st, WithLogger(newTextLogger(&logs))) // e.sealer: not the request's key
	for _, act := range []string{ActionApprove, ActionReject} {
		r := clickAs(t, lacking, "ULEAD2", act, pending)
		if r.Title != "Cannot verify this approval here" || r.ReplaceOriginal || !strings.Contains(joined(r), "still pending") {
			t.Errorf("%s without the key: %q (replace %v) %s", act, r.Title, r.ReplaceOriginal, joined(r))
		}
	}
	if p, err := e.st.GetPending(t.Context(), pending); err != nil || p.State != store.StatePending {
		t.Fatalf("after clicks on a replica without the key: state %v, %v", p.State, err)
	}
	evs := e.audit(t)
	rows := 0
	for _, ev := range evs {
		if ev.Action == "command" && ev.RequestID == "click-ULEAD2" && ev.Pending == pending && ev.Decision == "denied" &&
			strings.Contains(ev.Reason, "cannot be verified here") {
			rows++
		}
	}
	if rows != 2 || countAudit(evs, "tamper", "") != 2 {
		t.Errorf("%d command rows saying so (want 2), %d tamper rows (want 2)", rows, countAudit(evs, "tamper", ""))
	}
	if n := strings.Count(logs.String(), "APPROVAL NOT VERIFIABLE HERE"); n != 2 {
		t.Errorf("%d loud log lines, want 2:\n%s", n, logs.String())
	}
	if len(e.deletes()) != 0 {
		t.Fatal("a replica without the key ended sessions")
	}
	if r := clickAs(t, holder, "ULEAD2", ActionApprove, pending); r.Kind != bot.Success {
		t.Errorf("approve on the replica with the key: %v %q %s", r.Kind, r.Title, joined(r))
	}
}
