import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { type CliResult, type GatewayConfig, SETTINGS, configFromCli, resolveConfig } from '../../src/config.js';

const CONFIG_ERROR = { name: 'ConfigError' };

/** The config of a CLI result that is not --help. */
function configOf(result: CliResult): GatewayConfig {
  if (!('config' in result)) throw new Error('expected a config, got help');
  return result.config;
}

/** Writes `content` to a fresh temp dir, removed when the test ends. */
async function tempFile(t: { teardown: (fn: () => Promise<void>) => void }, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'gateway.json');
  await writeFile(path, content);
  return path;
}

t.test('the demo app listens on loopback unless a host is given; configured apps on every interface', async (t) => {
  t.equal(resolveConfig().host, '127.0.0.1', 'the demo app, whose secret is public');
  t.equal(resolveConfig({ host: '0.0.0.0' }).host, '0.0.0.0', 'unless asked');
  t.equal(resolveConfig({ apps: [{ id: 'a', key: 'k', secret: 'long-secret' }] }).host, '0.0.0.0', 'the schema default for real apps');
});

t.test('the console is on for the demo app unless turned off; off for configured apps unless turned on', async (t) => {
  const apps = [{ id: 'a', key: 'k', secret: 'long-secret' }];
  t.equal(resolveConfig().console, true, 'the demo app');
  t.equal(resolveConfig({ console: false }).console, false, 'unless turned off');
  t.equal(resolveConfig({ apps }).console, false, 'configured apps');
  t.equal(resolveConfig({ apps, console: true }).console, true, 'unless turned on');
  t.equal(resolveConfig().consoleTokenTtlSeconds, 900, 'a sign-in lasts 15 minutes');
  t.throws(() => resolveConfig({ consoleTokenTtlSeconds: 0 }), /consoleTokenTtlSeconds/);
});

t.test('defaults come from the schema', async (t) => {
  const config = resolveConfig();
  t.match(config, {
    host: '127.0.0.1',
    port: 6001,
    activityTimeout: 120,
    pongTimeout: 30,
    maxMessageBytes: 65536,
    logLevel: 'info',
    metricsPort: -1,
    metricsHost: '',
    metricsPrefix: 'broadcastt_',
  });
  t.same(config.apps, [
    {
      id: 'app-id',
      key: 'app-key',
      consumerKeys: ['app-consumer-key'],
      secret: 'app-secret',
      enabled: true,
      clientEvents: false,
      maxClientEventsPerSecond: 10,
      maxConnections: 100000,
      maxChannelsPerConnection: 100,
      maxChannels: 100000,
      maxBackendEventsPerSecond: 10000,
      maxReadRequestsPerSecond: 1000,
      maxPresenceMembers: 100,
      maxPresenceUserInfoBytes: 1024,
      maxChannelNameLength: 164,
      maxEventNameLength: 200,
      maxEventDataBytes: 10240,
      maxChannelsPerTrigger: 100,
      maxBatchEvents: 10,
      maxBroadcastsPerSecond: 10,
      broadcastTimeoutMs: 1000,
      maxBroadcastTimeoutMs: 30000,
      maxResponsesPerBroadcast: 1000,
      maxBroadcastResponseBytes: 262144,
      maxPendingBroadcasts: 1000,
      clientBroadcasts: 'all',
      maxPendingClientBroadcasts: 500,
      maxPendingBroadcastsPerConnection: 10,
      maxResponsesPerSecond: 100,
      maxPresenceUserIdLength: 128,
      subscriptionCount: false,
      subscriptionCountThreshold: 100,
      subscriptionCountIntervalMs: 5000,
      cacheTtlMs: 1800000,
      maxCachedChannels: 10000,
      watchlistEvents: false,
      maxWatchlistSize: 100,
      webhooks: [],
      webhookGraceMs: 3000,
      webhookBatchEvents: 20,
      webhookBatchDelayMs: 250,
      webhookTimeoutMs: 4000,
      webhookRetryBaseMs: 1000,
      webhookRetryForMs: 300000,
      history: [],
      maxRecoveredEvents: 300,
      webhookMaxQueued: 1000,
    },
  ]);
  t.equal(resolveConfig({ apps: [{ id: 'a', key: 'k', secret: 'long-secret' }] }).apps[0]?.clientBroadcasts, 'authorized', 'configured apps broadcast only where authorized (D9a)');
});

t.test('app defaults are applied to configured apps', async (t) => {
  const config = resolveConfig({ apps: [{ id: 'a', key: 'b', secret: 'long-secret', maxConnections: 5 }] });
  t.match(config.apps[0], { id: 'a', maxConnections: 5, enabled: true, maxChannelNameLength: 164, maxEventDataBytes: 10240 });
});

