/**
 * What nodes tell each other (D12), and its wire form. Frames travel already encoded: a node that receives
 * a publish hands the frame to its subscribers as it is.
 */
export type ClusterMessage =
  | PublishMessage
  | StoredMessage
  | MarkerMessage
  | ResponseMessage
  | TerminateMessage
  | MemberMessage
  | CountMessage
  | UserMessage
  | JoinedMessage;

/** A publish on a channel, for every other node's subscribers. */
export interface PublishMessage {
  readonly kind: 'publish';
  /** The node that published it. */
  readonly origin: string;
  readonly appId: string;
  /** The channel's wire name. */
  readonly channel: string;
  /** The frame as subscribers receive it, encoded once by the origin. */
  readonly frame: string;
  /** Pusher's socket_id exclusion: that connection, on whichever node holds it, does not receive the frame. */
  readonly exceptSocketId?: string;
  /** A server event on a cache channel, which the origin also cached (channel-cache.ts). */
  readonly cached?: boolean;
}

/**
 * A publication on a history channel (D18), published by Redis as it appended it to the channel's stream
 * (redis-history-store.ts), so it reaches every node, its origin included, in the order of its offsets.
 */
export interface StoredMessage {
  readonly kind: 'stored';
  readonly origin: string;
  readonly appId: string;
  readonly channel: string;
  readonly exceptSocketId?: string;
  /** The stream's epoch and the publication's offset in it. */
  readonly epoch: string;
  readonly offset: number;
  /** The frame as subscribers receive it, its `offset` included. */
  readonly frame: string;
}

/**
 * Published by Redis right after a history read for a subscriber (redis-history-store.ts), to the node that
 * read: it follows every publication the read saw on the node's subscription, so once it arrives the node has
 * received them all. Other nodes ignore it.
 */
export interface MarkerMessage {
  readonly kind: 'marker';
  /** The node that read. */
  readonly origin: string;
  /** The read it marks. */
  readonly id: string;
}

/** A response to a broadcast waiting on another node (D9): only the `target` node acts on it. */
export interface ResponseMessage {
  readonly kind: 'response';
  readonly origin: string;
  readonly target: string;
  readonly appId: string;
  readonly channel: string;
  /** The broadcast id. */
  readonly id: string;
  /** The response payload as JSON text. */
  readonly payload: string;
}

/** POST /users/:id/terminate_connections: every node closes that user's sockets. */
export interface TerminateMessage {
  readonly kind: 'terminate';
  readonly origin: string;
  readonly appId: string;
  /** Last on the wire: user ids are the app's and may hold any character. */
  readonly userId: string;
}

/**
 * member_added / member_removed decided on the origin node (a user's first or last socket in the cluster).
 * It travels as data rather than as a frame because every node encodes it in each of its clients' dialects.
 */
export interface MemberMessage {
  readonly kind: 'member';
  readonly origin: string;
  readonly appId: string;
  readonly channel: string;
  readonly event: 'memberAdded' | 'memberRemoved';
  /** The event's data as JSON text. */
  readonly data: string;
}

/**
 * A channel's subscription count changed on the origin node, which has written its count to the store: the nodes
 * with subscribers there count again (subscription-counts.ts). Only for apps with subscriptionCount on.
 */
export interface CountMessage {
  readonly kind: 'count';
  readonly origin: string;
  readonly appId: string;
  readonly channel: string;
}

/** A user came online or went offline in the cluster, as decided on the origin node: for watchlists. */
export interface UserMessage {
  readonly kind: 'user';
  readonly origin: string;
  readonly appId: string;
  readonly event: 'online' | 'offline';
  /** Last on the wire: user ids are the app's and may hold any character. */
  readonly userId: string;
}

/**
 * A node has joined the cluster (after its first heartbeat): the others take it for live at once, rather than at
 * their next heartbeat, so that answers to its broadcasts are sent to it (GatewayNode.respond). Every node hears
 * it: with routing by channel (D21), a node may hear nothing else from a new one for a while.
 */
export interface JoinedMessage {
  readonly kind: 'joined';
  readonly origin: string;
}

/**
 * The wire form of a message: its kind and a header line per field, then the frame or payload. Node ids, app
 * ids, wire channel names, socket ids and broadcast ids cannot contain a newline, so no escaping (and no
 * second JSON encoding of the frame) is needed.
 */
