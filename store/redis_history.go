package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A site's history in Redis, under <prefix>hist:<site>:
//
//	:meta     hash: newest (timeKey of the newest sample), wm (timeKey up
//	          to which raw samples are rolled up), rawcut (timeKey before
//	          which raw samples were dropped)
//	:raw      sorted set, all scores 0: timeKey(sample time) .. raw record
//	:agg      sorted set, all scores 0: timeKey(bucket start) .. aggregate
//	:dict     hash: hex dictionary id -> dictionary
//	:dictuse  hash: hex dictionary id -> timeKey of its latest use
//
// and the site is a member of the set <prefix>hist_sites. A member's first
// 20 bytes are its time, so ZRANGEBYLEX walks a range in time order.
// Site names are letters, digits, '-', '_' and '.', so keys cannot clash.

// compactTries bounds how often Compact retries a site whose history moved
// (a sample appended) between its read and its write.
const compactTries = 3

// histKeys are one site's keys; KEYS of the scripts below, in this order.
func (r *Redis) histKeys(site string) []string {
	k := r.o.keyPrefix + "hist:" + site
	return []string{k + ":meta", k + ":raw", k + ":agg", k + ":dict", k + ":dictuse", r.o.keyPrefix + "hist_sites"}
}

// appendSampleScript: KEYS lease, then histKeys; ARGV lease value,
// timeKey(t), raw record, dictionary id, dictionary, site, t and the most
// it may be ahead of the server's TIME (both in ms; not checked when the
// ACL denies TIME). Returns "ok", "lost", "ahead", "order" or "collision".
var appendSampleScript = redis.NewScript(luaLease + `
local now = redis.pcall('TIME')
if not now.err and tonumber(ARGV[7]) > tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[8]) then
  return 'ahead'
end
local newest = redis.call('HGET', KEYS[2], 'newest')
if newest and ARGV[2] <= newest then
  return 'order'
end
local wm = redis.call('HGET', KEYS[2], 'wm')
if wm and ARGV[2] < wm then
  return 'order'
end
local cur = redis.call('HGET', KEYS[5], ARGV[4])
if not cur then
  redis.call('HSET', KEYS[5], ARGV[4], ARGV[5])
elseif cur ~= ARGV[5] then
  return 'collision'
end
redis.call('HSET', KEYS[6], ARGV[4], ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[2] .. ARGV[3])
redis.call('HSET', KEYS[2], 'newest', ARGV[2])
redis.call('SADD', KEYS[7], ARGV[6])
return 'ok'
`)

// queryAggScript: KEYS histKeys; ARGV timeKey(bucket of from), timeKey(to).
// Returns {wm or ”, aggregates in range, raw samples from
// max(wm, from) to to}: one atomic read, so a compaction cannot move a
// bucket between the two lists.
var queryAggScript = redis.NewScript(`
local wm = redis.call('HGET', KEYS[1], 'wm') or ''
local lo = ARGV[1]
if wm > lo then lo = wm end
return {wm,
  redis.call('ZRANGEBYLEX', KEYS[3], '[' .. ARGV[1], '(' .. ARGV[2]),
  redis.call('ZRANGEBYLEX', KEYS[2], '[' .. lo, '(' .. ARGV[2])}
`)