t.test('resolveConfig leaves its input alone', async (t) => {
  const options = { port: 1234 };
  resolveConfig(options);
  t.same(options, { port: 1234 });
});

t.test('resolveConfig errors name the path of the problem', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['short secret', { apps: [{ id: 'a', key: 'b', secret: 'short' }] }, /config\.apps\[0\]\.secret must NOT have fewer than 8 characters/],
    ['missing secret', { apps: [{ id: 'a', key: 'b' }] }, /config\.apps\[0\]\.secret is required/],
    ['bad key in the second app', { apps: [{ id: 'a', key: 'b', secret: 'long-secret' }, { id: 'c', key: 'no spaces', secret: 'long-secret' }] }, /config\.apps\[1\]\.key must match pattern/],
    ['port out of range', { port: 70000 }, /config\.port must be <= 65535/],
    ['port not an integer', { port: 1.5 }, /config\.port must be integer/],
    ['no apps', { apps: [] }, /config\.apps must NOT have fewer than 1 items/],
    ['unknown setting', { prot: 1 }, /config has an unknown property "prot"/],
    ['unknown app setting', { apps: [{ id: 'a', key: 'b', secret: 'long-secret', clientEvent: true }] }, /config\.apps\[0\] has an unknown property "clientEvent"/],
    ['bad log level', { logLevel: 'loud' }, /config\.logLevel must be equal to one of the allowed values/],
  ];
  for (const [name, options, message] of cases) t.throws(() => resolveConfig(options as never), { ...CONFIG_ERROR, message }, name);
});

t.test('maxFrameBytes may not be below maxMessageBytes', async (t) => {
  t.throws(() => resolveConfig({ maxMessageBytes: 4096, maxFrameBytes: 2048 }), { ...CONFIG_ERROR, message: /config\.maxFrameBytes must be at least config\.maxMessageBytes/ });
  t.doesNotThrow(() => resolveConfig({ maxMessageBytes: 4096, maxFrameBytes: 4096 }), 'equal is fine');
  t.throws(() => configFromCli(['--max-frame-bytes', '1000'], { GATEWAY_MAX_MESSAGE_BYTES: '2000' }), CONFIG_ERROR, 'also from the CLI');
});

t.test('Redis: several URLs only for a Redis Cluster, and the fanout routing only without one', async (t) => {
  const urls = 'redis://10.0.0.5:7000,redis://10.0.0.6:7000';
  t.throws(() => resolveConfig({ redis: urls }), { ...CONFIG_ERROR, message: /lists several URLs, which only a Redis Cluster takes/ });
  t.equal(resolveConfig({ redis: urls, redisCluster: true }).redis, urls);
  t.throws(() => resolveConfig({ redis: urls, redisCluster: true, redisRouting: 'fanout' }), { ...CONFIG_ERROR, message: /"fanout" needs standalone Redis/ });
  t.throws(() => resolveConfig({ redis: 'redis://a:1,http://b:2', redisCluster: true }), CONFIG_ERROR, 'each one a redis URL');
  t.throws(() => resolveConfig({ redisPartitions: 0 }), CONFIG_ERROR);
  t.match(configFromCli(['--redis-partitions', '64', '--redis-unsubscribe-linger-ms', '0'], {}), { config: { redisPartitions: 64, redisUnsubscribeLingerMs: 0, redisRouting: 'sharded' } });
});

