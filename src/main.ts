#!/usr/bin/env node
import schema from '../protocol/config.schema.json' with { type: 'json' };
import type { App } from './apps/app-registry.js';
import { configFromCli } from './config.js';
import { WsErrors } from './errors.js';
import type { Gateway } from './gateway.js';

/** The built-in app served when none is configured; its secret is in the README for everyone to read. */
const DEMO_APP = schema.properties.apps.default[0] as Pick<App, 'id' | 'secret'>;

/**
 * The CLI: configuration from file, environment and flags; a banner; graceful shutdown on signals. Any
 * failure to start is one line on stderr and exit status 1.
 */
async function main(): Promise<void> {
  // Whoever reads the banner may go away (a pipe to head, a closed terminal): that must not stop the gateway.
  process.stdout.on('error', () => {});
  const cli = configFromCli(process.argv.slice(2), process.env);
  if ('help' in cli) {
    process.stdout.write(`${cli.help}\n`);
    return;
  }
  // Loaded once the configuration is known to be good: a bad one is reported without loading uWS, pino and the rest.
  const [{ createGateway }, uws] = await Promise.all([import('./gateway.js'), import('./transport/uws.js')]);
  const gateway = createGateway(cli.config);
  const port = await gateway.listen();
  process.stdout.write(banner(gateway, port, uws));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: closing connections with ${WsErrors.ServerRestarting.code} so clients reconnect elsewhere...\n`);
    void gateway.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Where to connect and publish. Secrets are never printed: the apps' own come from their configuration. */
function banner(gateway: Gateway, port: number, { isNativeUws, FALLBACK_WARNING }: { isNativeUws: boolean; FALLBACK_WARNING: string }): string {
  const { host, apps } = gateway.config;
  const shown = shownHost(host);
  const [ws, http] = gateway.isSecure ? ['wss', 'https'] : ['ws', 'http'];
  const first = apps[0];
  const lines = [
    '',
    `broadcastt gateway listening on ${host}:${port}`,
    `  uWebSockets.js: ${isNativeUws ? 'native' : `FALLBACK — ${FALLBACK_WARNING}`}`,
    ...apps.map((app) => {
      const consumerKeys = app.consumerKeys.length > 0 ? `  consumer keys ${app.consumerKeys.join(', ')}` : '';
      const demo = app.id === DEMO_APP.id && app.secret === DEMO_APP.secret ? '  (the demo app: its secret is public, in the README)' : '';
      return `  app id ${app.id}  key ${app.key}${consumerKeys}${demo}`;
    }),
    '',
    `  connect:  ${ws}://${shown}:${port}/app/${first?.key}            (add ?protocol=7 for the pusher: dialect)`,
    `  publish:  POST ${http}://${shown}:${port}/apps/${first?.id}/events  (signed with the app's secret; see README)`,
    `  health:   ${http}://${shown}:${port}/`,
    ...(gateway.config.console ? [`  console:  ${http}://${shown}:${port}/console  (sign in with an app id and its secret)`] : []),
    ...metricsLine(gateway),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** Where Prometheus scrapes, when metrics are on (docs/operations.md); plain HTTP on a port of its own. */
function metricsLine(gateway: Gateway): string[] {
  const port = gateway.metricsPort();
  if (port === undefined) return [];
  const host = gateway.config.metricsHost === '' ? gateway.config.host : gateway.config.metricsHost;
  return [`  metrics:  http://${shownHost(host)}:${port}/metrics`];
}

/** A listening host as a URL can reach it: the wildcard addresses are reached at localhost. */
function shownHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host;
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const prefix = error instanceof Error && error.name === 'ConfigError' ? 'configuration error' : 'the gateway did not start';
  process.stderr.write(`${prefix}: ${message.split('\n')[0]}\n`);
  process.exit(1);
});
