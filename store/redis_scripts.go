package store

import "github.com/redis/go-redis/v9"

// A pending action is a hash at <prefix>pending:<id> with fields
//
//	rec    pendingRecord JSON as created (state pending, no decision)
//	exp    timeKey(ExpiresAt)
//	state  current State
//	by, at DecidedBy and DecidedAt (RFC 3339), once decided or expired
//
// and, while pending, a member "<exp>:<id>" of the sorted set <prefix>due
// (all scores 0, so ZRANGEBYLEX walks it in expiry order). Each change is one
// Lua script, which Redis runs atomically: that is what makes Claim and
// ExpireDue exactly-once across replicas. Times are compared as fixed-width
// strings because Lua numbers are doubles and would lose nanoseconds.
//
// The expiry script reaches pending keys it derives from the index, so the
// store needs a single Redis (or, on a cluster, a hash-tagged key prefix such
// as "{qlikbot}:").

// createScript: KEYS pending hash, due index; ARGV record JSON, exp, id.
// Returns 1 when created, 0 when the id exists.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'exp', ARGV[2], 'state', 'pending')
redis.call('ZADD', KEYS[2], 0, ARGV[2] .. ':' .. ARGV[3])
return 1
`)

// luaUndecided returns early unless the pending hash KEYS[1] exists and is
// still pending: {"notfound"}, or {"decided" or "expired", hash fields...}.
// Past it, exp holds the action's timeKey(ExpiresAt).
const luaUndecided = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then
  return {'notfound'}
end
if st ~= 'pending' then
  local outcome = 'decided'
  if st == 'expired' then outcome = 'expired' end
  return {outcome, unpack(redis.call('HGETALL', KEYS[1]))}
end
local exp = redis.call('HGET', KEYS[1], 'exp')
`

// claimScript: KEYS pending hash, due index; ARGV decision, by, timeKey(now),
// now text, retention ms, id. Returns {outcome, hash fields...} with outcome
// "ok", "expired", "decided" or "notfound".
var claimScript = redis.NewScript(luaUndecided + `
local outcome = 'ok'
if exp < ARGV[3] then
  outcome = 'expired'
  redis.call('HSET', KEYS[1], 'state', 'expired', 'at', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'state', ARGV[1], 'by', ARGV[2], 'at', ARGV[4])
end
redis.call('ZREM', KEYS[2], exp .. ':' .. ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {outcome, unpack(redis.call('HGETALL', KEYS[1]))}
`)

// expireScript: KEYS due index, audit list; ARGV pending key prefix,
// timeKey(now), now text, retention ms, audit limit, then pairs of a due
// member and its audit event JSON ("" for none). Each member leaves the
// index; an action still pending is expired and its event pushed, in this
// one script, so an expiry and its audit row exist together or not at all.
// Returns the ids it expired. The id starts at byte 22 of a member: 20
// bytes of timeKey, then ':'.
var expireScript = redis.NewScript(`
local out = {}
local pushed = false
for i = 6, #ARGV, 2 do
  local m = ARGV[i]
  redis.call('ZREM', KEYS[1], m)
  local id = string.sub(m, 22)
  local k = ARGV[1] .. id
  if redis.call('HGET', k, 'state') == 'pending' and redis.call('HGET', k, 'exp') < ARGV[2] then
    redis.call('HSET', k, 'state', 'expired', 'at', ARGV[3])
    redis.call('PEXPIRE', k, ARGV[4])
    if ARGV[i + 1] ~= '' then
      redis.call('LPUSH', KEYS[2], ARGV[i + 1])
      pushed = true
    end
    out[#out + 1] = id
  end
end
if pushed then
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[5]) - 1)
end
return out
`)
