package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// A Qlik session id is its user's session cookie: no reply, file, log line
// or audit row of qlikbot may hold one in full (issue 10). The leak tests
// run the demo on each platform and scan everything qlikbot said for every
// id the simulators hold or held, in any spelling.

// uuidRE finds a session id (a UUID) in a simulator's request path.
var uuidRE = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// heldIDs are the session ids to look for: lower-case hex without dashes.
type heldIDs map[string]bool

func normSessionID(id string) string { return strings.ReplaceAll(strings.ToLower(id), "-", "") }

func (h heldIDs) add(id string) {
	if n := normSessionID(id); len(n) == 32 {
		h[n] = true
	}
}

// addSim adds every session sim holds now on any virtual proxy of lab, and
// every session id its request log names (a DELETE of a session that is
// gone now), so the ids a kick ended are looked for too.
func (h heldIDs) addSim(sim *qliksim.Server, lab qliksim.Lab) {
	for _, s := range lab.Sessions {
		h.add(s.Session.ID)
	}
	for _, host := range sim.Hosts() {
		for _, vp := range lab.VirtualProxies {
			for _, s := range sim.Sessions(host, vp.Prefix) {
				h.add(s.ID)
			}
		}
	}
	for _, r := range sim.Requests() {
		if r.Service == "qps" {
			for _, id := range uuidRE.FindAllString(r.Path, -1) {
				h.add(id)
			}
		}
	}
}

// spellings are the forms of one id that must appear nowhere: with and
// without dashes, lower and upper case, each also URL-escaped and base64
// encoded at every alignment (leakForms).
func spellings(norm string) []string {
	dashed := norm[:8] + "-" + norm[8:12] + "-" + norm[12:16] + "-" + norm[16:20] + "-" + norm[20:]
	var out []string
	for _, s := range []string{norm, dashed, strings.ToUpper(norm), strings.ToUpper(dashed)} {
		out = append(out, leakForms(s)...)
	}
	return out
}

// percentRE is one %XX escape.
var percentRE = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)

// hexDigits is text URL-unescaped (twice: an escaped URL inside a query),
// lower-cased, with everything but hex digits dropped: an id split by
// dashes, spaces, escapes or mixed case is whole again.
func hexDigits(text string) string {
	for range 2 {
		text = percentRE.ReplaceAllStringFunc(text, func(e string) string {
			var b byte
			fmt.Sscanf(e[1:], "%02x", &b)
			return string([]byte{b})
		})
	}
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'f' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// leakScan is everything qlikbot said in one run, by where it was said.
type leakScan struct {
	parts []leakPart
}

type leakPart struct{ where, text string }

func (s *leakScan) add(where, text string) { s.parts = append(s.parts, leakPart{where, text}) }

// leaks lists each id of ids found in some part, naming the part and its
// surroundings.
func (s *leakScan) leaks(ids heldIDs) []string {
	var found []string
	for _, p := range s.parts {
		hex := hexDigits(p.text)
		for id := range ids {
			form, at := "", -1
			if strings.Contains(hex, id) {
				form = "its hex digits"
			}
			for _, f := range spellings(id) {
				if at = strings.Index(p.text, f); at >= 0 {
					form = fmt.Sprintf("%q", f)
					break
				}
			}
			if form == "" {
				continue
			}
			near := ""
			if at >= 0 {
				near = p.text[max(0, at-100):min(len(p.text), at+80)]
			}
			found = append(found, fmt.Sprintf("%s holds session %s… in full (as %s) near: %q", p.where, id[:8], form, near))
		}
	}
	slices.Sort(found)
	return found
}

// check fails t for every leak.
func (s *leakScan) check(t *testing.T, ids heldIDs) {
	t.Helper()
	if len(ids) == 0 {
		t.Fatal("no session ids to look for: the scan would find nothing")
	}
	for _, l := range s.leaks(ids) {
		t.Error(l)
	}
}

// text returns the parts whose where starts with prefix, joined.
func (s *leakScan) text(prefix string) string {
	var b strings.Builder
	for _, p := range s.parts {
		if strings.HasPrefix(p.where, prefix) {
			b.WriteString(p.text + "\n")
		}
	}
	return b.String()
}

// sealedState names the records that hold full session ids by design: the
// sealed approval snapshots and job records (issue 10: "full ids in the
// store only"). Everything else a store holds is scanned.
func sealedState(name string) bool {
	for _, s := range []string{"pending", "job", "job_batch", "jobbatch"} {
		if name == s || strings.HasSuffix(name, ":"+s) || strings.Contains(name, ":"+s+":") {
			return true
		}
	}
	return false
}

// addBolt adds every bucket of the bolt file at path (the audit trail,
// blobs such as the Teams download files, replay keys ...) but the sealed
// state, as stored. The file must be closed by qlikbot first.
func (s *leakScan) addBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open the bolt store as stored: %v", err)
	}
	defer db.Close()
	var walk func(where string, b *bolt.Bucket) error
	walk = func(where string, b *bolt.Bucket) error {
		var sb strings.Builder
		err := b.ForEach(func(k, v []byte) error {
			if v == nil { // a nested bucket
				return walk(where+"/"+string(k), b.Bucket(k))
			}
			sb.Write(k)
			sb.WriteString(" ")
			sb.Write(v)
			sb.WriteString("\n")
			return nil
		})
		s.add(where, sb.String())
		return err
	}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if sealedState(string(name)) {
				return nil
			}
			return walk("the bolt store, bucket "+string(name), b)
		})
	})
	if err != nil {
		t.Fatalf("read the bolt store: %v", err)
	}
}

