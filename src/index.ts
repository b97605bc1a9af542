export { createGateway, FALLBACK_WARNING, type Gateway, type Health, type PublishOptions } from './gateway.js';
export { ConfigError, type GatewayConfig, type GatewayOptions, resolveConfig } from './config.js';
export type { App } from './apps/app-registry.js';
export { HttpError, ProtocolError, SubscriptionError, WsErrors, HttpErrors, SubscriptionErrors, reconnectClassOf } from './errors.js';
export type { Dialect } from './protocol/frames.js';
export { signRequestQuery } from './http/request-signature.js';
export { authenticateUser, authorizeChannel, type ChannelAuthorization, type UserAuthentication } from './protocol/channel-auth.js';
export { isNativeUws } from './transport/uws.js';
export { createLogger, type Logger, type LogLevel } from './log.js';
