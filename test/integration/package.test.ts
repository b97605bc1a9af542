import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { waitFor } from '../helpers/cli.js';
import { ROOT } from '../helpers/source-files.js';
import { TestClient } from '../helpers/ws-client.js';

const run = promisify(execFile);

/**
 * The package as users get it: `npm pack` (which builds it through `prepare`, as a git install does), then
 * installed into an empty project from the tarball (from npm's cache where it can), imported and started.
 */
t.test('a tarball install imports the package and starts the gateway with npx', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-package-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const tarball = join(dir, stdout.trim().split('\n').at(-1) as string);

  const project = join(dir, 'project');
  await run('mkdir', [project]);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: project });

  const probe = `import { createGateway, channelId } from 'broadcastt-gateway';
import { start } from 'broadcastt-gateway/client';
const gateway = createGateway({ logLevel: 'silent' });
const port = await gateway.listen(0, '127.0.0.1');
const page = await fetch(\`http://127.0.0.1:\${port}/console\`);
const script = /src="([^"]+)"/.exec(await page.text())?.[1];
const bundle = await fetch(\`http://127.0.0.1:\${port}\${script}\`);
console.log(typeof start, channelId('app-id', 'lobby', { consumer: true }), port > 0, page.status, bundle.status, bundle.headers.get('content-type'));
await gateway.close();
process.exit(0);`;
  await writeFile(join(project, 'probe.mjs'), probe);
  const imported = await run(process.execPath, ['probe.mjs'], { cwd: project });
  t.equal(imported.stdout.trim(), 'function WyJhcHAtaWQiLCJsb2JieSIsMCwxXQ== true 200 200 text/javascript; charset=utf-8', 'the package and its client entry import and run, and the console page ships with it');

  // npx runs the gateway as a child of its own: a process group of their own lets the test stop both.
  const cli = spawn('npx', ['--no', '--', 'broadcastt-gateway', '--port', '0'], { cwd: project, detached: true });
  t.teardown(() => process.kill(-(cli.pid as number), 'SIGKILL'));
  const [, port] = await waitFor(cli.stdout, /listening on 127\.0\.0\.1:(\d+)/);
  const { client } = await TestClient.established(`ws://127.0.0.1:${port}/app/app-key`);
  t.pass('npx broadcastt-gateway serves the demo app');
  client.close();
});
