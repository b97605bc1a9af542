/**
 * The Lua scripts of the cache channels' last events in Redis (redis-cluster-store.ts), beside the store's keys
 * (redis-store-scripts.ts). Time comes from Redis. Keys (P is the deployment's prefix):
 *
 *   P:cache:<app>:<channel>   string: the channel's last event, as subscribers receive it; expires after the TTL
 *   P:cached:<app>            sorted set: channel → when its event was written (ms); bounds the app's events
 *   P:cache-misses:<app>      sorted set: channel → when its miss was noted (ms); a noted miss is not noted again
 *                             until the channel has an event or the TTL has passed
 *
 * The sorted sets hold at most the app's maxCachedChannels members each, and expire with their last member.
 */
const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: the channel's event key, the app's index, the app's misses. ARGV: channel, frame, ttl ms, max channels,
 * the prefix of the app's event keys ("P:cache:<app>:"). Writes the event; the channels beyond the max, written
 * longest ago, forget theirs.
 */
export const CACHE_EVENT = `${NOW_MS}
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #popped, 2 do redis.call('DEL', ARGV[5] .. popped[i]) end
end
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`;

/**
 * KEYS: the channel's event key, the app's misses. ARGV: channel, ttl ms, max channels, "1" to note a miss.
 * → { the event or nil, 1 if this is the channel's first noted miss }
 */
export const CACHED_EVENT = `
local frame = redis.call('GET', KEYS[1])
if frame then return { frame, 0 } end
if ARGV[4] ~= '1' then return { false, 0 } end
${NOW_MS}
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return { false, 0 } end
redis.call('ZADD', KEYS[2], now, ARGV[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then redis.call('ZPOPMIN', KEYS[2], over) end
redis.call('PEXPIRE', KEYS[2], ttl)
return { false, 1 }
`;
