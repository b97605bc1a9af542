import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import t from 'tap';
import { start } from '../../src/client/index.js';
import { DEMO_APP, startGateway } from '../helpers/gateway.js';

/** Debian's Chromium; .ci/run installs it (apt-get install chromium). */
const CHROMIUM = '/usr/bin/chromium';
/** As the machine notes advise: without the background-networking flags Chromium dials Google at startup. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const PAGE = `<!doctype html>
<script type="module">
  import { start } from '/client.js';
  window.run = async (url) => {
    const client = start({ url, key: '${DEMO_APP.key}' });
    await new Promise((resolve) => client.on('online', resolve));
    await client.getChannel('browser').listen('ask', (payload, respond) => respond({ from: 'browser', echo: payload }));
    const responses = await client.getChannel('browser').broadcast('ask', 'hello', 800);
    client.stop();
    return responses;
  };
  window.ready = true;
</script>`;

// Outside CI a machine without Chromium skips this test, saying why; in CI (.ci/run sets CI=1) it must run.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)` : false;

t.test('the browser bundle broadcasts and collects responses in headless Chromium', { skip }, async (t) => {  const running = await startGateway(t);
  // The same entry point `npm run build` bundles to dist/browser/client.js, built here so the test needs no build.
  const bundle = await build({ entryPoints: [new URL('../../src/client/browser.ts', import.meta.url).pathname], bundle: true, format: 'esm', write: false, target: 'es2020' });
  const script = bundle.outputFiles[0]?.text ?? '';
  const site = createServer((req, res) => {
    const isScript = req.url === '/client.js';
    res.writeHead(200, { 'content-type': isScript ? 'text/javascript' : 'text/html' }).end(isScript ? script : PAGE);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => site.close(() => resolve())));

  // A Node client of the same SDK answers too, so the browser hears from both runtimes.
  const node = start({ url: running.wsUrl(), key: DEMO_APP.key });
  t.teardown(() => node.stop());
  await node.getChannel('browser').listen('ask', (_, respond) => respond({ from: 'node' }));

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(`http://127.0.0.1:${(site.address() as { port: number }).port}/`);
  await page.waitForFunction('window.ready === true');
  const responses = (await page.evaluate((url) => (globalThis as unknown as { run(u: string): Promise<unknown[]> }).run(url), running.wsUrl())) as unknown[];
  t.same(
    [...responses].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    [{ echo: 'hello', from: 'browser' }, { from: 'node' }],
    'the browser heard its own listener and the Node client',
  );
  t.same(errors, [], 'no errors in the page');
});
