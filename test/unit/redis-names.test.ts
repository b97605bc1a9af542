import t from 'tap';
import { clusterChannel, historyKey, nodeChannel, partitionOf, shardChannel, storePrefix, webhooksPrefix } from '../../src/cluster/redis-names.js';

const PARTITIONS = 16;

/** What Redis Cluster hashes for a key's slot: the text between its first `{` and the next `}`, if not empty. */
function hashed(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

t.test('a channel is in one partition, the same on every node, and channels spread over all of them', async (t) => {
  t.equal(partitionOf('app', 'chat-1', PARTITIONS), partitionOf('app', 'chat-1', PARTITIONS));
  const counts = new Array<number>(PARTITIONS).fill(0);
  const partitions = Array.from({ length: 1600 }, (_, i) => partitionOf('app', `channel-${i}`, PARTITIONS));
  t.ok(partitions.every((p) => Number.isInteger(p) && p >= 0 && p < PARTITIONS), 'each in range');
  for (const partition of partitions) counts[partition] = (counts[partition] ?? 0) + 1;
  t.ok(Math.min(...counts) > 50 && Math.max(...counts) < 150, `evenly enough: ${counts.join(', ')}`);
  t.not(partitionOf('ab', 'c', 4096), partitionOf('a', 'bc', 4096), 'app and channel are told apart');
});

t.test('what one script or command touches together is in one hash slot', async (t) => {
  for (const channel of ['chat-1', 'presence-room', '#server-to-user-ann', 'WyJ-ch_==']) {
    const partition = partitionOf('app', channel, PARTITIONS);
    const stream = historyKey('P', partition, 'app', channel);
    const slot = hashed(shardChannel('P', partition, 'app', channel));
    t.equal(hashed(stream), slot, `${channel}: its stream and its shard channel`);
    t.equal(hashed(`${stream}:meta`), slot, `${channel}: its stream's meta`);
  }
  const store = storePrefix('P');
  t.equal(new Set([`${store}:nodes`, `${store}:presence:app:room`, `${store}:subscriptions:other`, `${store}:cache:app:cache-x`].map(hashed)).size, 1, 'the whole store');
  t.equal(new Set([`${webhooksPrefix('P')}:app:wait`, `${webhooksPrefix('P')}:other-app:delayed`].map(hashed)).size, 1, 'the webhook queues');
  t.not(nodeChannel('P', 'a'), clusterChannel('P'));
});
