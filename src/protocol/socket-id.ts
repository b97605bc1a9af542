import { randomInt } from 'node:crypto';
import type { SocketId } from './frames.js';

/**
 * Socket ids look like `123456.789` (`^\d+\.\d+$`, which the PHP and Laravel libraries require).
 * The first part is random per generator (per gateway), the second counts up, so ids are unique
 * within a process and, with overwhelming likelihood, across the nodes of a cluster.
 */
export function socketIdGenerator(): () => SocketId {
  const prefix = randomInt(1, 2 ** 31);
  let counter = 0;
  return () => `${prefix}.${++counter}`;
}
