/**
 * The names a cluster gives its Redis keys and pub/sub channels, each with the hash tag that decides its slot on a
 * Redis Cluster (D21): what one script or one SSUBSCRIBE touches together must be in one slot. P is the deployment's
 * prefix (redisPrefix, which holds no braces), so the first `{…}` of every name is the tag written here.
 *
 *   P:{store}:…                 every key of the cluster store and the cache channels (redis-store-scripts.ts): one
 *                               slot, because the store's scripts find the keys they clean up in other keys
 *   P:{webhooks}:<app>:…        the webhook queues (BullMQ keys under that prefix)
 *   P:{<n>}:<app>:<channel>     the sharded pub/sub channel of a gateway channel in partition n
 *   P:history:{<n>}:<app>:<channel>[:meta]   its history stream, in the same slot, so the script that appends to it
 *                               can SPUBLISH on it
 *   P:{node:<id>}               the sharded channel of one node: answers meant for it (broadcast responses)
 *   P:{all}                     the sharded channel every node listens to: what is not about one channel
 *   P:fanout                    the one channel of the old routing (redisRouting "fanout"), kept for comparison
 */

/** The prefix of every key of the cluster store (presence, counts, connections, occupancy, cache). */
export function storePrefix(prefix: string): string {
  return `${prefix}:{store}`;
}

/** The prefix BullMQ puts before each webhook queue's name. */
export function webhooksPrefix(prefix: string): string {
  return `${prefix}:{webhooks}`;
}

/** The partition of a channel: FNV-1a over app id and channel, so every node computes the same one. */
export function partitionOf(appId: string, channel: string, partitions: number): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < appId.length; i++) hash = Math.imul(hash ^ appId.charCodeAt(i), FNV_PRIME);
  hash = Math.imul(hash ^ SEPARATOR, FNV_PRIME);
  for (let i = 0; i < channel.length; i++) hash = Math.imul(hash ^ channel.charCodeAt(i), FNV_PRIME);
  return (hash >>> 0) % partitions;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Between app id and channel in the hash: a newline, which neither holds. */
const SEPARATOR = 10;

/** The sharded pub/sub channel a gateway channel's messages travel on. */
export function shardChannel(prefix: string, partition: number, appId: string, channel: string): string {
  return `${prefix}:{${partition}}:${appId}:${channel}`;
}

/** A channel's history stream; its meta key is this plus `:meta`. Same slot as its shard channel. */
export function historyKey(prefix: string, partition: number, appId: string, channel: string): string {
  return `${prefix}:history:{${partition}}:${appId}:${channel}`;
}

export function nodeChannel(prefix: string, nodeId: string): string {
  return `${prefix}:{node:${nodeId}}`;
}

export function clusterChannel(prefix: string): string {
  return `${prefix}:{all}`;
}

/** The channel every node subscribes to under the old routing. */
export function fanOutChannel(prefix: string): string {
  return `${prefix}:fanout`;
}
