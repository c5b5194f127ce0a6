package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// leaseVal is what the lease key holds while l is current.
func leaseVal(l Lease) string {
	return strconv.FormatUint(l.Token, 10) + ":" + l.Holder
}

// heldLease describes the current holder from a lease key's value and
// remaining ttl, without its token.
func heldLease(name string, val any, pttl any, now time.Time) Lease {
	s, _ := val.(string)
	_, holder, _ := strings.Cut(s, ":")
	l := Lease{Name: name, Holder: holder}
	if ms, ok := pttl.(int64); ok && ms > 0 {
		l.Expires = now.Add(time.Duration(ms) * time.Millisecond)
	}
	return l
}

// AcquireLease takes name for holder with SET PX, a new token from INCR,
// both in one script. Redis expires the key itself; Lease.Expires is the
// local clock's estimate, taken before the call, so it errs early.
func (r *Redis) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if err := checkLeaseArgs(name, holder, ttl); err != nil {
		return Lease{}, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	now := time.Now()
	res, err := acquireScript.Run(ctx, r.c, []string{r.kLease + name, r.kLeaseSeq}, holder, ttlMS(ttl)).Slice()
	if err != nil {
		return Lease{}, fmt.Errorf("acquire lease %q on redis %s: %w", name, r.addr, err)
	}
	if len(res) < 2 {
		return Lease{}, fmt.Errorf("acquire lease %q: short script reply", name)
	}
	if ok, _ := res[0].(int64); ok != 1 {
		if len(res) < 3 {
			return Lease{}, fmt.Errorf("acquire lease %q: short script reply", name)
		}
		cur := heldLease(name, res[1], res[2], now)
		return cur, fmt.Errorf("acquire lease %q: held by %s: %w", name, cur.Holder, ErrLeaseHeld)
	}
	tok, _ := res[1].(int64)
	if tok <= 0 {
		return Lease{}, fmt.Errorf("acquire lease %q: bad token %v", name, res[1])
	}
	return Lease{Name: name, Holder: holder, Token: uint64(tok), Expires: now.Add(ttl)}, nil
}

// RenewLease extends l with PEXPIRE if the key still holds its token.
func (r *Redis) RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if err := checkLease(l); err != nil {
		return Lease{}, fmt.Errorf("renew lease %q: %w", l.Name, err)
	}
	if ttl <= 0 {
		return Lease{}, fmt.Errorf("renew lease %q: ttl %s: must be positive", l.Name, ttl)
	}
	now := time.Now()
	ok, err := renewScript.Run(ctx, r.c, []string{r.kLease + l.Name}, leaseVal(l), ttlMS(ttl)).Int()
	if err != nil {
		return Lease{}, fmt.Errorf("renew lease %q on redis %s: %w", l.Name, r.addr, err)
	}
	if ok != 1 {
		return Lease{}, fmt.Errorf("renew lease %q: %w", l.Name, ErrLeaseLost)
	}
	l.Expires = now.Add(ttl)
	return l, nil
}

// ReleaseLease deletes the lease key if it still holds l's token.
func (r *Redis) ReleaseLease(ctx context.Context, l Lease) error {
	if err := checkLease(l); err != nil {
		return fmt.Errorf("release lease %q: %w", l.Name, err)
	}
	ok, err := releaseScript.Run(ctx, r.c, []string{r.kLease + l.Name}, leaseVal(l)).Int()
	if err != nil {
		return fmt.Errorf("release lease %q on redis %s: %w", l.Name, r.addr, err)
	}
	if ok != 1 {
		return fmt.Errorf("release lease %q: %w", l.Name, ErrLeaseLost)
	}
	return nil
}
