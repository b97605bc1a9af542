#!/usr/bin/env node
import { ConfigError, configFromCli } from './config.js';
import { WsErrors } from './errors.js';
import { createGateway } from './gateway.js';
import { FALLBACK_WARNING, isNativeUws } from './transport/uws.js';

/** The CLI: configuration from file, environment and flags; a banner; graceful shutdown on signals. */
async function main(): Promise<void> {
  const cli = configFromCli(process.argv.slice(2), process.env);
  if ('help' in cli) {
    process.stdout.write(`${cli.help}\n`);
    return;
  }
  const gateway = createGateway(cli.config);
  const port = await gateway.listen();
  process.stdout.write(banner(gateway.config.host, port, gateway.config.apps));

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

function banner(host: string, port: number, apps: ReadonlyArray<{ id: string; key: string; secret: string; consumerKeys: readonly string[] }>): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const first = apps[0];
  const lines = [
    '',
    `broadcastt gateway listening on ${host}:${port}`,
    `  uWebSockets.js: ${isNativeUws ? 'native' : `FALLBACK — ${FALLBACK_WARNING}`}`,
    ...apps.map((app) => {
      const consumerKeys = app.consumerKeys.length > 0 ? `  consumer keys ${app.consumerKeys.join(', ')}` : '';
      return `  app id ${app.id}  key ${app.key}  secret ${app.secret}${consumerKeys}`;
    }),
    '',
    `  connect:  ws://${shown}:${port}/app/${first?.key}            (add ?protocol=7 for the pusher: dialect)`,
    `  publish:  POST http://${shown}:${port}/apps/${first?.id}/events  (signed; see README)`,
    `  health:   http://${shown}:${port}/`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? `configuration error: ${error.message}` : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
