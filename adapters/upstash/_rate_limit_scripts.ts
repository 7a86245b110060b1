import { _Script } from "./_connection.ts";
import { SERVER_NOW as NOW } from "./_scripts.ts";

// ---------------------------------------------------------------------------
// Rate limiting. Per resource: a sorted set of every admission in the window
// (`w:`), one of background admissions (`bg:`), one of user admissions kept
// for the adaptive split (`u:`), and the end of the cooldown (`cd:`), all
// scored or valued in the server's time. A cooldown that does not read as a
// number is no cooldown.

// Reads a cooldown's end; anything but a number (a corrupt value, a key of
// another type) reads as nil.
const COOLDOWN = `
local function cooldown_end(key)
  local value = redis.pcall('GET', key)
  if type(value) ~= 'string' then return nil end
  return tonumber(value)
end
`;

// Counts user admissions against the ages the store sent: newer than
// `now - recent`, newer than `now - last`, and between the two cutoffs
// `now - previous` and `now - last`.
const USERS = `
local function users(key, recent, last, previous)
  return redis.call('ZCOUNT', key, '(' .. (now - recent), '+inf'),
    redis.call('ZCOUNT', key, '(' .. (now - last), '+inf'),
    redis.call('ZCOUNT', key, '(' .. (now - previous), now - last)
end
`;

/**
 * Admits into the window: see `RateWindow.admit`.
 *
 * KEYS: window, background window, users, cooldown (the last three only
 * when used). ARGV: limit, windowMs, member, priority ("user" or
 * "background"), backgroundMax ("" for a store without priorities), paused
 * ("1"), idleSince ("" for none), check the cooldown ("1"), force ("1"),
 * then, for a store that keeps user activity, how long user admissions are
 * kept, count users ("1"), and the three ages of the user counts. Returns
 * `{ admitted, now, wait, backgroundWait, cooldown, lastUser (-1 for none),
 * recent, lastThird, previousThird (-1 when not counted) }`.
 */
export const ADMIT: _Script = new _Script(`${NOW}${COOLDOWN}${USERS}
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local user = ARGV[4] == 'user'
local share = tonumber(ARGV[5])
local keep = tonumber(ARGV[10])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if share then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window) end
local last = -1
if keep then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - keep)
  local newest = redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if newest[2] then last = tonumber(newest[2]) end
end
local cooldown = 0
if ARGV[8] == '1' then
  local ends = cooldown_end(KEYS[4])
  if ends and ends > now then cooldown = ends - now end
end
local total = redis.call('ZCARD', KEYS[1])
local background = 0
if share then background = redis.call('ZCARD', KEYS[2]) end
local admitted = 0
if ARGV[9] == '1' then
  admitted = 1
elseif cooldown == 0 and total < limit then
  if user or not share then
    admitted = 1
  elseif ARGV[6] ~= '1' and background < share then
    local idle = tonumber(ARGV[7])
    if not idle or last < idle then admitted = 1 end
  end
end
local wait = 0
local background_wait = 0
if admitted == 1 then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  if user then
    if keep then
      redis.call('ZADD', KEYS[3], now, ARGV[3])
      redis.call('PEXPIRE', KEYS[3], keep)
      if now > last then last = now end
    end
  elseif share then
    redis.call('ZADD', KEYS[2], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[2], window)
  end
else
  if total >= limit then
    local nth = redis.call('ZRANGE', KEYS[1], total - limit, total - limit,
      'WITHSCORES')
    wait = tonumber(nth[2]) + window - now
  end
  if share and share > 0 and background >= share then
    local nth = redis.call('ZRANGE', KEYS[2], background - share,
      background - share, 'WITHSCORES')
    background_wait = tonumber(nth[2]) + window - now
  end
end
local recent, last_third, previous_third = -1, -1, -1
if keep and ARGV[11] == '1' then
  recent, last_third, previous_third = users(KEYS[3], tonumber(ARGV[12]),
    tonumber(ARGV[13]), tonumber(ARGV[14]))
end
return {admitted, now, wait, background_wait, cooldown, last, recent,
  last_third, previous_third}
`);

/**
 * Reads the window without changing it: see `RateWindow.status`.
 *
 * KEYS: window, background window, users. ARGV: limit, windowMs,
 * backgroundMax ("" for none), read users ("1"), count users ("1"), then
 * the three ages of the user counts. Returns `{ now, total, background,
 * oldest (-1 when empty), wait, backgroundWait, lastUser (-1 for none),
 * recent, lastThird, previousThird (-1 when not counted) }`.
 */
