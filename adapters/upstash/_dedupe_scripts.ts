import { _Script } from "./_connection.ts";
import { SERVER_NOW as NOW } from "./_scripts.ts";

// ---------------------------------------------------------------------------
// De-duplication: the lease primitive, one hash per job key, in the Redis
// server's clock. Fields: `id`, `state` (running, done, failed), `value`,
// `until` (when the lease runs out while running; when the outcome may be
// forgotten once settled), `settled`, and `prev_id`, `prev_state`,
// `prev_value`: the outcome of the settled job a claim replaced, for the
// waiters that joined it. The key expires `LINGER` after a lease runs out,
// so that a new owner still learns what it replaced, and at `until` once
// settled. Jobs written by earlier releases carry no `until`: their key's
// expiry was the lease.

/**
 * Takes the lease, or reports the job that holds it.
 *
 * KEYS: job. ARGV: new job id, lease ms, join ("1" joins a running job
 * whose lease has not run out; anything else replaces it), linger ms.
 * Returns `{ 0, running job id }`, or `{ 1, new job id, previous }` with
 * previous "none", "completed" or "failed".
 */
export const CLAIM: _Script = new _Script(`${NOW}
local job = redis.call('HMGET', KEYS[1], 'id', 'state', 'value', 'until')
local untilv = tonumber(job[4]) or now + redis.call('PTTL', KEYS[1])
if job[1] and job[2] == 'running' and untilv > now and ARGV[3] == '1' then
  return {0, job[1]}
end
local previous = 'none'
if job[1] then
  previous = 'failed'
  if job[2] == 'done' then previous = 'completed' end
end
local ttl = tonumber(ARGV[2]) + tonumber(ARGV[4])
if job[1] and job[2] ~= 'running' then
  redis.call('HSET', KEYS[1], 'prev_id', job[1], 'prev_state', job[2],
    'prev_value', job[3] or '')
  if untilv - now > ttl then ttl = untilv - now end
else
  redis.call('HDEL', KEYS[1], 'prev_id', 'prev_state', 'prev_value')
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'state', 'running',
  'until', now + tonumber(ARGV[2]))
redis.call('HDEL', KEYS[1], 'value', 'settled')
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, ARGV[1], previous}
`);

/**
 * Settles the running job. "done" settles whichever job runs, and records a
 * completed job under the given id when none runs; "failed" settles only a
 * running job, and only the one of the given id when "only" is "1".
 *
 * KEYS: job. ARGV: "done" or "failed", value, retention ms, job id, only.
 * Returns 1 when a record changed, else 0.
 */
export const SETTLE: _Script = new _Script(`${NOW}
local job = redis.call('HMGET', KEYS[1], 'id', 'state')
local running = job[1] and job[2] == 'running'
if ARGV[1] == 'failed' then
  if not running then return 0 end
  if ARGV[5] == '1' and job[1] ~= ARGV[4] then return 0 end
elseif not running then
  redis.call('HSET', KEYS[1], 'id', ARGV[4])
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'value', ARGV[2],
  'settled', now, 'until', now + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);

/**
 * Reads a job for a waiter. With a job id, the outcome of that job when a
 * newer claim replaced it and its outcome is kept; otherwise the current
 * job. A lease that ran out reads as failed.
 *
 * KEYS: job. ARGV: job id or "". Returns `{ 0 }` when there is no job, else
 * `{ state, job id, value, ms since settled (-1 when unknown) }` with
 * state 1 running, 2 completed, 3 failed.
 */
export const PEEK: _Script = new _Script(`${NOW}
local job = redis.call('HMGET', KEYS[1], 'id', 'state', 'value', 'settled',
  'until', 'prev_id', 'prev_state', 'prev_value')
if not job[1] then return {0} end
local function code(state)
  if state == 'running' then return 1 end
  if state == 'done' then return 2 end
  return 3
end
if ARGV[1] ~= '' and job[1] ~= ARGV[1] and job[6] == ARGV[1] then
  return {code(job[7]), job[6], job[8] or '', -1}
end
if job[2] == 'running' then
  local untilv = tonumber(job[5]) or now + redis.call('PTTL', KEYS[1])
  if untilv > now then return {1, job[1], '', 0} end
  return {3, job[1], '', now - untilv}
end
return {code(job[2]), job[1], job[3] or '', now - tonumber(job[4] or now)}
`);

/** KEYS: job. Returns 1 when a running job holds a lease that has not run out, else 0. */
export const IN_PROGRESS: _Script = new _Script(`${NOW}
local job = redis.call('HMGET', KEYS[1], 'state', 'until')
if job[1] ~= 'running' then return 0 end
if (tonumber(job[2]) or now + redis.call('PTTL', KEYS[1])) > now then
  return 1
end
return 0
`);

/**
 * Counts jobs by state.
 *
 * KEYS: job keys (found by SCAN). Returns `{ total, pending, completed,
 * failed, expired }` over the keys that still exist.
 */
export const COUNT: _Script = new _Script(`${NOW}
local counts = {0, 0, 0, 0, 0}
for _, key in ipairs(KEYS) do
  local job = redis.call('HMGET', key, 'state', 'until')
  if job[1] then
    counts[1] = counts[1] + 1
    if job[1] == 'done' then counts[3] = counts[3] + 1
    elseif job[1] == 'failed' then counts[4] = counts[4] + 1
    elseif (tonumber(job[2]) or now + redis.call('PTTL', key)) > now then
      counts[2] = counts[2] + 1
    else counts[5] = counts[5] + 1 end
  end
end
return counts
`);
