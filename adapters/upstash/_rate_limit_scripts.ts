import { _Script } from "./_connection.ts";
import { SERVER_NOW as NOW } from "./_scripts.ts";

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
