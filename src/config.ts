import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import schema from '../protocol/config.schema.json' with { type: 'json' };
import type { App, WebhookTarget } from './apps/app-registry.js';
import type { LogLevel } from './log.js';
import { describeErrors } from './protocol/schemas.js';

/** The resolved configuration: protocol/config.schema.json with every default applied. */
export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly activityTimeout: number;
  readonly pongTimeout: number;
  readonly maxMessageBytes: number;
  readonly maxFrameBytes: number;
  readonly maxBackpressureBytes: number;
  readonly maxRequestBytes: number;
  readonly maxRequestBytesInFlight: number;
  readonly maxJsonDepth: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly redis: string;
  readonly redisCluster: boolean;
  readonly redisRouting: 'sharded' | 'fanout';
  readonly redisPartitions: number;
  readonly redisUnsubscribeLingerMs: number;
  readonly redisPrefix: string;
  readonly redisHeartbeatMs: number;
  readonly redisNodeTimeoutMs: number;
  readonly redisCommandTimeoutMs: number;
  readonly redisMaxPendingBytes: number;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly tlsPassphrase: string;
  /** Serve the debug console at /console (docs/console.md); the demo configuration turns it on. */
  readonly console: boolean;
  readonly consoleTokenTtlSeconds: number;
  /** Memory a single node's history may hold (PROTOCOL.md §9); a cluster keeps history in Redis. */
  readonly historyMaxBytes: number;
  readonly historyPositionTtlSeconds: number;
  /** The Prometheus endpoint's port; -1 when metrics are off, 0 for any free port. */
  readonly metricsPort: number;
  /** Its interface; '' = `host`. */
  readonly metricsHost: string;
  /** Prefix of every metric name ("soketi_" for soketi's dashboards). */
  readonly metricsPrefix: string;
  readonly apps: readonly App[];
}

