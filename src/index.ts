export { createGateway, type BroadcastOptions, type Gateway, type GatewayDependencies, type PublishOptions } from './gateway.js';
export type { Health } from './gateway-node.js';
export { ConfigError, type GatewayConfig, type GatewayOptions, resolveConfig } from './config.js';
export type { App } from './apps/app-registry.js';
export { HttpError, ProtocolError, SubscriptionError, WsErrors, HttpErrors, SubscriptionErrors, reconnectClassOf } from './errors.js';
export type { Dialect } from './protocol/frames.js';
export { channelId, parseChannelId, wireChannelName, type ChannelFlags, type ParsedChannelId } from './protocol/channel-id.js';
export { signRequestQuery } from './http/request-signature.js';
export { authenticateUser, authorizeChannel, type ChannelAuthorization, type UserAuthentication } from './protocol/channel-auth.js';
export { FALLBACK_WARNING, isNativeUws } from './transport/uws.js';
export { createLogger, type Logger, type LogLevel } from './log.js';
// The cluster seam, for embedders that bring their own cross-node transport or run several nodes in one process.
export type { Broker } from './cluster/broker.js';
export type { ClusterMessage } from './cluster/cluster-message.js';
export type { ClusterStore, Departure, Heartbeat, MemberOutcome, MemberRef, NodeSnapshot, OccupyOutcome } from './cluster/cluster-store.js';
export type { WebhookStats } from './webhooks/delivery-queue.js';
export { MemoryHub } from './cluster/memory-broker.js';
export { MemoryStoreHub } from './cluster/memory-cluster-store.js';
