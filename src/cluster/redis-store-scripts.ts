/**
 * The Lua scripts of the Redis cluster store. Each runs atomically in Redis, which is what makes "is this
 * user's first socket in the cluster?" exact when two nodes ask at once. Time comes from Redis (TIME), so
 * the nodes' clocks need not agree. Keys (P is the deployment's prefix followed by the store's hash tag, `<redisPrefix>:{store}`
 * (redis-names.ts), so all are in one slot of a Redis Cluster; app ids and node ids cannot contain ':',
 * so a field "<node>:<rest>" and a key "P:presence:<app>:<rest>" split at the first ':' after the prefix):
 *
 *   P:nodes                       sorted set: node id → the time (ms) it expires unless it heartbeats
 *   P:presence:<app>:<channel>    hash: "<node>:<user id>" → user info JSON; the channel "#users" is the app's
 *                                 signed-in users, for watchlists (cluster-store.ts ONLINE_USERS)
 *   P:subscriptions:<app>         hash: "<node>:<channel>" → that node's subscription count
 *   P:connections                 hash: "<node>:<app>" → that node's connection count
 *   P:occupancy:<app>             hash: "<node>:<channel>" → 1 while the node has subscribers there; only for
 *                                 channels whose occupancy the app's webhooks follow
 *   P:departures:<app>            sorted set: "c:<channel>" or "m:<channel>:<user id>" → the time (ms) its
 *                                 grace ends: channel_vacated / member_removed pending; nobody owns it
 *   P:node:<node>:keys            set: the presence, subscription and occupancy keys the node has fields in
 *   P:cache…, P:cached…           the cache channels' last events (redis-cache-scripts.ts)
 *
 * The scripts touch keys they find in other keys (a dead node's keys set), which Redis Cluster allows only
 * within one slot: hence the one hash tag for the whole store. The store is the cluster's control plane (a
 * round trip per presence change, a heartbeat per node per second); the publish traffic, which grows with the
 * cluster, is spread over the partitions' slots instead (redis-broker.ts, redis-history-store.ts).
 */
