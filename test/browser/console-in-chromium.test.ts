import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import t from 'tap';
import { WsErrors } from '../../src/errors.js';
import { authenticateUser } from '../../src/protocol/channel-auth.js';
import { consolePageBuilt } from '../helpers/console.js';
import { DEMO_APP, signedGet, signedPost, startGateway } from '../helpers/gateway.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { TestClient } from '../helpers/ws-client.js';

/** Debian's Chromium; .ci/run installs it (apt-get install chromium). */
const CHROMIUM = '/usr/bin/chromium';
/** As the machine notes advise: without the background-networking flags Chromium dials Google at startup. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Where the test leaves its picture of the console (outside the repository; set CONSOLE_SCREENSHOT to choose). */
const SCREENSHOT = process.env.CONSOLE_SCREENSHOT ?? join(tmpdir(), 'broadcastt-console.png');

// Outside CI a machine without Chromium skips this test, saying why; in CI (.ci/run sets CI=1) it must run.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)` : false;

/** Fills and submits a form of the page, found by its accessible name. */
async function submit(page: Page, form: string, fields: Record<string, string>, button: string): Promise<void> {
  const scope = page.getByRole('form', { name: form });
  for (const [name, value] of Object.entries(fields)) await scope.locator(`[name="${name}"]`).fill(value);
  await scope.getByRole('button', { name: button }).click();
}

t.test('the console in headless Chromium: sign in, watch, publish, broadcast, terminate', { skip, timeout: 120_000 }, async (t) => {
  await consolePageBuilt();
  // The demo app, with its webhooks going to a real receiver that refuses the first request.
  const receiver = await startReceiver(t, (n) => (n === 0 ? 500 : 200));
  const webhooks = { webhookBatchDelayMs: 20, webhookRetryBaseMs: 50, webhooks: [{ url: receiver.url }] };
  const running = await startGateway(t, { apps: [{ ...DEMO_APP, ...webhooks }], console: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  await page.goto(`${running.http}/console`);

  await t.test('wrong credentials are refused, and the secret field is emptied', async (t) => {
    await page.getByLabel('App id').fill(DEMO_APP.id);
    await page.getByLabel('Secret').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong app id or secret' }).waitFor();
    t.equal(await page.getByLabel('Secret').inputValue(), '');
    problems.length = 0; // the browser logs the refused request itself as an error
  });

  await t.test('signing in opens the live console; the page keeps a token, never the secret', async (t) => {
    await page.getByLabel('Secret').fill(DEMO_APP.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.status-live').waitFor();
    // Evaluated in the page (as text: this file is type-checked without the DOM).
    const kept = (await page.evaluate('JSON.stringify({ session: { ...sessionStorage }, local: { ...localStorage }, html: document.documentElement.outerHTML })')) as string;
    t.notMatch(kept, DEMO_APP.secret, 'no secret in storage or in the page');
    const stored = (JSON.parse(kept) as { session: Record<string, string> }).session['broadcastt-console-session'] ?? '{}';
    t.match(JSON.parse(stored), { token: /^v1\./, appId: DEMO_APP.id }, 'the token is kept for the tab');
  });

  const listener = await TestClient.established(running.wsUrl());
  t.teardown(() => listener.client.close());
  const client = listener.client;
  client.send({ event: 'broadcastt:signin', data: authenticateUser(DEMO_APP, listener.socketId, { id: 'ann' }) });
  await client.next('broadcastt:signin_success');
  client.send({ event: 'broadcastt:subscribe', data: { channel: 'lobby' } });
  await client.next('broadcastt_internal:subscription_succeeded');

  await t.test('watching a channel shows an event published over REST', async (t) => {
    await page.getByLabel('Channel to watch').fill('lobby');
    await page.getByRole('button', { name: 'Watch' }).click();
    await page.getByRole('heading', { name: /Live log of lobby/i }).waitFor();
    t.equal((await signedPost(running, `/apps/${DEMO_APP.id}/events`, { name: 'from-rest', channel: 'lobby', data: '{"price":42}' })).status, 200);
    const entry = page.locator('.entry', { hasText: 'from-rest' });
    await entry.waitFor();
    t.match(await entry.textContent(), /event.*from-rest.*\{"price":42\}/);
    await client.next('from-rest');
  });

  await t.test('the occupied channels count the app\'s client, not the console', async (t) => {
    await page.locator('.channels tr', { hasText: 'lobby' }).waitFor();
    t.match(await page.locator('.channels tr', { hasText: 'lobby' }).textContent(), /lobby\s*1/);
    t.same((await signedGet(running, `/apps/${DEMO_APP.id}/channels/lobby`, { info: 'subscription_count' })).body, { occupied: true, subscription_count: 1 });
  });

  await t.test('an event published from the page reaches a real WebSocket client', async (t) => {
    await submit(page, 'Publish an event', { event: 'from-page', data: '{"hello":"client"}' }, 'Publish');
    t.match(await client.next('from-page'), { channel: 'lobby', data: { hello: 'client' } });
    await page.locator('.entry', { hasText: 'from-page' }).waitFor();
  });

  await t.test('a broadcast from the page gets the client\'s response', async (t) => {
    await submit(page, 'Send a broadcast', { name: 'who', payload: '{"q":"name?"}', timeout: '1500' }, 'Broadcast');
    const broadcast = await client.next('who');
    t.same(broadcast.data, { q: 'name?' });
    client.send({ event: 'broadcastt:response', data: { id: broadcast.id, channel: 'lobby', payload: { name: 'ann' } } });
    const result = page.getByRole('form', { name: 'Send a broadcast' }).getByRole('status');
    await result.filter({ hasText: '1 response' }).waitFor();
    t.match(await result.textContent(), /\{"name":"ann"\}/, 'the response, shown with the answer');
    await page.locator('.entry.kind-response', { hasText: '{"name":"ann"}' }).waitFor();
    await page.locator('.entry.kind-broadcast', { hasText: 'who' }).waitFor();
    t.pass('the broadcast and its response are in the live log');
  });

  await t.test('the webhook panel lists the request lobby\'s channel_occupied made: refused once, then delivered', async (t) => {
    const panel = page.getByRole('region', { name: 'Webhook deliveries' });
    await panel.locator('.outcome.delivered').waitFor();
    const rows = await panel.locator('tbody tr').allTextContents();
    t.match(rows, [/delivered · \d+ ms.*channel_occupied/, /failed \(retried later\) · \d+ ms · answered 500.*channel_occupied/]);
    t.equal(receiver.requests.length, 2);
  });

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  t.comment(`screenshot: ${SCREENSHOT}`);

  await t.test('terminating a user from the page closes their connections', async (t) => {
    await submit(page, "Terminate a user's connections", { userId: 'ann' }, 'Terminate');
    t.equal((await client.closed).code, WsErrors.Unauthorized.code);
    await page.getByText('Closed the connections of user ann').waitFor();
  });

  t.same(problems, [], 'no errors in the page (CSP included)');
});