// compactScript: KEYS histKeys; ARGV newest and wm as read (” for
// none), the new wm (” to keep it), timeKey(raw cut), timeKey(aggregate
// cut), site, then triples of aggregate member, dictionary id, dictionary.
// Returns "moved" (a sample came in or another replica compacted: nothing
// written), "collision" (every dictionary is checked before the first
// write: nothing written) or "ok". Drops what is past retention, unused
// dictionaries, and the site itself once it holds nothing.
var compactScript = redis.NewScript(`
local newest = redis.call('HGET', KEYS[1], 'newest') or ''
local wm = redis.call('HGET', KEYS[1], 'wm') or ''
if newest ~= ARGV[1] or wm ~= ARGV[2] then
  return 'moved'
end
for i = 7, #ARGV, 3 do
  local cur = redis.call('HGET', KEYS[4], ARGV[i + 1])
  if cur and cur ~= ARGV[i + 2] then
    return 'collision'
  end
end
for i = 7, #ARGV, 3 do
  local id, dict = ARGV[i + 1], ARGV[i + 2]
  redis.call('HSET', KEYS[4], id, dict)
  local start = string.sub(ARGV[i], 1, 20)
  local used = redis.call('HGET', KEYS[5], id)
  if not used or used < start then
    redis.call('HSET', KEYS[5], id, start)
  end
  redis.call('ZADD', KEYS[3], 0, ARGV[i])
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'wm', ARGV[3])
end
redis.call('ZREMRANGEBYLEX', KEYS[2], '-', '(' .. ARGV[4])
local cut = redis.call('HGET', KEYS[1], 'rawcut')
if not cut or cut < ARGV[4] then
  redis.call('HSET', KEYS[1], 'rawcut', ARGV[4])
end
redis.call('ZREMRANGEBYLEX', KEYS[3], '-', '(' .. ARGV[5])
local use = redis.call('HGETALL', KEYS[5])
for i = 1, #use, 2 do
  if use[i + 1] < ARGV[5] then
    redis.call('HDEL', KEYS[5], use[i])
    redis.call('HDEL', KEYS[4], use[i])
  end
end
if redis.call('ZCARD', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[3]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[4], KEYS[5])
  redis.call('SREM', KEYS[6], ARGV[6])
end
return 'ok'
`)

// AppendSample adds s to its site's raw history in one script fenced by l.
func (r *Redis) AppendSample(ctx context.Context, l Lease, s Sample) error {
	id, dict, rec, err := prepareSample(l, s)
	if err != nil {
		return fmt.Errorf("append sample of %s: %w", s.Site, err)
	}
	keys := append([]string{r.kLease + l.Name}, r.histKeys(s.Site)...)
	out, err := appendSampleScript.Run(ctx, r.c, keys, leaseVal(l), timeKey(s.Time), rec,
		hex.EncodeToString(id[:]), dict, s.Site, s.Time.UnixMilli(), MaxSampleAhead.Milliseconds()).Text()
	if err != nil {
		return fmt.Errorf("append sample of %s on redis %s: %w", s.Site, r.addr, err)
	}
	switch out {
	case "ok":
		return nil
	case "lost":
		return fmt.Errorf("append sample of %s: %w", s.Site, ErrLeaseLost)
	case "order":
		return fmt.Errorf("append sample of %s at %s: %w", s.Site, s.Time.Format(time.RFC3339Nano), ErrSampleOrder)
	case "ahead":
		return fmt.Errorf("append sample of %s at %s: %w", s.Site, s.Time.Format(time.RFC3339Nano), ErrSampleAhead)
	case "collision":
		return fmt.Errorf("append sample of %s: %w", s.Site, errDictCollision)
	}
	return fmt.Errorf("append sample of %s: unexpected script outcome %q", s.Site, out)
}