const COMMON = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Live nodes but self, as a set.
local function others(nodesKey, self)
  local live = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', nodesKey, '(' .. nowMs(), '+inf')) do
    if id ~= self then live[id] = true end
  end
  return live
end
-- "<node>:<rest>" → node, rest (rest may hold ':').
local function split(field)
  local at = string.find(field, ':', 1, true)
  return string.sub(field, 1, at - 1), string.sub(field, at + 1)
end
-- Sums a hash of "<node>:<name>" → count over the nodes in live, as name, sum pairs.
local function sumByName(key, live)
  local sums, order = {}, {}
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local node, name = split(all[i])
    if live[node] then
      if not sums[name] then
        sums[name] = 0
        order[#order + 1] = name
      end
      sums[name] = sums[name] + tonumber(all[i + 1])
    end
  end
  local out = {}
  for _, name in ipairs(order) do
    out[#out + 1] = name
    out[#out + 1] = sums[name]
  end
  return out
end
-- Whether a node in live has a field "<node>:<rest>" in key.
local function heldBy(live, key, rest)
  for other in pairs(live) do
    if redis.call('HEXISTS', key, other .. ':' .. rest) == 1 then return true end
  end
  return false
end
-- Removes every field the node owns. With a live set, reports in departed the presence members no live
-- node has any more, as app, channel, user triples (their pending departure, if any, is taken: the caller
-- reports them now), and makes the departure of each followed channel no live node has any more due at
-- once, for the next sweep (dueDepartures) of any node to report.
local function purge(prefix, node, live, departed)
  local presencePrefix = prefix .. ':presence:'
  local occupancyPrefix = prefix .. ':occupancy:'
  local keysKey = prefix .. ':node:' .. node .. ':keys'
  for _, key in ipairs(redis.call('SMEMBERS', keysKey)) do
    local isPresence = string.sub(key, 1, #presencePrefix) == presencePrefix
    local isOccupancy = string.sub(key, 1, #occupancyPrefix) == occupancyPrefix
    for _, field in ipairs(redis.call('HKEYS', key)) do
      local owner, rest = split(field)
      if owner == node then
        redis.call('HDEL', key, field)
        if live and isPresence and not heldBy(live, key, rest) then
          local app, channel = split(string.sub(key, #presencePrefix + 1))
          redis.call('ZREM', prefix .. ':departures:' .. app, 'm:' .. channel .. ':' .. rest)
          departed[#departed + 1] = app
          departed[#departed + 1] = channel
          departed[#departed + 1] = rest
        elseif live and isOccupancy and not heldBy(live, key, rest) then
          redis.call('ZADD', prefix .. ':departures:' .. string.sub(key, #occupancyPrefix + 1), 0, 'c:' .. rest)
        end
      end
    end
  end
  redis.call('DEL', keysKey)
  local connectionsKey = prefix .. ':connections'
  for _, field in ipairs(redis.call('HKEYS', connectionsKey)) do
    if split(field) == node then redis.call('HDEL', connectionsKey, field) end
  end
end
`;

/**
 * KEYS: nodes, presence key, own keys set, departures key. ARGV: self, user id, user info, limit, the user's
 * departure key or '' when departures are not tracked. → added | returned | known | full
 */
export const ADD_MEMBER = `${COMMON}
local live = others(KEYS[1], ARGV[1])
local users, count, known, present = {}, 0, false, false
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  local node, user = split(field)
  if live[node] or node == ARGV[1] then
    if user == ARGV[2] then
      if node == ARGV[1] then present = true else known = true end
    elseif not users[user] then
      users[user] = true
      count = count + 1
    end
  end
end
if not known and not present and count >= tonumber(ARGV[4]) then return 'full' end
redis.call('HSET', KEYS[2], ARGV[1] .. ':' .. ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], KEYS[2])
local returned = ARGV[5] ~= '' and redis.call('ZREM', KEYS[4], ARGV[5]) == 1
if known then return 'known' end
if returned then return 'returned' end
return 'added'
`;

/**
 * KEYS: nodes, presence key, own keys set, departures key. ARGV: self, user id, "1" if self has no members
 * left there, the user's departure key or '' when departures are not tracked, grace ms.
 * → 1 if gone from the cluster (then its departure is pending until now + grace)
 */
export const REMOVE_MEMBER = `${COMMON}
redis.call('HDEL', KEYS[2], ARGV[1] .. ':' .. ARGV[2])
if ARGV[3] == '1' then redis.call('SREM', KEYS[3], KEYS[2]) end
for node in pairs(others(KEYS[1], ARGV[1])) do
  if redis.call('HEXISTS', KEYS[2], node .. ':' .. ARGV[2]) == 1 then return 0 end
end
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[4], nowMs() + tonumber(ARGV[5]), ARGV[4]) end
return 1
`;

/**
 * KEYS: nodes, occupancy key, own keys set, departures key. ARGV: self, channel.
 * → occupied | returned (its pending departure is cancelled) | known (another live node has it)
 */
export const OCCUPY = `${COMMON}
redis.call('HSET', KEYS[2], ARGV[1] .. ':' .. ARGV[2], 1)
redis.call('SADD', KEYS[3], KEYS[2])
if redis.call('ZREM', KEYS[4], 'c:' .. ARGV[2]) == 1 then return 'returned' end
if heldBy(others(KEYS[1], ARGV[1]), KEYS[2], ARGV[2]) then return 'known' end
return 'occupied'
`;

/** KEYS: nodes, occupancy key, departures key. ARGV: self, channel, grace ms. → 1 if no live node has it (departure pending) */
export const VACATE = `${COMMON}
redis.call('HDEL', KEYS[2], ARGV[1] .. ':' .. ARGV[2])
if heldBy(others(KEYS[1], ARGV[1]), KEYS[2], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[3], nowMs() + tonumber(ARGV[3]), 'c:' .. ARGV[2])
return 1
`;

/** KEYS: departures keys. ARGV: late ms. → key index, departure key, ... of the departures due late ms ago, taken */
export const DUE_DEPARTURES = `${COMMON}
local before = nowMs() - tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  for _, departure in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', before)) do
    redis.call('ZREM', key, departure)
    out[#out + 1] = i
    out[#out + 1] = departure
  end
end
return out
`;

/**
 * KEYS: nodes, the app's online-users key, own keys set. ARGV: self, user id.
 * → 1 if no other live node has the user signed in (the user is online now)
 */
export const USER_ONLINE = `${COMMON}
redis.call('HSET', KEYS[2], ARGV[1] .. ':' .. ARGV[2], 'null')
redis.call('SADD', KEYS[3], KEYS[2])
for node in pairs(others(KEYS[1], ARGV[1])) do
  if redis.call('HEXISTS', KEYS[2], node .. ':' .. ARGV[2]) == 1 then return 0 end
end
return 1
`;

/** KEYS: nodes, the app's online-users key. ARGV: self, user ids. → those of the ids another live node has */
export const ONLINE_ELSEWHERE = `${COMMON}
local live = others(KEYS[1], ARGV[1])
local out = {}
for i = 2, #ARGV do
  for node in pairs(live) do
    if redis.call('HEXISTS', KEYS[2], node .. ':' .. ARGV[i]) == 1 then
      out[#out + 1] = ARGV[i]
      break
    end
  end
end
return out
`;

/** KEYS: nodes, presence key. ARGV: self. → user id, user info, ... of the other live nodes, each user once */
export const OTHER_MEMBERS = `${COMMON}
local live = others(KEYS[1], ARGV[1])
local seen, out = {}, {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local node, user = split(all[i])
  if live[node] and not seen[user] then
    seen[user] = true
    out[#out + 1] = user
    out[#out + 1] = all[i + 1]
  end
end
return out
`;

/** KEYS: nodes, subscriptions key. ARGV: self. → channel, count, ... summed over the other live nodes */
export const OTHER_SUBSCRIPTIONS = `${COMMON}
return sumByName(KEYS[2], others(KEYS[1], ARGV[1]))
`;

/** KEYS: nodes, subscriptions key. ARGV: self, channel. → the other live nodes' subscriptions summed */
export const OTHER_SUBSCRIPTION_COUNT = `${COMMON}
local sum = 0
for node in pairs(others(KEYS[1], ARGV[1])) do
  sum = sum + (tonumber(redis.call('HGET', KEYS[2], node .. ':' .. ARGV[2])) or 0)
end
return sum
`;

/**
 * KEYS: nodes, connections. ARGV: self, node timeout ms, prefix, then app, count pairs.
 * → { 1 if self had been removed, departed triples, app, count pairs of the other live nodes, their ids }
 *
 * Only a node that was itself live removes the dead: after Redis was frozen or unreachable for longer than
 * the timeout every node looks expired, and the first to heartbeat again must not take the others, which
 * are about to heartbeat too, for dead. They are removed a heartbeat later if they really are.
 */
export const HEARTBEAT = `${COMMON}
local now = nowMs()
local before = redis.call('ZSCORE', KEYS[1], ARGV[1])
local wasLive = before and tonumber(before) > now
local isNew = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local live = others(KEYS[1], ARGV[1])
live[ARGV[1]] = true
local departed = {}
if wasLive then
  for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
    purge(ARGV[3], dead, live, departed)
    redis.call('ZREM', KEYS[1], dead)
  end
end
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  if split(field) == ARGV[1] then redis.call('HDEL', KEYS[2], field) end
end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[1] .. ':' .. ARGV[i], ARGV[i + 1]) end
live[ARGV[1]] = nil
local connections = sumByName(KEYS[2], live)
local ids = {}
for id in pairs(live) do ids[#ids + 1] = id end
return { isNew, departed, connections, ids }
`;

/**
 * KEYS: nodes. ARGV: self, node timeout ms, prefix, "join" or "leave". Removes everything self owns; then
 * "join" makes self live (its state is written again right after) and answers { 1 if self had been
 * removed (or never joined), {} }; "leave" takes it out of the cluster and answers { 0, departed triples }:
 * its presence members that no other live node holds, for whom member_removed is due.
 */
export const RESET_NODE = `${COMMON}
if ARGV[4] == 'join' then
  local absent = redis.call('ZSCORE', KEYS[1], ARGV[1]) == false
  purge(ARGV[3], ARGV[1], nil, nil)
  redis.call('ZADD', KEYS[1], nowMs() + tonumber(ARGV[2]), ARGV[1])
  return { absent and 1 or 0, {} }
end
local departed = {}
purge(ARGV[3], ARGV[1], others(KEYS[1], ARGV[1]), departed)
redis.call('ZREM', KEYS[1], ARGV[1])
return { 0, departed }
`;
