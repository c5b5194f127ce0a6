package store

import "github.com/redis/go-redis/v9"

// A lease is the string <prefix>lease:<name> = "<token>:<holder>" with a
// server-side expiry (PX); tokens come from INCR on <prefix>lease_seq, one
// counter for all leases. They grow as long as Redis keeps the counter: a
// Redis restarted without appendonly may count from the start again. A
// write fenced by a lease checks, in the same script, that the key still
// holds exactly the holder's "<token>:<holder>", and a holder names one
// process start (a random suffix), so a token seen again after such a
// restart still never lets a stale holder write: an expired, released or
// re-acquired lease fails the check.
//
// A job is the hash <prefix>job:<id> with fields
//
//	rec   jobRecord JSON as started (id, created_at, data)
//	ck    timeKey(CreatedAt)
//	fin   FinishedAt (RFC 3339), once finished
//	res   the result, once finished
//
// its journal the list <prefix>jobbatch:<id> (one item per batch), and the
// member "<ck>:<id>" of the sorted sets <prefix>jobs (every job) and
// <prefix>jobs_open (unfinished ones); a finished job is a member
// "<timeKey(drop time)>:<id>" of <prefix>jobs_retire until ExpireDue drops
// it. Audit events pushed by a script are pushed in order and the list is
// trimmed to the limit, as AppendAudit does.

// luaAudit defines audit(key, first, limit): push ARGV[first..] onto the
// audit list key, oldest first, and trim it to ARGV[limit] entries.
const luaAudit = `
local function audit(key, first, limit)
  for i = first, #ARGV do
    redis.call('LPUSH', key, ARGV[i])
  end
  if #ARGV >= first then
    redis.call('LTRIM', key, 0, tonumber(ARGV[limit]) - 1)
  end
end
`

// luaLease returns 'lost' unless the lease KEYS[1] holds exactly ARGV[1]
// (the holder's "<token>:<holder>"): the fence of every fenced write.
const luaLease = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'lost'
end
`

// luaFence returns early unless the lease KEYS[1] holds exactly ARGV[1]
// and the job KEYS[2] exists and is unfinished.
const luaFence = luaLease + `
if redis.call('EXISTS', KEYS[2]) == 0 then
  return 'notfound'
end
if redis.call('HEXISTS', KEYS[2], 'fin') == 1 then
  return 'finished'
end
`

// acquireScript: KEYS lease, lease_seq; ARGV holder, ttl ms. Returns
// {1, token} or {0, current value, pttl}.
var acquireScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  return {0, cur, redis.call('PTTL', KEYS[1])}
end
local tok = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], string.format('%d', tok) .. ':' .. ARGV[1], 'PX', ARGV[2])
return {1, tok}
`)

// renewScript: KEYS lease; ARGV value, ttl ms. Returns 1 when renewed.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// releaseScript: KEYS lease; ARGV value. Returns 1 when released.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// startJobScript: KEYS pending hash, due index, job hash, jobs, jobs_open,
// job lease, lease_seq, audit list; ARGV by, timeKey(now), now text,
// retention ms, id, job record JSON, holder, lease ttl ms, audit limit,
// events.... Every check runs before the first write, so a refusal writes
// nothing. Returns {outcome, ...}: "ok" with the token and the approval's
// hash fields; "decided" or "expired" with the hash fields; "notfound";
// "jobexists"; "leaseheld" with the lease value and pttl. An approval past
// its expiry is left pending for expireScript, which audits its expiry.
var startJobScript = redis.NewScript(luaAudit + luaUndecided + `
if exp < ARGV[2] then
  return {'expired', unpack(redis.call('HGETALL', KEYS[1]))}
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {'jobexists'}
end
local cur = redis.call('GET', KEYS[6])
if cur then
  return {'leaseheld', cur, redis.call('PTTL', KEYS[6])}
end
redis.call('HSET', KEYS[1], 'state', 'approved', 'by', ARGV[1], 'at', ARGV[3])
redis.call('ZREM', KEYS[2], exp .. ':' .. ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[3], 'rec', ARGV[6], 'ck', ARGV[2])
local member = ARGV[2] .. ':' .. ARGV[5]
redis.call('ZADD', KEYS[4], 0, member)
redis.call('ZADD', KEYS[5], 0, member)
local tok = redis.call('INCR', KEYS[7])
redis.call('SET', KEYS[6], string.format('%d', tok) .. ':' .. ARGV[7], 'PX', ARGV[8])
audit(KEYS[8], 10, 9)
return {'ok', tok, unpack(redis.call('HGETALL', KEYS[1]))}
`)

// recordScript: KEYS job lease, job hash, journal list, audit list; ARGV
// lease value, batch, audit limit, events.... Returns "ok", "lost",
// "notfound" or "finished". A batch equal to the last one is a retry whose
// answer was lost: "ok", nothing written.
var recordScript = redis.NewScript(luaAudit + luaFence + `
if redis.call('LINDEX', KEYS[3], -1) == ARGV[2] then
  return 'ok'
end
redis.call('RPUSH', KEYS[3], ARGV[2])
audit(KEYS[4], 4, 3)
return 'ok'
`)

// finishScript: KEYS job lease, job hash, jobs_open, jobs_retire, audit
// list; ARGV lease value, finish time text, result, timeKey(drop time), id,
// audit limit, events.... Returns like recordScript.
var finishScript = redis.NewScript(luaAudit + luaFence + `
local ck = redis.call('HGET', KEYS[2], 'ck')
redis.call('HSET', KEYS[2], 'fin', ARGV[2], 'res', ARGV[3])
redis.call('ZREM', KEYS[3], ck .. ':' .. ARGV[5])
redis.call('ZADD', KEYS[4], 0, ARGV[4] .. ':' .. ARGV[5])
redis.call('DEL', KEYS[1])
audit(KEYS[5], 7, 6)
return 'ok'
`)

// pruneJobsScript: KEYS jobs_retire, jobs; ARGV job key prefix, journal key
// prefix, job lease key prefix, timeKey(now), batch size. Drops up to a
// batch of finished jobs past their retention; returns how many members it
// examined. It derives the keys it drops from ARGV, like expireScript: a
// single Redis, or a hash-tagged key prefix on a cluster.
var pruneJobsScript = redis.NewScript(`
local members = redis.call('ZRANGEBYLEX', KEYS[1], '-', '(' .. ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))
for _, m in ipairs(members) do
  redis.call('ZREM', KEYS[1], m)
  local id = string.sub(m, 22)
  local k = ARGV[1] .. id
  local ck = redis.call('HGET', k, 'ck')
  if ck then
    redis.call('ZREM', KEYS[2], ck .. ':' .. id)
  end
  redis.call('DEL', k, ARGV[2] .. id, ARGV[3] .. id)
end
return #members
`)