/** What callers may pass: any subset of the config file, apps with only id/key/secret required. */
export type GatewayOptions = Partial<Omit<GatewayConfig, 'apps'>> & {
  apps?: ReadonlyArray<Partial<Omit<App, 'webhooks'>> & Pick<App, 'id' | 'key' | 'secret'> & { webhooks?: ReadonlyArray<Partial<WebhookTarget> & Pick<WebhookTarget, 'url'>> }>;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

// A separate instance because defaults are written into the input, which the protocol validators must never do.
const validate = new Ajv2020({ useDefaults: true, strict: true, allowUnionTypes: true }).compile(schema);

/** Where the demo app listens unless told otherwise: its secret is in the README, so not beyond this machine. */
export const DEMO_HOST = '127.0.0.1';

/** Validates options and fills in defaults. Throws ConfigError naming the offending path. */
export function resolveConfig(options: GatewayOptions = {}, source = 'config'): GatewayConfig {
  const config = structuredClone(options) as Record<string, unknown>;
  // The demo app's secret is public: it listens on this machine only, and its console is on for trying things out.
  if (config.apps === undefined && config.host === undefined) config.host = DEMO_HOST;
  if (config.apps === undefined && config.console === undefined) config.console = true;
  if (!validate(config)) throw new ConfigError(`${source}: ${describeErrors(validate.errors, 'config')}`);
  const resolved = config as unknown as GatewayConfig;
  if (resolved.maxFrameBytes < resolved.maxMessageBytes) {
    throw new ConfigError(`${source}: config.maxFrameBytes must be at least config.maxMessageBytes`);
  }
  // One late heartbeat must not make the others take a live node for dead.
  if (resolved.redisNodeTimeoutMs < 2 * resolved.redisHeartbeatMs) {
    throw new ConfigError(`${source}: config.redisNodeTimeoutMs must be at least twice config.redisHeartbeatMs`);
  }
  if (resolved.redisRouting === 'fanout' && resolved.redisCluster) {
    throw new ConfigError(`${source}: config.redisRouting "fanout" needs standalone Redis; a Redis Cluster routes "sharded"`);
  }
  if (resolved.redis.includes(',') && !resolved.redisCluster) {
    throw new ConfigError(`${source}: config.redis lists several URLs, which only a Redis Cluster takes (set config.redisCluster)`);
  }
  if ((resolved.tlsCertFile === '') !== (resolved.tlsKeyFile === '')) {
    throw new ConfigError(`${source}: config.tlsCertFile and config.tlsKeyFile go together; set both or neither`);
  }
  checkUnique(resolved.apps, source);
  resolved.apps.forEach((app, i) => {
    checkWebhooks(app, `${source}: config.apps[${i}]`);
    checkHistory(app, `${source}: config.apps[${i}]`);
  });
  return resolved;
}

/** App ids, and all keys (app keys and consumer keys together), must each name one app. */
function checkUnique(apps: readonly App[], source: string): void {
  const ids = new Set<string>();
  const keys = new Set<string>();
  apps.forEach((app, i) => {
    if (ids.has(app.id)) throw new ConfigError(`${source}: config.apps[${i}].id "${app.id}" is used by another app`);
    ids.add(app.id);
    for (const key of [app.key, ...app.consumerKeys]) {
      if (keys.has(key)) throw new ConfigError(`${source}: config.apps[${i}] uses the key "${key}" again; app keys and consumer keys must all differ`);
      keys.add(key);
    }
  });
}

/** Rules are tried in order, so a prefix given twice would leave the second rule unused: surely a mistake. */
function checkHistory(app: App, where: string): void {
  const seen = new Set<string>();
  app.history.forEach(({ prefix }, i) => {
    if (seen.has(prefix)) throw new ConfigError(`${where}.history[${i}].prefix ${JSON.stringify(prefix)} is used by an earlier rule, which always wins`);
    seen.add(prefix);
  });
}

/** Headers every webhook request sets itself: a configured header may not replace them. */
const WEBHOOK_OWN_HEADERS = ['content-type', 'x-pusher-key', 'x-pusher-signature', 'webhook-id'];

/**
 * Webhook URLs are absolute http(s) URLs without credentials (fetch refuses those; they belong in a header),
 * checked at startup so a typo is one clear line rather than a failed delivery every few seconds.
 */
function checkWebhooks(app: App, where: string): void {
  app.webhooks.forEach(({ url, headers = {} }, i) => {
    const at = `${where}.webhooks[${i}]`;
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      // Reported below.
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new ConfigError(`${at}.url must be an absolute http:// or https:// URL, got ${JSON.stringify(url)}`);
    }
    if (parsed.username !== '' || parsed.password !== '') {
      throw new ConfigError(`${at}.url must not hold a user name or password; send credentials in headers (e.g. "Authorization")`);
    }
    const own = Object.keys(headers).find((name) => WEBHOOK_OWN_HEADERS.includes(name.toLowerCase()));
    if (own) throw new ConfigError(`${at}.headers may not set ${own}: the gateway sets it on every webhook request`);
  });
}

type ScalarType = 'integer' | 'number' | 'string' | 'boolean';
interface Setting {
  readonly name: string;
  readonly type: ScalarType | 'enum';
  readonly description: string;
  readonly default: unknown;
  readonly env: string;
  readonly flag: string;
}

/** The top-level scalar settings, each reachable as GATEWAY_<NAME> and --<name>. */
export const SETTINGS: readonly Setting[] = Object.entries(schema.properties).flatMap(([name, spec]) => {
  const s = spec as { type?: string; enum?: unknown[]; description?: string; default?: unknown };
  const type = s.enum ? 'enum' : s.type;
  if (type !== 'enum' && type !== 'integer' && type !== 'number' && type !== 'string' && type !== 'boolean') return [];
  if (name === '$schema') return [];
  const snake = name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
  const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return [{ name, type, description: s.description ?? '', default: s.default, env: `GATEWAY_${snake}`, flag: `--${kebab}` }];
});

/** Environment variables that define the one app served, replacing the demo app or the file's apps. */
export const APP_ENV = { id: 'GATEWAY_APP_ID', key: 'GATEWAY_APP_KEY', secret: 'GATEWAY_APP_SECRET' } as const;