t.test('configFromCli', async (t) => {
  t.test('with nothing set gives the defaults', async (t) => {
    t.same(configOf(configFromCli([], {})), resolveConfig());
  });

  t.test('--help and -h return the help text listing flags and variables', async (t) => {
    for (const flag of ['--help', '-h']) {
      const result = configFromCli([flag], {});
      t.ok('help' in result, flag);
      if ('help' in result) {
        t.match(result.help, /--port <integer>/);
        t.match(result.help, /GATEWAY_PORT/);
        t.match(result.help, /GATEWAY_APP_ID/);
        t.match(result.help, /--config <file>/);
      }
    }
  });

  t.test('--help wins over every other argument, even invalid ones', async (t) => {
    t.ok('help' in configFromCli(['--port', 'abc', '--help'], {}));
  });

  t.test('--port 7000 and --port=7000', async (t) => {
    t.equal(configOf(configFromCli(['--port', '7000'], {})).port, 7000);
    t.equal(configOf(configFromCli(['--port=7000'], {})).port, 7000);
  });

  t.test('every scalar has a kebab-case flag and a GATEWAY_ variable', async (t) => {
    t.match(SETTINGS.find((s) => s.name === 'maxMessageBytes'), { flag: '--max-message-bytes', env: 'GATEWAY_MAX_MESSAGE_BYTES' });
    t.equal(configOf(configFromCli(['--max-message-bytes', '1024'], {})).maxMessageBytes, 1024);
    t.equal(configOf(configFromCli([], { GATEWAY_MAX_MESSAGE_BYTES: '2048' })).maxMessageBytes, 2048);
    t.equal(configOf(configFromCli(['--log-level', 'debug'], {})).logLevel, 'debug');
    t.equal(configOf(configFromCli([], { GATEWAY_PONG_TIMEOUT: '2.5' })).pongTimeout, 2.5);
    t.notOk(SETTINGS.some((s) => s.name === 'apps' || s.name === '$schema'), 'apps and $schema are not scalars');
  });

  t.test('GATEWAY_PORT sets the port; an empty variable is ignored', async (t) => {
    t.equal(configOf(configFromCli([], { GATEWAY_PORT: '7001' })).port, 7001);
    t.equal(configOf(configFromCli([], { GATEWAY_PORT: '' })).port, 6001);
  });

  t.test('a flag beats the environment', async (t) => {
    t.equal(configOf(configFromCli(['--port', '7002'], { GATEWAY_PORT: '7001' })).port, 7002);
  });

  t.test('reads a config file given by --config or GATEWAY_CONFIG', async (t) => {
    const path = await tempFile(t, JSON.stringify({ port: 7100, apps: [{ id: 'file-app', key: 'file-key', secret: 'file-secret' }] }));
    for (const [argv, env] of [[['--config', path], {}], [[`--config=${path}`], {}], [[], { GATEWAY_CONFIG: path }]] as const) {
      const config = configOf(configFromCli(argv, env));
      t.equal(config.port, 7100);
      t.match(config.apps, [{ id: 'file-app', key: 'file-key', secret: 'file-secret', enabled: true }]);
    }
  });

  t.test('the environment beats the file, and flags beat both', async (t) => {
    const path = await tempFile(t, JSON.stringify({ port: 7100, host: '127.0.0.1' }));
    const config = configOf(configFromCli(['--config', path, '--host', '::1'], { GATEWAY_PORT: '7200', GATEWAY_HOST: '10.0.0.1' }));
    t.equal(config.port, 7200);
    t.equal(config.host, '::1');
  });

  t.test('a file that cannot be read is an error naming it', async (t) => {
    const missing = join(tmpdir(), 'no-such-dir-for-gateway-tests', 'gateway.json');
    t.throws(() => configFromCli(['--config', missing], {}), { ...CONFIG_ERROR, message: /cannot read config file .*no-such-dir-for-gateway-tests/ });
  });

  t.test('a file that is not JSON is an error naming it', async (t) => {
    const path = await tempFile(t, '{ "port": 7100, }');
    t.throws(() => configFromCli(['--config', path], {}), { ...CONFIG_ERROR, message: /config file .*gateway\.json is not valid JSON/ });
  });

  t.test('schema errors in the file name the file and the path', async (t) => {
    const path = await tempFile(t, JSON.stringify({ apps: [{ id: 'a', key: 'b', secret: 'short' }] }));
    t.throws(() => configFromCli(['--config', path], {}), { ...CONFIG_ERROR, message: /gateway\.json: config\.apps\[0\]\.secret/ });
  });

  t.test('an unknown flag is an error', async (t) => {
    t.throws(() => configFromCli(['--prot', '1'], {}), { ...CONFIG_ERROR, message: /unknown option --prot/ });
  });

  t.test('a positional argument is an error', async (t) => {
    t.throws(() => configFromCli(['serve'], {}), { ...CONFIG_ERROR, message: /unexpected argument "serve"/ });
  });

  t.test('a flag without its value is an error', async (t) => {
    t.throws(() => configFromCli(['--port'], {}), { ...CONFIG_ERROR, message: /--port needs a value/ });
  });

  t.test('--config without its value is an error', async (t) => {
    t.throws(() => configFromCli(['--config'], {}), { ...CONFIG_ERROR, message: /--config/ }, '--config needs a value');
  });

  t.test('a number setting that is not a number is an error naming where it came from', async (t) => {
    t.throws(() => configFromCli(['--port', 'abc'], {}), { ...CONFIG_ERROR, message: /--port must be a number, got "abc"/ });
    t.throws(() => configFromCli([], { GATEWAY_PORT: 'abc' }), { ...CONFIG_ERROR, message: /GATEWAY_PORT must be a number/ });
  });

  t.test('GATEWAY_APP_ID, _KEY and _SECRET replace the apps', async (t) => {
    const env = { GATEWAY_APP_ID: 'env-app', GATEWAY_APP_KEY: 'env-key', GATEWAY_APP_SECRET: 'env-secret' };
    t.match(configOf(configFromCli([], env)).apps, [{ id: 'env-app', key: 'env-key', secret: 'env-secret', maxChannelNameLength: 164 }]);
    t.equal(configOf(configFromCli([], env)).apps.length, 1);

    const path = await tempFile(t, JSON.stringify({ apps: [{ id: 'file-app', key: 'file-key', secret: 'file-secret' }] }));
    t.match(configOf(configFromCli(['--config', path], env)).apps, [{ id: 'env-app' }], 'also the file apps');
  });

  t.test('only some of GATEWAY_APP_ID, _KEY and _SECRET is an error naming all three', async (t) => {
    for (const env of [{ GATEWAY_APP_ID: 'a' }, { GATEWAY_APP_KEY: 'k', GATEWAY_APP_SECRET: 'long-secret' }, { GATEWAY_APP_SECRET: 'long-secret' }]) {
      t.throws(() => configFromCli([], env), { ...CONFIG_ERROR, message: /GATEWAY_APP_ID, GATEWAY_APP_KEY and GATEWAY_APP_SECRET/ }, Object.keys(env).join('+'));
    }
  });

  t.test('an app from the environment is validated like any other', async (t) => {
    t.throws(() => configFromCli([], { GATEWAY_APP_ID: 'a', GATEWAY_APP_KEY: 'k', GATEWAY_APP_SECRET: 'short' }), {
      ...CONFIG_ERROR,
      message: /config\.apps\[0\]\.secret/,
    });
  });
});

