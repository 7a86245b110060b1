import { _Script } from "./_connection.ts";
import { SERVER_NOW as NOW } from "./_scripts.ts";

const RETIME = `
-- A tag's members expire with the longest-lived of them.
local function retime(members)
  local top = redis.call('ZRANGE', members, -1, -1, 'WITHSCORES')
  if top[2] == nil then return end
  if top[2] == 'inf' then
    redis.call('PERSIST', members)
  else
    redis.call('PEXPIREAT', members, math.ceil(tonumber(top[2])))
  end
end
`;

// ---------------------------------------------------------------------------
// Cache tags, in the Redis server's clock, under `<keyPrefix>cachetag:`:
//
//   t:<tag>   sorted set: the store keys carrying the tag, scored by when
//             their entry expires (+inf for never); pruned of expired
//             members whenever the tag is added to, and expiring with its
//             longest-lived member.
//   k:<key>   set: the tags of one key, expiring with its entry. A key
//             carries a tag only while both agree, so a member of `t:` left
//             behind by an entry that is gone never counts.
//   m:<tag>   string: when the tag was last invalidated.
//   d:<key>   string: when the key was last removed by an invalidation.
//
// Marks expire on their own after the mark time the store asks for.

/**
 * Writes an entry unless its key or one of its tags carries a mark newer
 * than when the value was obtained; then keeps the key's tags if its entry
 * was live, adds the new ones, and moves every tag's member score (and the
 * tag's own expiry) to the new entry's expiry.
 *
 * KEYS: entry, tags of the key, mark of the key. ARGV: value, TTL in ms
 * ("" for never), age in ms, the store key, prefix of `t:`, prefix of
 * `m:`, then the new tags. Returns 1 when written, 0 when refused.
 */
export const WRITE_TAGGED: _Script = new _Script(`${NOW}${RETIME}
local since = now - tonumber(ARGV[3])
local function marked(key)
  local at = redis.call('GET', key)
  return at and tonumber(at) > since
end
if marked(KEYS[3]) then return 0 end
for i = 7, #ARGV do
  if marked(ARGV[6] .. ARGV[i]) then return 0 end
end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
local ttl = ARGV[2]
if ttl == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
end
if #ARGV >= 7 then redis.call('SADD', KEYS[2], unpack(ARGV, 7)) end
local tags = redis.call('SMEMBERS', KEYS[2])
if #tags == 0 then return 1 end
local score = '+inf'
if ttl == '' then
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIRE', KEYS[2], ttl)
  score = now + tonumber(ttl)
end
for _, tag in ipairs(tags) do
  local members = ARGV[5] .. tag
  redis.call('ZADD', members, score, ARGV[4])
  redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
  retime(members)
end
return 1
`);

/**
 * Removes an entry and its tags (and it from its tags' members).
 *
 * KEYS: entry, tags of the key. ARGV: the store key, prefix of `t:`.
 */
export const REMOVE_TAGGED: _Script = new _Script(`${RETIME}
for _, tag in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('ZREM', ARGV[2] .. tag, ARGV[1])
  retime(ARGV[2] .. tag)
end
return redis.call('DEL', KEYS[1], KEYS[2])
`);

/**
 * Marks every tag, then removes the live entries of up to a batch of their
 * members, marks each removed key, and takes those keys off every tag.
 *
 * ARGV: mark ms, batch size, prefix of entries, prefix of `k:`, prefix of
 * `d:`, prefix of `t:`, prefix of `m:`, then the tags. Returns
 * `{ removed, more }`, `more` being 1 when the batch ran out before the
 * members did (the caller calls again).
 */
export const DROP_TAGGED: _Script = new _Script(`${NOW}${RETIME}
local markMs = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local removed = 0
for i = 8, #ARGV do
  redis.call('SET', ARGV[7] .. ARGV[i], now, 'PX', markMs)
end
for i = 8, #ARGV do
  local tag = ARGV[i]
  local members = ARGV[6] .. tag
  while budget > 0 do
    local keys = redis.call('ZRANGE', members, 0, budget - 1)
    if #keys == 0 then break end
    redis.call('ZREMRANGEBYRANK', members, 0, #keys - 1)
    budget = budget - #keys
    for _, key in ipairs(keys) do
      local own = ARGV[4] .. key
      if redis.call('SISMEMBER', own, tag) == 1 then
        removed = removed + redis.call('DEL', ARGV[3] .. key)
        for _, other in ipairs(redis.call('SMEMBERS', own)) do
          if other ~= tag then
            redis.call('ZREM', ARGV[6] .. other, key)
            retime(ARGV[6] .. other)
          end
        end
        redis.call('DEL', own)
        redis.call('SET', ARGV[5] .. key, now, 'PX', markMs)
      end
    end
  end
  if budget == 0 then
    for j = i, #ARGV do
      if redis.call('EXISTS', ARGV[6] .. ARGV[j]) == 1 then
        return {removed, 1}
      end
    end
    return {removed, 0}
  end
end
return {removed, 0}
`);

/** KEYS: tag member sets. Returns how many members they hold together. */
export const COUNT_MEMBERS: _Script = new _Script(`
local count = 0
for _, key in ipairs(KEYS) do
  count = count + redis.call('ZCARD', key)
end
return count
`);