export function encodeClusterMessage(message: ClusterMessage): string {
  switch (message.kind) {
    case 'publish':
      return `${message.cached ? 'cached' : 'publish'}\n${message.origin}\n${message.appId}\n${message.channel}\n${message.exceptSocketId ?? ''}\n${message.frame}`;
    case 'stored':
      return `${storedMessageHead(message.origin, message.appId, message.channel, message.exceptSocketId)}${message.epoch}\n${message.offset}\n${message.frame}`;
    case 'count':
      return `count\n${message.origin}\n${message.appId}\n${message.channel}`;
    case 'user':
      return `user\n${message.origin}\n${message.appId}\n${message.event}\n${message.userId}`;
    case 'terminate':
      return `terminate\n${message.origin}\n${message.appId}\n${message.userId}`;
    case 'marker':
      return `marker\n${message.origin}\n${message.id}`;
    case 'joined':
      return `joined\n${message.origin}`;
    case 'member':
      return `member\n${message.origin}\n${message.appId}\n${message.channel}\n${message.event}\n${message.data}`;
    case 'response':
      return `response\n${message.origin}\n${message.appId}\n${message.channel}\n${message.target}\n${message.id}\n${message.payload}`;
  }
}

/**
 * The start of a stored message, up to its epoch: the Redis script that assigns the offset writes the rest,
 * `<epoch>\n<offset>\n<frame>` (redis-history-store.ts). Epochs and offsets hold no newline.
 */
export function storedMessageHead(origin: string, appId: string, channel: string, exceptSocketId: string | undefined): string {
  return `stored\n${origin}\n${appId}\n${channel}\n${exceptSocketId ?? ''}\n`;
}

/** Lines before the free-form last field, the kind included. */
const HEADER_LINES: Readonly<Record<string, number>> = {
  publish: 5,
  cached: 5,
  stored: 7,
  marker: 2,
  joined: 1,
  response: 6,
  terminate: 3,
  member: 5,
  count: 3,
  user: 4,
};

/** The message `text` encodes, or undefined when it is not one (another deployment's traffic, say). */
export function decodeClusterMessage(text: string): ClusterMessage | undefined {
  const kind = text.slice(0, text.indexOf('\n'));
  const headers = HEADER_LINES[kind] ?? 0;
  if (headers === 0) return undefined;
  const fields: string[] = [];
  let at = 0;
  for (let i = 0; i < headers; i++) {
    const end = text.indexOf('\n', at);
    if (end < 0) return undefined;
    fields.push(text.slice(at, end));
    at = end + 1;
  }
  const rest = text.slice(at);
  if (kind === 'marker') return { kind, origin: fields[1] as string, id: rest };
  if (kind === 'joined') return { kind, origin: rest };
  if (kind === 'terminate') {
    const [, origin, appId] = fields as [string, string, string];
    return { kind, origin, appId, userId: rest };
  }
  if (kind === 'member') {
    const [, origin, appId, channel, event] = fields as [string, string, string, string, string];
    if (event !== 'memberAdded' && event !== 'memberRemoved') return undefined;
    return { kind, origin, appId, channel, event, data: rest };
  }
  if (kind === 'publish' || kind === 'cached') {
    const [, origin, appId, channel, except] = fields as [string, string, string, string, string];
    const message: PublishMessage = { kind: 'publish', origin, appId, channel, frame: rest, ...(except === '' ? {} : { exceptSocketId: except }) };
    return kind === 'cached' ? { ...message, cached: true } : message;
  }
  if (kind === 'count') {
    const [, origin, appId] = fields as [string, string, string];
    return { kind, origin, appId, channel: rest };
  }
  if (kind === 'user') {
    const [, origin, appId, event] = fields as [string, string, string, string];
    if (event !== 'online' && event !== 'offline') return undefined;
    return { kind, origin, appId, event, userId: rest };
  }
  if (kind === 'stored') {
    const [, origin, appId, channel, except, epoch, offset] = fields as [string, string, string, string, string, string, string];
    return { kind, origin, appId, channel, epoch, offset: Number(offset), frame: rest, ...(except === '' ? {} : { exceptSocketId: except }) };
  }
  const [, origin, appId, channel, target, id] = fields as [string, string, string, string, string, string];
  return { kind: 'response', origin, appId, channel, target, id, payload: rest };
}
