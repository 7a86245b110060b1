import { _Script } from "./_connection.ts";
import { SERVER_NOW as NOW } from "./_scripts.ts";

// ---------------------------------------------------------------------------
// De-duplication: one hash per job key. While the job runs, the key's expiry
// is the owner's lease (jobTimeoutMs); once settled, it keeps the outcome for
// the waiters that joined while it ran, and for `graceMs` for anyone else.

/**
 * Joins the running job, or starts a new one owned by the caller.
 *
 * KEYS: job. ARGV: new job id, jobTimeoutMs, join ("1" joins a running job;
 * anything else replaces it). Returns `{ isOwner (1 or 0), jobId }`.
 */
export const REGISTER: _Script = new _Script(`${NOW}
local job = redis.call('HMGET', KEYS[1], 'id', 'state', 'value')
if job[1] and job[2] == 'running' and ARGV[3] == '1' then
  return {0, job[1]}
end
if job[1] and job[2] ~= 'running' then
  -- Keep the settled outcome for the waiters that joined it.
  local keep = redis.call('PTTL', KEYS[1])
  if keep > 0 then
    redis.call('HSET', KEYS[1], 'last_id', job[1], 'last_state', job[2],
      'last_value', job[3] or '', 'last_until', now + keep)
  end
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'state', 'running', 'started', now)
redis.call('HDEL', KEYS[1], 'value', 'settled')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, ARGV[1]}
`);

/**
 * Settles the running job. Completing when no job runs records a completed
 * job anyway, so that waiters within the grace still receive the value;
 * failing when no job runs does nothing.
 *
 * KEYS: job. ARGV: "done" or "failed", value, retention ms (how long the
 * outcome is kept), new job id (used when no job runs). Returns 1 when a
 * running job was settled, else 0.
 */
export const SETTLE: _Script = new _Script(`${NOW}
local job = redis.call('HMGET', KEYS[1], 'id', 'state')
local running = job[1] and job[2] == 'running'
if not running then
  if ARGV[1] ~= 'done' then return 0 end
  redis.call('HSET', KEYS[1], 'id', ARGV[4])
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'value', ARGV[2], 'settled', now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if running then return 1 end
return 0
`);

/**
 * Reads a job for a waiter. With a job id: that job's state and outcome,
 * also when a newer job replaced it. Without one (""): the running job.
 * Either way, when the job asked for is gone, an outcome settled less than
 * `graceMs` ago answers, as it would any late waiter.
 *
 * KEYS: job. ARGV: job id or "", graceMs. Returns `{ 0 }` when there is no
 * such job, else `{ state, jobId, value }` with state 1 running, 2 done,
 * 3 failed.
 */
export const PEEK: _Script = new _Script(`${NOW}
local job = redis.call('HMGET', KEYS[1], 'id', 'state', 'value', 'settled',
  'last_id', 'last_state', 'last_value', 'last_until')
local function code(state)
  if state == 'running' then return 1 end
  if state == 'done' then return 2 end
  return 3
end
if not job[1] then return {0} end
if job[1] == ARGV[1] then
  return {code(job[2]), job[1], job[3] or ''}
end
if ARGV[1] ~= '' and job[5] == ARGV[1] and tonumber(job[8]) > now then
  return {code(job[6]), job[5], job[7] or ''}
end
if job[2] == 'running' then
  if ARGV[1] == '' then return {1, job[1], ''} end
  return {0}
end
if now - tonumber(job[4] or '0') < tonumber(ARGV[2]) then
  return {code(job[2]), job[1], job[3] or ''}
end
return {0}
`);

/** KEYS: job. Returns 1 when a job runs within its lease, else 0. */
export const IN_PROGRESS: _Script = new _Script(`
if redis.call('HGET', KEYS[1], 'state') == 'running' then return 1 end
return 0
`);