// QueryHistory reads the selected series of q.Site: raw samples with one
// ZRANGEBYLEX, aggregates (and the raw samples not rolled up yet) with one
// script, then the dictionaries it does not hold decoded.
func (r *Redis) QueryHistory(ctx context.Context, q HistoryQuery) (History, error) {
	if err := checkQuery(q); err != nil {
		return History{}, fmt.Errorf("query history: %w", err)
	}
	keys := r.histKeys(q.Site)
	meta, err := r.c.HMGet(ctx, keys[0], "newest", "rawcut").Result()
	if err != nil {
		return History{}, fmt.Errorf("query history of %s on redis %s: %w", q.Site, r.addr, err)
	}
	hb := newHistBuilder(q)
	newestKey, _ := meta[0].(string)
	if newestKey == "" {
		return hb.result(q.Site, 0), nil
	}
	newest, _ := parseTimeKey(newestKey)
	rawCutKey, _ := meta[1].(string)
	rawCut, _ := parseTimeKey(rawCutKey)
	if useRaw(q, newest, rawCut, r.o.history.raw) {
		members, err := r.c.ZRangeByLex(ctx, keys[1], &redis.ZRangeBy{Min: "[" + timeKey(q.From), Max: "(" + timeKey(q.To)}).Result()
		if err != nil {
			return History{}, fmt.Errorf("query history of %s on redis %s: %w", q.Site, r.addr, err)
		}
		recs, err := r.resolve(ctx, keys[3], members, 0, &hb.skipped)
		if err != nil {
			return History{}, fmt.Errorf("query history of %s: %w", q.Site, err)
		}
		hb.expect(len(recs))
		for _, rc := range recs {
			hb.addRaw(rc.t, rc.keys, rc.rec)
		}
		return hb.result(q.Site, 0), nil
	}
	res, err := queryAggScript.Run(ctx, r.c, keys, timeKey(bucketOf(q.From)), timeKey(q.To)).Slice()
	if err != nil {
		return History{}, fmt.Errorf("query history of %s on redis %s: %w", q.Site, r.addr, err)
	}
	if len(res) != 3 {
		return History{}, fmt.Errorf("query history of %s: bad script reply", q.Site)
	}
	aggs, raws := stringItems(res[1]), stringItems(res[2])
	recs, err := r.resolve(ctx, keys[3], append(aggs, raws...), len(aggs), &hb.skipped)
	if err != nil {
		return History{}, fmt.Errorf("query history of %s: %w", q.Site, err)
	}
	hb.expect(len(aggs) + 2) // and the buckets not rolled up yet, about one
	var tail []decoded
	for _, rc := range recs {
		if !rc.raw {
			hb.addAggRecord(rc.t, rc.keys, rc.rec)
			continue
		}
		if vals, err := decodeRaw(rc.rec, len(rc.keys)); err == nil {
			tail = append(tail, decoded{t: rc.t, keys: rc.keys, vals: vals})
		} else {
			hb.skipped++
		}
	}
	for _, rb := range rollBuckets(tail) {
		hb.addAgg(rb.start, rb.keys, rb.id, rb.aggs)
	}
	return hb.result(q.Site, AggregateStep), nil
}

