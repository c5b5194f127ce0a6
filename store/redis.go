package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// expireBatch bounds how many index entries one expiry script handles, so a
// backlog never blocks Redis for long; ExpireDue loops until it is drained.
const expireBatch = 500

// Redis is the shared backend: several replicas pointed at one Redis see the
// same pending actions, audit trail and replay keys, and Claim / ExpireDue
// are exactly-once across them (Lua scripts). Safe for concurrent use.
type Redis struct {
	c    *redis.Client
	addr string // host:port, for errors and logs; never the password
	o    *options

	kPending string // prefix of pending hashes
	kDue     string
	kAudit   string
	kSeen    string // prefix of replay keys
	kBlob    string // prefix of blobs

	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*Redis)(nil)

// NewRedis builds a Redis store that owns a new client made from a copy of
// ropts (Close closes it). It does not dial: Ping does. Unless ropts says
// otherwise, maintenance notifications (a Redis Cloud feature) are off, so a
// self-hosted server is not probed for them on every connection.
func NewRedis(ropts *redis.Options, opts ...Option) (*Redis, error) {
	if ropts == nil {
		return nil, errors.New("new redis store: nil redis options")
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("new redis store %s: %w", ropts.Addr, err)
	}
	cp := *ropts
	// go-redis retries a failed command 3 times with a 5 s dial timeout; a
	// chat user waiting on an audit write during a Redis outage should get
	// an answer in seconds instead. Settings from the URL win.
	if cp.DialTimeout == 0 {
		cp.DialTimeout = 2 * time.Second
	}
	if cp.MaxRetries == 0 {
		cp.MaxRetries = 1
	}
	if cp.MaintNotificationsConfig == nil {
		cp.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	}
	r := &Redis{
		c:        redis.NewClient(&cp),
		addr:     cp.Addr,
		o:        o,
		kPending: o.keyPrefix + "pending:",
		kDue:     o.keyPrefix + "due",
		kAudit:   o.keyPrefix + "audit",
		kSeen:    o.keyPrefix + "seen:",
		kBlob:    o.keyPrefix + "blob:",
	}
	o.logger.Info("store opened", "backend", "redis", "addr", cp.Addr, "db", cp.DB, "prefix", o.keyPrefix)
	return r, nil
}

// CreatePending saves p as pending; an existing id (even one decided or
// expired and still retained) is an error.
func (r *Redis) CreatePending(ctx context.Context, p Pending) error {
	p, err := checkNewPending(p)
	if err != nil {
		return fmt.Errorf("create pending: %w", err)
	}
	val, err := encodePending(p)
	if err != nil {
		return err
	}
	created, err := createScript.Run(ctx, r.c, []string{r.kPending + p.ID, r.kDue},
		val, timeKey(p.ExpiresAt), p.ID).Int()
	if err != nil {
		return fmt.Errorf("create pending %q on redis %s: %w", p.ID, r.addr, err)
	}
	if created == 0 {
		return fmt.Errorf("create pending %q: id already exists", p.ID)
	}
	return nil
}

// GetPending returns the action in whatever state it is.
func (r *Redis) GetPending(ctx context.Context, id string) (Pending, error) {
	if !validID(id) {
		return Pending{}, fmt.Errorf("get pending %q: %w", id, ErrNotFound)
	}
	fields, err := r.c.HGetAll(ctx, r.kPending+id).Result()
	if err != nil {
		return Pending{}, fmt.Errorf("get pending %q on redis %s: %w", id, r.addr, err)
	}
	if len(fields) == 0 {
		return Pending{}, fmt.Errorf("get pending %q: %w", id, ErrNotFound)
	}
	p, err := pendingFromHash(fields)
	if err != nil {
		return Pending{}, fmt.Errorf("get pending %q: %w", id, err)
	}
	return p, nil
}

// Claim decides a pending action in one Lua script, so exactly one of any
// number of callers, on any replica, finds it still pending.
func (r *Redis) Claim(ctx context.Context, id string, decision State, by string, now time.Time) (Pending, error) {
	if err := checkClaim(decision, by, now); err != nil {
		return Pending{}, fmt.Errorf("claim %q: %w", id, err)
	}
	if !validID(id) {
		return Pending{}, fmt.Errorf("claim %q: %w", id, ErrNotFound)
	}
	res, err := claimScript.Run(ctx, r.c, []string{r.kPending + id, r.kDue},
		string(decision), by, timeKey(now), now.Format(time.RFC3339Nano), r.retentionMS(), id).Slice()
	if err != nil {
		return Pending{}, fmt.Errorf("claim %q on redis %s: %w", id, r.addr, err)
	}
	if len(res) == 0 {
		return Pending{}, fmt.Errorf("claim %q: empty script reply", id)
	}
	outcome, _ := res[0].(string)
	if outcome == "notfound" {
		return Pending{}, fmt.Errorf("claim %q: %w", id, ErrNotFound)
	}
	p, err := pendingFromFlat(res[1:])
	if err != nil {
		return Pending{}, fmt.Errorf("claim %q: %w", id, err)
	}
	switch outcome {
	case "ok":
		return p, nil
	case "expired":
		return p, fmt.Errorf("claim %q: %w", id, ErrExpired)
	case "decided":
		return p, fmt.Errorf("claim %q: %w", id, ErrDecided)
	}
	return Pending{}, fmt.Errorf("claim %q: unexpected script outcome %q", id, outcome)
}

