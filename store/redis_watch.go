package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// The watcher's records in Redis are three hashes: <prefix>alerts
// (alertField -> version and alert JSON), <prefix>subs (subField ->
// subscription JSON) and <prefix>silences (id -> silence JSON).

// putAlertScript: KEYS lease, alerts; ARGV lease value, field, expected
// version (20 digits), new value, limit. Returns "lost", {"ok"}, {"full"}
// or {"conflict", stored value or ""}. A stored value that does not start
// with 20 digits is at version 0, as storedVersion reads it.
var putAlertScript = redis.NewScript(luaLease + `
local cur = redis.call('HGET', KEYS[2], ARGV[2])
local ver = string.rep('0', 20)
if cur and string.find(cur, '^' .. string.rep('%d', 20)) then ver = string.sub(cur, 1, 20) end
if ver ~= ARGV[3] then
  return {'conflict', cur or ''}
end
if not cur and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[5]) then
  return {'full'}
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return {'ok'}
`)

// putBoundedScript: KEYS hash; ARGV field, value, limit. Sets the field
// unless that adds one past the limit; returns 1 when set.
var putBoundedScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// deleteSameScript: KEYS hash; ARGV pairs of field and value. Deletes each
// field still holding that value (nobody rewrote it since it was read);
// returns how many.
var deleteSameScript = redis.NewScript(`
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
`)

func (r *Redis) kAlerts() string   { return r.o.keyPrefix + "alerts" }
func (r *Redis) kSubs() string     { return r.o.keyPrefix + "subs" }
func (r *Redis) kSilences() string { return r.o.keyPrefix + "silences" }

// GetAlert returns the alert k.
func (r *Redis) GetAlert(ctx context.Context, k AlertKey) (Alert, error) {
	v, err := r.c.HGet(ctx, r.kAlerts(), alertField(k)).Result()
	if errors.Is(err, redis.Nil) {
		return Alert{}, fmt.Errorf("get alert %s: %w", k, ErrNotFound)
	}
	if err != nil {
		return Alert{}, fmt.Errorf("get alert %s on redis %s: %w", k, r.addr, err)
	}
	a, _, err := decodeStoredAlert([]byte(v))
	if err != nil {
		return Alert{}, fmt.Errorf("get alert %s: %w", k, err)
	}
	return a, nil
}

