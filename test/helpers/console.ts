import { buildConsole } from '../../console/build.js';
import { describeErrors, validatorFor } from '../../src/protocol/schemas.js';
import { DEMO_APP, httpRequest, type JsonBody, type Running } from './gateway.js';
import { decodeServerFrame } from './server-frames.js';
import { type Frame, TestClient } from './ws-client.js';

let built: Promise<Record<string, number>> | undefined;

/**
 * Builds the console page into dist/console/ (once per test process), where a gateway started from the
 * sources finds it: the tests serve the page as it is now, not as the last `npm run build` left it.
 */
export function consolePageBuilt(): Promise<Record<string, number>> {
  built ??= buildConsole();
  return built;
}

/** Signs in to the console of `running` and returns the answer (`token`, `expiresAt`, `appId`, `key`). */
export async function consoleSignIn(running: Pick<Running, 'http'>, appId: string = DEMO_APP.id, secret: string = DEMO_APP.secret): Promise<{ status: number; body: JsonBody }> {
  return httpRequest(`${running.http}/console/api/session`, 'POST', JSON.stringify({ appId, secret }));
}

const consoleServerFrame = validatorFor('console.schema.json#/$defs/serverFrame');

/**
 * Decodes a frame of a console socket and checks it against protocol/console.schema.json: the console's own
 * frames with their `data`'s contentSchema, and channel frames as every server frame is checked.
 */
export function decodeConsoleServerFrame(text: string): Frame {
  const frame = JSON.parse(text) as { event: string; data: string };
  if (!consoleServerFrame(frame)) throw new Error(`frame does not match console.schema.json (${describeErrors(consoleServerFrame.errors, 'frame')}): ${text}`);
  if (!frame.event.startsWith('console:')) return decodeServerFrame(text);
  const def = frame.event.slice('console:'.length);
  const data = JSON.parse(frame.data) as unknown;
  const content = validatorFor(`console.schema.json#/$defs/${def}/properties/data/contentSchema`);
  if (!content(data)) throw new Error(`data of ${frame.event} is invalid (${describeErrors(content.errors, 'data')}): ${text}`);
  return { ...frame, data: data as Frame['data'] };
}

/** A socket on /console/socket whose every frame is checked against the console's schema. */
export function openConsoleSocket(running: Pick<Running, 'wsUrl'>): Promise<TestClient> {
  return TestClient.connect(running.wsUrl('/console/socket'), {}, decodeConsoleServerFrame);
}

/** A console socket signed in with `token`, after its console:ready. */
export async function consoleSocket(running: Pick<Running, 'wsUrl'>, token: string): Promise<TestClient> {
  const client = await openConsoleSocket(running);
  client.send({ event: 'console:auth', data: { token } });
  await client.next('console:ready');
  return client;
}