// stringItems converts a script's array reply.
func stringItems(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// resolvedRecord is a stored member split into its time and record, with
// its dictionary's keys.
type resolvedRecord struct {
	t    time.Time
	keys []SeriesKey
	rec  []byte
	raw  bool // a raw sample, else an aggregate
}

// resolve splits members and looks up their dictionaries (one HMGET for
// those not cached); members that do not decode are counted in skipped.
// Members from position rawFrom on are raw samples, the others aggregates.
func (r *Redis) resolve(ctx context.Context, dictKey string, members []string, rawFrom int, skipped *int) ([]resolvedRecord, error) {
	out := make([]resolvedRecord, 0, len(members))
	ids := make([]dictID, 0, len(members))
	var missing []string
	seen := map[dictID]bool{}
	for i, m := range members {
		t, ok := parseTimeKey(m[:min(len(m), timeKeyLen)])
		rec := []byte(m[min(len(m), timeKeyLen):])
		id, _, err := recordHead(rec)
		if !ok || err != nil {
			*skipped++
			continue
		}
		out = append(out, resolvedRecord{t: t, rec: rec, raw: i >= rawFrom})
		ids = append(ids, id)
		if _, cached := r.dicts.get(id); !cached && !seen[id] {
			seen[id] = true
			missing = append(missing, hex.EncodeToString(id[:]))
		}
	}
	if len(missing) > 0 {
		encs, err := r.c.HMGet(ctx, dictKey, missing...).Result()
		if err != nil {
			return nil, fmt.Errorf("read series dictionaries on redis %s: %w", r.addr, err)
		}
		for i, e := range encs {
			s, _ := e.(string)
			var id dictID
			if b, err := hex.DecodeString(missing[i]); err == nil && len(b) == len(id) && s != "" {
				copy(id[:], b)
				_, _ = r.dicts.decode(id, []byte(s)) // a bad one stays missing: its records are skipped
			}
		}
	}
	kept := out[:0]
	for i, rc := range out {
		keys, ok := r.dicts.get(ids[i])
		if !ok {
			*skipped++
			continue
		}
		rc.keys = keys
		kept = append(kept, rc)
	}
	return kept, nil
}

// Compact rolls up and drops history past retention for every site, then
// resolved alerts and ended silences.
func (r *Redis) Compact(ctx context.Context, now time.Time) error {
	if err := checkTime("compaction time", now); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	// The server's clock bounds the cut; a user whose ACL has no +time
	// (older advice) cuts by the caller's.
	if serverNow, err := r.c.Time(ctx).Result(); err == nil {
		now = compactNow(now, serverNow)
	} else if !strings.Contains(err.Error(), "NOPERM") {
		return fmt.Errorf("compact on redis %s: %w", r.addr, err)
	}
	sites, err := r.c.SMembers(ctx, r.o.keyPrefix+"hist_sites").Result()
	if err != nil {
		return fmt.Errorf("compact on redis %s: %w", r.addr, err)
	}
	var errs []error
	for _, site := range sites {
		if checkSite(site) != nil {
			continue // not written by this store
		}
		if err := r.compactSite(ctx, site, now); err != nil {
			errs = append(errs, fmt.Errorf("compact history of %s: %w", site, err))
		}
	}
	if err := r.pruneWatch(ctx, now); err != nil {
		errs = append(errs, fmt.Errorf("compact: %w", err))
	}
	return errors.Join(errs...)
}

func (r *Redis) compactSite(ctx context.Context, site string, now time.Time) error {
	keys := r.histKeys(site)
	rawCut, aggCut := now.Add(-r.o.history.raw), now.Add(-r.o.history.agg)
	for range compactTries {
		meta, err := r.c.HMGet(ctx, keys[0], "newest", "wm").Result()
		if err != nil {
			return fmt.Errorf("on redis %s: %w", r.addr, err)
		}
		newestKey, _ := meta[0].(string)
		wmKey, _ := meta[1].(string)
		args := []any{newestKey, wmKey, "", timeKey(rawCut), timeKey(aggCut), site}
		skipped := 0
		if newest, ok := parseTimeKey(newestKey); ok {
			until := compactBound(newest, rawCut)
			if wmKey == "" || wmKey < timeKey(until) {
				from := "-"
				if wmKey != "" {
					from = "[" + wmKey
				}
				members, err := r.c.ZRangeByLex(ctx, keys[1], &redis.ZRangeBy{Min: from, Max: "(" + timeKey(until)}).Result()
				if err != nil {
					return fmt.Errorf("on redis %s: %w", r.addr, err)
				}
				recs, err := r.resolve(ctx, keys[3], members, 0, &skipped)
				if err != nil {
					return err
				}
				samples := make([]decoded, 0, len(recs))
				for _, rc := range recs {
					if vals, err := decodeRaw(rc.rec, len(rc.keys)); err == nil {
						samples = append(samples, decoded{t: rc.t, keys: rc.keys, vals: vals})
					} else {
						skipped++
					}
				}
				args[2] = timeKey(until)
				for _, rb := range rollBuckets(samples) {
					args = append(args, timeKey(rb.start)+string(rb.rec), hex.EncodeToString(rb.id[:]), rb.dict)
				}
			}
		}
		if r.compactHook != nil {
			r.compactHook()
		}
		out, err := compactScript.Run(ctx, r.c, keys, args...).Text()
		if err != nil {
			return fmt.Errorf("on redis %s: %w", r.addr, err)
		}
		switch out {
		case "ok":
			if skipped > 0 {
				r.o.logger.Warn("history records skipped", "backend", "redis", "site", site, "skipped", skipped)
			}
			return nil
		case "collision":
			return errDictCollision
		case "moved":
			continue
		default:
			return fmt.Errorf("unexpected script outcome %q", out)
		}
	}
	// Samples kept coming in between the read and the write: the next
	// compaction rolls them up.
	r.o.logger.Debug("history compaction left for later", "backend", "redis", "site", site, "tries", compactTries)
	return nil
}

// parseTimeKey reads a timeKey back.
func parseTimeKey(s string) (time.Time, bool) {
	if len(s) != timeKeyLen {
		return time.Time{}, false
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		u = u*10 + uint64(c-'0')
	}
	return time.Unix(0, int64(u^(1<<63))).UTC(), true
}
