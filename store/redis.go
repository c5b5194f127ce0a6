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

	kPending    string // prefix of pending hashes
	kDue        string
	kAudit      string
	kSeen       string // prefix of replay keys
	kBlob       string // prefix of blobs
	kLease      string // prefix of lease keys
	kLeaseSeq   string // the fencing token counter
	kJob        string // prefix of job hashes
	kJobBatch   string // prefix of job journals
	kJobs       string // every job, by creation time
	kJobsOpen   string // unfinished jobs, by creation time
	kJobsRetire string // finished jobs, by drop time

	dicts dictCache // history series dictionaries, decoded
	sweep sweepCompact
	// compactHook, when set (by tests), runs between Compact's read of a
	// site and its write.
	compactHook func()

	logAttrs  []any     // what the open log line says: never the password
	opened    sync.Once // "store opened" is logged after the first good Ping
	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*Redis)(nil)

// NewRedis builds a Redis store that owns a new client made from a copy of
// ropts (Close closes it). It does not dial: Ping does. Unless ropts says
// otherwise, maintenance notifications (a Redis Cloud feature) are off, so a
// self-hosted server is not probed for them on every connection. With
// WithTLSCAFile, ropts must ask for TLS (rediss://) and the server's
// certificate is checked against that CA instead of the system's.
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
	if cp.TLSConfig, err = tlsConfig(cp.TLSConfig, o.tlsCAFile); err != nil {
		return nil, fmt.Errorf("new redis store %s: %w", cp.Addr, err)
	}
	p := o.keyPrefix
	r := &Redis{
		c:           redis.NewClient(&cp),
		addr:        cp.Addr,
		o:           o,
		kPending:    p + "pending:",
		kDue:        p + "due",
		kAudit:      p + "audit",
		kSeen:       p + "seen:",
		kBlob:       p + "blob:",
		kLease:      p + "lease:",
		kLeaseSeq:   p + "lease_seq",
		kJob:        p + "job:",
		kJobBatch:   p + "jobbatch:",
		kJobs:       p + "jobs",
		kJobsOpen:   p + "jobs_open",
		kJobsRetire: p + "jobs_retire",
	}
	r.logAttrs = []any{"backend", "redis", "addr", cp.Addr, "db", cp.DB, "user", cp.Username,
		"tls", cp.TLSConfig != nil, "prefix", p}
	o.logger.Debug("store configured", r.logAttrs...)
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
// batches: it reads a batch of due actions, builds their audit events, and
// one script expires those still pending and pushes their events, so each
// expiry is returned and audited once, together. Decided actions need no
// sweep (their keys carry the retention TTL); finished jobs are dropped here.
func (r *Redis) ExpireDue(ctx context.Context, now time.Time, auditFor func(Pending) Event) ([]Pending, error) {
	if err := checkTime("expiry sweep time", now); err != nil {
		return nil, fmt.Errorf("expire due: %w", err)
	}
	var expired []Pending
	for {
		batch, more, err := r.expireSome(ctx, now, auditFor)
		// What earlier batches expired stays expired and audited: report it
		// with the error too.
		expired = append(expired, batch...)
		if err != nil {
			return expired, fmt.Errorf("expire due on redis %s: %w", r.addr, err)
		}
		if !more {
			break
		}
	}
	if err := r.pruneJobs(ctx, now); err != nil {
		return expired, fmt.Errorf("expire due: %w", err)
	}
	if len(expired) > 0 {
		r.o.logger.Debug("store sweep", "backend", "redis", "expired", len(expired))
	}
	r.sweep.run(ctx, r.o.logger, now, r.Compact)
	return expired, nil
}

// expireSome expires up to expireBatch due actions; more reports whether
// the index may hold others.
func (r *Redis) expireSome(ctx context.Context, now time.Time, auditFor func(Pending) Event) ([]Pending, bool, error) {
	members, err := r.c.ZRangeByLex(ctx, r.kDue, &redis.ZRangeBy{Min: "-", Max: "(" + timeKey(now), Count: expireBatch}).Result()
	if err != nil || len(members) == 0 {
		return nil, false, err
	}
	cmds := make([]*redis.MapStringStringCmd, len(members))
	if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range members {
			id, _ := memberID(m)
			cmds[i] = p.HGetAll(ctx, r.kPending+id)
		}
		return nil
	}); err != nil {
		return nil, false, err
	}
	at := now.Format(time.RFC3339Nano)
	args := []any{r.kPending, timeKey(now), at, r.retentionMS(), r.o.auditLimit}
	candidates := map[string]Pending{}
	for i, m := range members {
		var ev []byte
		if id, ok := memberID(m); ok && cmds[i].Val()["state"] == string(StatePending) {
			// A record that does not decode still expires, audited by id:
			// one bad record must not stall every sweep.
			p, err := pendingFromHash(cmds[i].Val())
			if err != nil || p.ID != id {
				p = Pending{ID: id}
			}
			p.State, p.DecidedAt = StateExpired, now
			candidates[id] = p
			if auditFor != nil {
				if ev, err = encodeEvent(auditFor(p)); err != nil {
					return nil, false, err
				}
			}
		}
		args = append(args, m, ev)
	}
	ids, err := expireScript.Run(ctx, r.c, []string{r.kDue, r.kAudit}, args...).StringSlice()
	if err != nil {
		return nil, false, err
	}
	out := make([]Pending, 0, len(ids))
	for _, id := range ids {
		if p, ok := candidates[id]; ok {
			out = append(out, p)
		}
	}
	return out, len(members) == expireBatch, nil
}

// AppendAudit pushes events on the audit list and trims it to the limit,
// both in one MULTI so the list never outgrows it.
func (r *Redis) AppendAudit(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
		return nil
	}
	vals, err := encodeEvents(events)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, r.kAudit, appendArgs(nil, vals)...)
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
	set, err := r.c.SetNX(ctx, r.kSeen+key, 1, time.Duration(ttlMS(ttl))*time.Millisecond).Result()
	if err != nil {
		return false, fmt.Errorf("replay check on redis %s: %w", r.addr, err)
	}
	return !set, nil
}

// Ping checks Redis answers (with the credentials and TLS configured). The
// first success logs "store opened": only then is the store known to work.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis %s: %w", r.addr, err)
	}
	r.opened.Do(func() { r.o.logger.Info("store opened", r.logAttrs...) })
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