export type CliResult = { help: string } | { config: GatewayConfig };

/** Reads `--config FILE` (or GATEWAY_CONFIG), then the environment, then flags; flags win. */
export function configFromCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliResult {
  const flags = parseFlags(argv);
  if (flags.has('--help') || flags.has('-h')) return { help: helpText() };

  const file = flags.get('--config') ?? env.GATEWAY_CONFIG;
  const options: Record<string, unknown> = file ? readConfigFile(file) : {};
  for (const setting of SETTINGS) {
    const raw = env[setting.env];
    if (raw !== undefined && raw !== '') options[setting.name] = parseScalar(raw, setting, setting.env);
  }
  if (env[APP_ENV.id] || env[APP_ENV.key] || env[APP_ENV.secret]) {
    const [id, key, secret] = [env[APP_ENV.id], env[APP_ENV.key], env[APP_ENV.secret]];
    if (!id || !key || !secret) {
      throw new ConfigError(`set all of ${APP_ENV.id}, ${APP_ENV.key} and ${APP_ENV.secret}, or none`);
    }
    options.apps = [{ id, key, secret }];
  }
  for (const [flag, raw] of flags) {
    if (flag === '--config') {
      if (raw === undefined) throw new ConfigError('--config needs a file path');
      continue;
    }
    const setting = SETTINGS.find((s) => s.flag === flag);
    if (!setting) throw new ConfigError(`unknown option ${flag}; see --help`);
    if (raw === undefined) throw new ConfigError(`${flag} needs a value`);
    options[setting.name] = parseScalar(raw, setting, flag);
  }
  return { config: resolveConfig(options as GatewayOptions, file ?? 'config') };
}

function parseFlags(argv: readonly string[]): Map<string, string | undefined> {
  const flags = new Map<string, string | undefined>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-')) throw new ConfigError(`unexpected argument "${arg}"; see --help`);
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(0, eq), arg.slice(eq + 1));
    else if (arg === '--help' || arg === '-h') flags.set(arg, '');
    else flags.set(arg, argv[++i]);
  }
  return flags;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseScalar(raw: string, setting: Setting, origin: string): unknown {
  switch (setting.type) {
    case 'integer':
    case 'number': {
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new ConfigError(`${origin} must be a number, got "${raw}"`);
      return value;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${origin} must be true or false, got "${raw}"`);
      return raw === 'true';
    default:
      return raw;
  }
}

export function helpText(): string {
  // Columns as wide as their longest entry plus a space, so no flag runs into its variable.
  const usage = (s: Setting) => `${s.flag} <${s.type}>`;
  const flagWidth = Math.max(...SETTINGS.map((s) => usage(s).length)) + 1;
  const envWidth = Math.max(...SETTINGS.map((s) => s.env.length)) + 1;
  const rows = SETTINGS.map((s) => `  ${usage(s).padEnd(flagWidth)}${s.env.padEnd(envWidth)}default ${JSON.stringify(s.default)}\n      ${s.description}`);
  return [
    'Usage: broadcastt-gateway [--config FILE] [options]',
    '',
    'Serves WebSocket clients on /app/<key> and /apps/<key> and the REST API on /apps/<id>/...',
    `With no options: port 6001 on ${DEMO_HOST} only, one demo app (id app-id, key app-key; its secret is in the README).`,
    '',
    `  ${'--config <file>'.padEnd(flagWidth)}${'GATEWAY_CONFIG'.padEnd(envWidth)}JSON file, see protocol/config.schema.json`,
    ...rows,
    `  ${'(environment only)'.padEnd(flagWidth)}${APP_ENV.id}, ${APP_ENV.key}, ${APP_ENV.secret}`,
    '      Serve this one app instead of the demo app or the config file\'s apps.',
    '  --help                          Print this help.',
    '',
    'Precedence: flags, then environment, then the config file, then defaults.',
  ].join('\n');
}