// ListAlerts returns every alert kept, by rule, site and group.
func (r *Redis) ListAlerts(ctx context.Context) ([]Alert, error) {
	all, err := r.c.HGetAll(ctx, r.kAlerts()).Result()
	if err != nil {
		return nil, fmt.Errorf("list alerts on redis %s: %w", r.addr, err)
	}
	fields := sortedFields(all)
	out := make([]Alert, 0, len(fields))
	for _, f := range fields {
		if a, _, err := decodeStoredAlert([]byte(all[f])); err == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// PutAlert writes a over a.Version in one script fenced by l.
func (r *Redis) PutAlert(ctx context.Context, l Lease, a Alert) (Alert, error) {
	val, err := prepareAlert(l, a)
	if err != nil {
		return Alert{}, fmt.Errorf("put alert %s: %w", a.Key, err)
	}
	reply, err := putAlertScript.Run(ctx, r.c, []string{r.kLease + l.Name, r.kAlerts()},
		leaseVal(l), alertField(a.Key), versionPrefix(a.Version), val, r.o.limit(MaxAlerts)).Result()
	if err != nil {
		return Alert{}, fmt.Errorf("put alert %s on redis %s: %w", a.Key, r.addr, err)
	}
	var res []string
	switch v := reply.(type) {
	case string: // luaLease's
		res = []string{v}
	case []any:
		for _, x := range v {
			s, _ := x.(string)
			res = append(res, s)
		}
	}
	switch {
	case len(res) == 0:
		return Alert{}, fmt.Errorf("put alert %s: empty script reply", a.Key)
	case res[0] == "ok":
		a.Version++
		return a, nil
	case res[0] == "lost":
		return Alert{}, fmt.Errorf("put alert %s: %w", a.Key, ErrLeaseLost)
	case res[0] == "full":
		return Alert{}, fmt.Errorf("put alert %s: %d alerts kept: %w", a.Key, r.o.limit(MaxAlerts), ErrLimit)
	case res[0] == "conflict" && len(res) == 2:
		var stored Alert
		if res[1] != "" {
			stored, _, _ = decodeStoredAlert([]byte(res[1]))
		}
		return stored, fmt.Errorf("put alert %s over version %d: %w", a.Key, a.Version, ErrConflict)
	}
	return Alert{}, fmt.Errorf("put alert %s: unexpected script reply %q", a.Key, res)
}

// PutSubscription saves s, replacing the channel's subscription.
func (r *Redis) PutSubscription(ctx context.Context, s Subscription) error {
	val, err := encodeSubscription(s)
	if err != nil {
		return fmt.Errorf("put subscription: %w", err)
	}
	if err := r.putBounded(ctx, r.kSubs(), subField(s.Platform, s.Channel), val, r.o.limit(MaxSubscriptions)); err != nil {
		return fmt.Errorf("put subscription of %s %s: %w", s.Platform, s.Channel, err)
	}
	return nil
}

// DeleteSubscription removes the channel's subscription and returns it.
func (r *Redis) DeleteSubscription(ctx context.Context, platform, channel string) (Subscription, error) {
	v, err := r.take(ctx, r.kSubs(), subField(platform, channel))
	if err != nil {
		return Subscription{}, fmt.Errorf("delete subscription of %s %s: %w", platform, channel, err)
	}
	s, _ := decodeSubscription([]byte(v)) // a damaged record is deleted all the same
	s.Platform, s.Channel = platform, channel
	return s, nil
}

// ListSubscriptions returns every subscription, by platform and channel.
func (r *Redis) ListSubscriptions(ctx context.Context) ([]Subscription, error) {
	all, err := r.c.HGetAll(ctx, r.kSubs()).Result()
	if err != nil {
		return nil, fmt.Errorf("list subscriptions on redis %s: %w", r.addr, err)
	}
	out := []Subscription{}
	for _, f := range sortedFields(all) {
		if s, err := decodeSubscription([]byte(all[f])); err == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// PutSilence saves s, replacing a silence with its id.
func (r *Redis) PutSilence(ctx context.Context, s Silence) error {
	val, err := encodeSilence(s)
	if err != nil {
		return fmt.Errorf("put silence: %w", err)
	}
	if err := r.putBounded(ctx, r.kSilences(), s.ID, val, r.o.limit(MaxSilences)); err != nil {
		return fmt.Errorf("put silence %s: %w", s.ID, err)
	}
	return nil
}

// EndSilence removes silence id and returns it.
func (r *Redis) EndSilence(ctx context.Context, id string) (Silence, error) {
	if !validID(id) {
		return Silence{}, fmt.Errorf("end silence: %w", ErrNotFound)
	}
	v, err := r.take(ctx, r.kSilences(), id)
	if err != nil {
		return Silence{}, fmt.Errorf("end silence %s: %w", id, err)
	}
	s, _ := decodeSilence([]byte(v))
	s.ID = id
	return s, nil
}

// ListSilences returns the silences active at now, oldest first.
func (r *Redis) ListSilences(ctx context.Context, now time.Time) ([]Silence, error) {
	all, err := r.c.HGetAll(ctx, r.kSilences()).Result()
	if err != nil {
		return nil, fmt.Errorf("list silences on redis %s: %w", r.addr, err)
	}
	out := []Silence{}
	for _, v := range all {
		if s, err := decodeSilence([]byte(v)); err == nil && s.Active(now) {
			out = append(out, s)
		}
	}
	sortSilences(out)
	return out, nil
}

// pruneWatch drops alerts resolved longer than the retention ago and
// silences that ended before now; a record rewritten meanwhile stays.
func (r *Redis) pruneWatch(ctx context.Context, now time.Time) error {
	var errs []error
	alerts, err := r.deleteWhere(ctx, r.kAlerts(), func(v string) bool {
		a, _, err := decodeStoredAlert([]byte(v))
		return err == nil && alertDue(a, now, r.o.retention)
	})
	errs = append(errs, err)
	silences, err := r.deleteWhere(ctx, r.kSilences(), func(v string) bool {
		s, err := decodeSilence([]byte(v))
		return err == nil && !s.Active(now)
	})
	errs = append(errs, err)
	if alerts > 0 || silences > 0 {
		r.o.logger.Debug("watch records pruned", "backend", "redis", "alerts", alerts, "silences", silences)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("prune alerts and silences on redis %s: %w", r.addr, err)
	}
	return nil
}

// deleteWhere deletes the fields of hash whose value drop approves, if
// still unchanged.
func (r *Redis) deleteWhere(ctx context.Context, hash string, drop func(v string) bool) (int, error) {
	all, err := r.c.HGetAll(ctx, hash).Result()
	if err != nil {
		return 0, err
	}
	var args []any
	for f, v := range all {
		if drop(v) {
			args = append(args, f, v)
		}
	}
	if len(args) == 0 {
		return 0, nil
	}
	return deleteSameScript.Run(ctx, r.c, []string{hash}, args...).Int()
}

func (r *Redis) putBounded(ctx context.Context, hash, field string, val []byte, limit int) error {
	ok, err := putBoundedScript.Run(ctx, r.c, []string{hash}, field, val, limit).Int()
	if err != nil {
		return fmt.Errorf("on redis %s: %w", r.addr, err)
	}
	if ok != 1 {
		return fmt.Errorf("%d kept: %w", limit, ErrLimit)
	}
	return nil
}

// take deletes field from hash and returns its value, in one MULTI.
func (r *Redis) take(ctx context.Context, hash, field string) (string, error) {
	var get *redis.StringCmd
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.HGet(ctx, hash, field)
		p.HDel(ctx, hash, field)
		return nil
	})
	if errors.Is(err, redis.Nil) || errors.Is(get.Err(), redis.Nil) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("on redis %s: %w", r.addr, err)
	}
	return get.Val(), nil
}

// sortedFields returns the hash's fields in byte order.
func sortedFields(m map[string]string) []string {
	fields := make([]string, 0, len(m))
	for f := range m {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	return fields
}