t.test('webhooks: every event by default, and a bad URL or a replaced signature header is one clear line', async (t) => {
  const withWebhooks = (webhooks: unknown[]) => resolveConfig({ apps: [{ id: 'a', key: 'k', secret: 'long-secret', webhooks } as never] });
  t.same(withWebhooks([{ url: 'https://example.com/hook' }]).apps[0]?.webhooks, [
    { url: 'https://example.com/hook', events: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss'] },
  ]);
  t.throws(() => withWebhooks([{ url: 'example.com/hook' }]), { ...CONFIG_ERROR, message: 'config: config.apps[0].webhooks[0].url must be an absolute http:// or https:// URL, got "example.com/hook"' });
  t.throws(() => withWebhooks([{ url: 'https://ok.example/' }, { url: 'ftp://example.com/' }]), { message: /config\.apps\[0\]\.webhooks\[1\]\.url must be an absolute http/ });
  t.throws(() => withWebhooks([{ url: 'https://user:pw@example.com/' }]), { message: /must not hold a user name or password/ });
  t.throws(() => withWebhooks([{ url: 'https://example.com/', headers: { 'x-pusher-signature': 'forged' } }]), { message: /webhooks\[0\]\.headers may not set x-pusher-signature/ });
  t.throws(() => withWebhooks([{ url: 'https://example.com/', headers: { 'Bad Header': 'x' } }]), { message: /config\.apps\[0\]\.webhooks\[0\]\.headers/ });
  t.throws(() => withWebhooks([{ url: 'https://example.com/', events: ['channel_exploded'] }]), { message: /webhooks\[0\]\.events\[0\]/ });
  t.throws(() => withWebhooks([{ url: 'https://example.com/', filter: { channel_name_starts_with: 'x' } }]), { message: /unknown property "channel_name_starts_with"/ });
});

t.test('history rules: checked at startup, each prefix once, every field required', async (t) => {
  const withHistory = (history: unknown[]) => resolveConfig({ apps: [{ id: 'a', key: 'k', secret: 'long-secret', history } as never] });
  t.same(withHistory([{ prefix: 'chat-', size: 100, ttlSeconds: 300 }]).apps[0]?.history, [{ prefix: 'chat-', size: 100, ttlSeconds: 300 }]);
  t.throws(() => withHistory([{ prefix: 'chat-', size: 10, ttlSeconds: 60 }, { prefix: 'chat-', size: 5, ttlSeconds: 60 }]), {
    ...CONFIG_ERROR,
    message: 'config: config.apps[0].history[1].prefix "chat-" is used by an earlier rule, which always wins',
  });
  t.throws(() => withHistory([{ prefix: 'chat-', size: 0, ttlSeconds: 60 }]), { ...CONFIG_ERROR, message: /config\.apps\[0\]\.history\[0\]\.size must be >= 1/ });
  t.throws(() => withHistory([{ prefix: 'chat-', size: 10 }]), { ...CONFIG_ERROR, message: /config\.apps\[0\]\.history\[0\]\.ttlSeconds is required/ });
  t.throws(() => resolveConfig({ historyMaxBytes: 1000 }), { ...CONFIG_ERROR, message: /config\.historyMaxBytes must be >= 65536/ });
});
