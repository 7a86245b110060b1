import { _Script } from "./_connection.ts";

// Every script reads the Redis server's clock, never the caller's, so that
// processes with skewed clocks share one notion of time. Since Redis 5 a
// script's effects are replicated rather than the script itself, which is
// what allows `TIME` before writes.
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

// ---------------------------------------------------------------------------
// Rate limiting: one sorted set per resource, scored by admission time.

/**
 * Admits into the sliding window if it has room.
 *
 * KEYS: window. ARGV: limit, windowMs, member, force ("1" records even when
 * the window is full). Returns `{ 1, now }` when recorded, `{ 0, now }` when
 * refused, `now` being the server time of the decision.
 */
export const ACQUIRE: _Script = new _Script(`${NOW}
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if ARGV[4] ~= '1' and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return {0, now}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, now}
`);

// Counts a window and finds how long until it has room for one more.
const WINDOW_STATE = `
local function window_state(key, since, limit, window, now)
  local count = redis.call('ZCOUNT', key, '(' .. since, '+inf')
  local oldest = -1
  local wait = 0
  if count > 0 then
    local first = redis.call('ZRANGEBYSCORE', key, '(' .. since, '+inf',
      'WITHSCORES', 'LIMIT', 0, 1)
    oldest = tonumber(first[2])
  end
  if limit <= 0 then
    wait = window
  elseif count >= limit then
    local nth = redis.call('ZRANGEBYSCORE', key, '(' .. since, '+inf',
      'WITHSCORES', 'LIMIT', count - limit, 1)
    wait = tonumber(nth[2]) + window - now
  end
  return count, oldest, wait
end
`;

/**
 * Reads a window without changing it.
 *
 * KEYS: window. ARGV: limit, windowMs. Returns
 * `{ now, count, oldest (-1 when empty), wait }`.
 */
export const STATUS: _Script = new _Script(`${NOW}${WINDOW_STATE}
local window = tonumber(ARGV[2])
local count, oldest, wait = window_state(KEYS[1], now - window,
  tonumber(ARGV[1]), window, now)
return {now, count, oldest, wait}
`);

/**
 * Extends a cooldown: stores `now + duration` unless a later end is stored.
 *
 * KEYS: cooldown hash. ARGV: durationMs. Returns the end in server time.
 */
export const SET_COOLDOWN: _Script = new _Script(`${NOW}
local ends = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if ends > current then
  redis.call('HSET', KEYS[1], 'until', ends)
  redis.call('PEXPIREAT', KEYS[1], ends)
  return ends
end
return current
`);

/**
 * Reads a cooldown.
 *
 * KEYS: cooldown hash. Returns the milliseconds left, or 0.
 */
export const GET_COOLDOWN: _Script = new _Script(`${NOW}
local ends = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if ends > now then return ends - now end
return 0
`);

// ---------------------------------------------------------------------------
// Adaptive rate limiting: the window of every admission, the window of
// background admissions, and the user admissions of the monitoring horizon.

// Counts user activity against the policy's cutoffs, which are passed as
// offsets from now (see activityCutoffs in src/rate_limit/adaptive_policy.ts).
const ACTIVITY = `
local function activity(key, now, recent_off, last_off, previous_off)
  local recent = redis.call('ZCOUNT', key, '(' .. (now + recent_off), '+inf')
  local last_third = redis.call('ZCOUNT', key, '(' .. (now + last_off), '+inf')
  local previous_third = redis.call('ZCOUNT', key,
    '(' .. (now + previous_off), now + last_off)
  local newest = redis.call('ZREVRANGE', key, 0, 0, 'WITHSCORES')
  local last = -1
  if newest[2] then last = tonumber(newest[2]) end
  return {recent, last_third, previous_third, last}
end
`;

/**
 * Admits into the adaptive window if the total budget has room and, for
 * background traffic, the background share has room and is not paused.
 *
 * KEYS: window, background window, user activity. ARGV: limit, windowMs,
 * member, priority ("user" or "background"), backgroundMax, paused ("1"),
 * force ("1" records even when refused), user horizon ms, then the three
 * activity cutoff offsets. Returns
 * `{ admitted, now, recent, lastThird, previousThird, lastUser }`.
 */
export const ADAPTIVE_ACQUIRE: _Script = new _Script(`${NOW}${ACTIVITY}
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local user = ARGV[4] == 'user'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local total = redis.call('ZCARD', KEYS[1])
local admitted = 0
if ARGV[7] == '1' then
  admitted = 1
elseif total < limit then
  if user then
    admitted = 1
  elseif ARGV[6] ~= '1' and redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[5]) then
    admitted = 1
  end
end
if admitted == 1 then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  if user then
    local horizon = tonumber(ARGV[8])
    redis.call('ZADD', KEYS[3], now, ARGV[3])
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - horizon)
    redis.call('PEXPIRE', KEYS[3], horizon)
  else
    redis.call('ZADD', KEYS[2], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[2], window)
  end
end
local a = activity(KEYS[3], now, tonumber(ARGV[9]), tonumber(ARGV[10]),
  tonumber(ARGV[11]))
return {admitted, now, a[1], a[2], a[3], a[4]}
`);

/**
 * Reads the adaptive windows and the user activity without changing them.
 *
 * KEYS: window, background window, user activity. ARGV: limit, windowMs,
 * backgroundMax, then the three activity cutoff offsets. Returns
 * `{ now, total, oldest, totalWait, background, backgroundWait, recent,
 * lastThird, previousThird, lastUser }`, where `backgroundWait` is how long
 * until the background window has room under `backgroundMax`.
 */
export const ADAPTIVE_STATUS: _Script = new _Script(
  `${NOW}${WINDOW_STATE}${ACTIVITY}
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local since = now - window
local total, oldest, wait = window_state(KEYS[1], since, limit, window, now)
local background, _, background_wait = window_state(KEYS[2], since,
  tonumber(ARGV[3]), window, now)
local a = activity(KEYS[3], now, tonumber(ARGV[4]), tonumber(ARGV[5]),
  tonumber(ARGV[6]))
return {now, total, oldest, wait, background, background_wait,
  a[1], a[2], a[3], a[4]}
`,
);

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