// addRedis adds every key of the Redis at addr (the audit list, blobs,
// replay keys ...) but the sealed state, as stored, read with a plain
// client.
func (s *leakScan) addRedis(t *testing.T, addr string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	keys, err := rc.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("list the Redis keys: %v", err)
	}
	for _, k := range keys {
		if sealedState(k) {
			continue
		}
		typ, err := rc.Type(ctx, k).Result()
		if err != nil {
			t.Fatalf("type of %s: %v", k, err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rc.Get(ctx, k).Result()
		case "list":
			v, err = rc.LRange(ctx, k, 0, -1).Result()
		case "hash":
			v, err = rc.HGetAll(ctx, k).Result()
		case "set":
			v, err = rc.SMembers(ctx, k).Result()
		case "zset":
			v, err = rc.ZRangeWithScores(ctx, k, 0, -1).Result()
		default:
			t.Fatalf("Redis key %s has type %s, which the scan cannot read", k, typ)
		}
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		b, _ := json.Marshal(v) // raw values inside JSON strings: escapes do not hide hex digits
		s.add("Redis key "+k, k+" "+string(b))
	}
}

// attachedRE finds the console's "attached NAME: PATH (N bytes)" lines.
var attachedRE = regexp.MustCompile(`attached ([^:\n]+): (\S+) \(\d+ bytes\)`)

// addConsoleFiles adds the files the console saved (while they exist: the
// console removes them at exit) and returns how many there were.
func (s *leakScan) addConsoleFiles(t *testing.T, out string) int {
	t.Helper()
	ms := attachedRE.FindAllStringSubmatch(out, -1)
	for _, m := range ms {
		b, err := os.ReadFile(m[2])
		if err != nil {
			t.Fatalf("read the console's %s: %v", m[1], err)
		}
		s.add("console file "+filepath.Base(m[2]), string(b))
	}
	return len(ms)
}

// wantHandles checks that every id of want shows, by its 8-digit handle,
// in text: the scan looks where the sessions really are shown.
func wantHandles(t *testing.T, where, text string, want []string) {
	t.Helper()
	for _, id := range want {
		if h := normSessionID(id)[:8]; !strings.Contains(strings.ToLower(text), h) {
			t.Errorf("%s does not show session %s by its handle: the leak scan there proves nothing", where, h)
		}
	}
}

// TestLeakScanFindsEveryForm shows the scan can fail: an id written any
// way at all is found, and its handles (8, 12 or 16 digits) are not.
func TestLeakScanFindsEveryForm(t *testing.T) {
	t.Parallel()
	const id = "55142b14-8d2d-43b3-a522-4b2fb46b2798"
	plain := normSessionID(id)
	var escaped strings.Builder
	for _, b := range []byte(id) {
		fmt.Fprintf(&escaped, "%%%02X", b)
	}
	tests := []struct {
		name, text string
		leak       bool
	}{
		{"as Qlik writes it", `{"path":"/qps/finance/session/` + id + `"}`, true},
		{"upper case", "Session " + strings.ToUpper(id), true},
		{"without dashes", "finance Central LAB\\testuser_1 " + plain + " deleted", true},
		{"upper case without dashes", strings.ToUpper(plain), true},
		{"URL-escaped", "https://bot.example.com/files/x?s=" + escaped.String(), true},
		{"escaped twice", "u=" + strings.ReplaceAll(escaped.String(), "%", "%25"), true},
		{"in pieces", plain[:8] + " " + plain[8:20] + "\n" + plain[20:], true},
		{"base64", base64.StdEncoding.EncodeToString([]byte("s=" + id + ";")), true},
		{"handle", "finance  Central  LAB\\testuser_1  " + plain[:8] + "  deleted", false},
		{"lengthened handles", plain[:12] + " " + plain[:16] + " 0badc0de12344abc", false},
		{"another id", "d1b5d953-4312-4cf2-a106-1992a84dd82b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s leakScan
			s.add(tc.name, tc.text)
			if got := len(s.leaks(heldIDs{plain: true})) > 0; got != tc.leak {
				t.Errorf("leak found = %v, want %v in %q", got, tc.leak, tc.text)
			}
		})
	}
}