// ExpireDue expires every pending action whose ExpiresAt is before now, in
// batches; each batch is one script, so each expiry is returned once. Decided
// actions need no sweep: their keys carry the retention TTL.
func (r *Redis) ExpireDue(ctx context.Context, now time.Time) ([]Pending, error) {
	if err := checkTime("expiry sweep time", now); err != nil {
		return nil, fmt.Errorf("expire due: %w", err)
	}
	var expired []Pending
	for {
		res, err := expireScript.Run(ctx, r.c, []string{r.kDue},
			r.kPending, timeKey(now), now.Format(time.RFC3339Nano), r.retentionMS(), expireBatch).Slice()
		if err != nil {
			// Batches already run stay expired; report them with the error so
			// the caller can still record them.
			return expired, fmt.Errorf("expire due on redis %s: %w", r.addr, err)
		}
		if len(res) == 0 {
			return expired, fmt.Errorf("expire due: empty script reply")
		}
		examined, _ := res[0].(int64)
		for _, item := range res[1:] {
			flat, ok := item.([]any)
			if !ok {
				return expired, fmt.Errorf("expire due: unexpected script reply %T", item)
			}
			p, err := pendingFromFlat(flat)
			if err != nil {
				return expired, fmt.Errorf("expire due: %w", err)
			}
			expired = append(expired, p)
		}
		if examined < expireBatch {
			break
		}
	}
	if len(expired) > 0 {
		r.o.logger.Debug("store sweep", "backend", "redis", "expired", len(expired))
	}
	return expired, nil
}

// AppendAudit pushes e on the audit list and trims it to the limit, both in
// one MULTI so the list never outgrows it.
func (r *Redis) AppendAudit(ctx context.Context, e Event) error {
	val, err := encodeEvent(e)
	if err != nil {
		return err
	}
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, r.kAudit, val)
		p.LTrim(ctx, r.kAudit, 0, int64(r.o.auditLimit-1))
		return nil
	})
	if err != nil {
		return fmt.Errorf("append audit on redis %s: %w", r.addr, err)
	}
	return nil
}

// RecentAudit returns up to n events, newest first.
func (r *Redis) RecentAudit(ctx context.Context, n int) ([]Event, error) {
	if n < 0 {
		return nil, fmt.Errorf("recent audit: count %d is negative", n)
	}
	n = min(n, r.o.auditLimit)
	if n == 0 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("recent audit: %w", err)
		}
		return []Event{}, nil
	}
	vals, err := r.c.LRange(ctx, r.kAudit, 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("recent audit on redis %s: %w", r.addr, err)
	}
	events := make([]Event, 0, len(vals))
	for _, v := range vals {
		e, err := decodeEvent([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("recent audit: %w", err)
		}
		events = append(events, e)
	}
	return events, nil
}

// SeenBefore records key with SET NX PX: Redis lets exactly one caller set a
// fresh key, and expires it itself.
func (r *Redis) SeenBefore(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkSeen(key, ttl); err != nil {
		return false, fmt.Errorf("replay check: %w", err)
	}
	// PX takes whole milliseconds; round up so a tiny ttl still guards.
	if rem := ttl % time.Millisecond; rem != 0 {
		ttl += time.Millisecond - rem
	}
	set, err := r.c.SetNX(ctx, r.kSeen+key, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("replay check on redis %s: %w", r.addr, err)
	}
	return !set, nil
}

// Ping checks Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis %s: %w", r.addr, err)
	}
	return nil
}

// Close closes the client; later calls return the first call's result.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		if err := r.c.Close(); err != nil {
			r.closeErr = fmt.Errorf("close redis store %s: %w", r.addr, err)
		}
	})
	return r.closeErr
}

func (r *Redis) retentionMS() string {
	return strconv.FormatInt(max(r.o.retention.Milliseconds(), 1), 10)
}

// pendingFromFlat reads a hash returned by HGETALL inside a script: field,
// value, field, value...
func pendingFromFlat(flat []any) (Pending, error) {
	if len(flat)%2 != 0 {
		return Pending{}, fmt.Errorf("odd hash reply of %d items", len(flat))
	}
	fields := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		k, ok1 := flat[i].(string)
		v, ok2 := flat[i+1].(string)
		if !ok1 || !ok2 {
			return Pending{}, fmt.Errorf("hash reply item %d: not a string", i)
		}
		fields[k] = v
	}
	return pendingFromHash(fields)
}

func pendingFromHash(fields map[string]string) (Pending, error) {
	p, err := decodePending([]byte(fields["rec"]))
	if err != nil {
		return Pending{}, err
	}
	p.State = State(fields["state"])
	p.DecidedBy = fields["by"]
	if at := fields["at"]; at != "" {
		if p.DecidedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return Pending{}, fmt.Errorf("decode decision time: %w", err)
		}
	}
	return p, nil
}