export const STATUS: _Script = new _Script(`${NOW}${USERS}
local window = tonumber(ARGV[2])
local since = '(' .. (now - window)
-- The count, the oldest admission and the wait until fewer than max remain.
local function window_state(key, max)
  local count = redis.call('ZCOUNT', key, since, '+inf')
  local oldest = -1
  local wait = 0
  if count > 0 then
    local first = redis.call('ZRANGEBYSCORE', key, since, '+inf',
      'WITHSCORES', 'LIMIT', 0, 1)
    oldest = tonumber(first[2])
  end
  if max > 0 and count >= max then
    local nth = redis.call('ZRANGEBYSCORE', key, since, '+inf', 'WITHSCORES',
      'LIMIT', count - max, 1)
    wait = tonumber(nth[2]) + window - now
  end
  return count, oldest, wait
end
local total, oldest, wait = window_state(KEYS[1], tonumber(ARGV[1]))
local background, background_wait = 0, 0
local share = tonumber(ARGV[3])
if share then
  local _
  background, _, background_wait = window_state(KEYS[2], share)
end
local last = -1
local recent, last_third, previous_third = -1, -1, -1
if ARGV[4] == '1' then
  local newest = redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if newest[2] then last = tonumber(newest[2]) end
  if ARGV[5] == '1' then
    recent, last_third, previous_third = users(KEYS[3], tonumber(ARGV[6]),
      tonumber(ARGV[7]), tonumber(ARGV[8]))
  end
end
return {now, total, background, oldest, wait, background_wait, last, recent,
  last_third, previous_third}
`);

/**
 * Extends a cooldown: stores `now + duration` unless a later end is stored.
 *
 * KEYS: cooldown. ARGV: durationMs. Returns the end in server time.
 */
export const SET_COOLDOWN: _Script = new _Script(`${NOW}${COOLDOWN}
local ends = now + tonumber(ARGV[1])
local current = cooldown_end(KEYS[1])
if current and current >= ends then return current end
redis.call('SET', KEYS[1], ends)
redis.call('PEXPIREAT', KEYS[1], ends)
return ends
`);

/**
 * Postpones an admission: moves a member still in its sorted sets to
 * `now - margin` when it is scored earlier, and keeps each set it moved in
 * alive for the window after that.
 *
 * KEYS: the window, then the background window when the member is there.
 * ARGV: member, marginMs, windowMs (margin included). Returns `{1}` when the
 * window still holds the member, `{0}` when it is gone.
 */
export const POSTPONE: _Script = new _Script(`${NOW}
local at = now - tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local kept = 0
for i = 1, #KEYS do
  local score = redis.pcall('ZSCORE', KEYS[i], ARGV[1])
  if type(score) == 'string' then
    if i == 1 then kept = 1 end
    if tonumber(score) < at then
      redis.call('ZADD', KEYS[i], at, ARGV[1])
      if redis.call('PTTL', KEYS[i]) < window then
        redis.call('PEXPIRE', KEYS[i], window)
      end
    end
  end
end
return {kept}
`);

/**
 * Reads a cooldown.
 *
 * KEYS: cooldown. Returns the milliseconds left, or 0.
 */
export const GET_COOLDOWN: _Script = new _Script(`${NOW}${COOLDOWN}
local ends = cooldown_end(KEYS[1])
if ends and ends > now then return ends - now end
return 0
`);

/**
 * Counts the recent members of sorted sets, for statistics.
 *
 * KEYS: windows. ARGV: for each key, the age in ms below which a member
 * counts. Returns one count per key.
 */
export const COUNT_RECENT: _Script = new _Script(`${NOW}
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('ZCOUNT', key, '(' .. (now - tonumber(ARGV[i])),
    '+inf')
end
return counts
`);

/**
 * Tells which cooldowns still run, for statistics.
 *
 * KEYS: cooldowns. Returns 1 for each that runs, else 0.
 */
export const RUNNING: _Script = new _Script(`${NOW}${COOLDOWN}
local running = {}
for i, key in ipairs(KEYS) do
  local ends = cooldown_end(key)
  if ends and ends > now then running[i] = 1 else running[i] = 0 end
end
return running
`);
