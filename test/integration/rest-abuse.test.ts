import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { HttpErrors } from '../../src/errors.js';
import { signRequestQuery } from '../../src/http/request-signature.js';
import { runCli, waitFor } from '../helpers/cli.js';
import { DEMO_APP, httpRequest, signedPost } from '../helpers/gateway.js';
import { until } from '../helpers/ws-client.js';

const DECLARED = 1024 * 1024;
const SENT = 900 * 1024;

function rssMB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** A gateway process of the test's own, as users run it, and where to reach it. */
async function gateway(t: Test, args: string[] = []) {
  const child = runCli(['--port', '0', '--host', '127.0.0.1', '--log-level', 'warn', ...args]);
  t.teardown(() => child.kill('SIGKILL'));
  const [, port] = await waitFor(child.stdout, /listening on 127\.0\.0\.1:(\d+)/);
  return { pid: child.pid as number, port: Number(port), http: `http://127.0.0.1:${port}` };
}

/**
 * A client that declares a 1 MB body, sends 900 KB of it and stalls; resolves with the status line the server
 * answered, if it answered, once the server has read what it will.
 */
function stalledUpload(port: number, path: string): { socket: Socket; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${DECLARED}\r\n\r\n`);
  socket.write(Buffer.alloc(SENT, 0x20));
  const answer = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\r\n')) resolve(text.slice(0, text.indexOf('\r\n')));
    });
    socket.on('close', () => resolve(text === '' ? 'closed' : text.slice(0, text.indexOf('\r\n'))));
  });
  return { socket, answer };
}

t.test('bodies to unknown routes or of unknown apps are refused without being read; memory comes back', async (t) => {
  const node = await gateway(t);
  const before = rssMB(node.pid);
  const uploads = Array.from({ length: 100 }, (_, i) => stalledUpload(node.port, i % 2 ? `/apps/${DEMO_APP.id}/nowhere` : '/apps/ghost/events'));
  const answers = await Promise.all(uploads.map((u) => u.answer));
  // Answered at once and closed: a client still sending may see the close before the 404 (a reset).
  t.ok(answers.every((line) => line === 'HTTP/1.1 404 Not Found' || line === 'closed'), 'each is answered 404 and closed at once, unread');
  t.ok(answers.filter((line) => line.includes('404')).length > 0, 'the 404 arrives where the client reads it');
  const peak = rssMB(node.pid);
  t.ok(peak - before < 40, `RSS ${before.toFixed(0)} → ${peak.toFixed(0)} MB for 100 × 900 KB of unwanted bodies`);
  for (const u of uploads) u.socket.destroy();
  t.equal((await signedPost(node, `/apps/${DEMO_APP.id}/events`, { name: 'e', channel: 'x', data: '{}' })).status, 200, 'the gateway carries on');
});

t.test('the bytes of bodies being read are bounded; beyond, 503; what stalled clients held comes back when they go', async (t) => {
  const node = await gateway(t, ['--max-request-bytes-in-flight', String(4 * 1024 * 1024), '--max-request-bytes', String(DECLARED)]);
  const path = `/apps/${DEMO_APP.id}/events`;
  // Signed for a body it never finishes sending: the head passes, so the body is read, within the budget.
  const query = signRequestQuery(DEMO_APP, 'POST', path, 'x'.repeat(DECLARED));
  const before = rssMB(node.pid);
  const uploads = Array.from({ length: 20 }, () => stalledUpload(node.port, `${path}?${query}`));
  const answers: string[] = [];
  for (const u of uploads) void u.answer.then((line) => answers.push(line));
  // 4 MB holds four of the 900 KB bodies: the others are refused as the budget runs out.
  await until(() => answers.length >= uploads.length - 5, 'the uploads over the budget to be refused');
  t.same([...new Set(answers)], [`HTTP/1.1 ${HttpErrors.ServerBusy.status} Service Unavailable`], `${answers.length} of 20 got 503`);
  const peak = rssMB(node.pid);
  t.ok(peak - before < 40, `RSS ${before.toFixed(0)} → ${peak.toFixed(0)} MB with 20 stalled 1 MB uploads`);
  for (const u of uploads) u.socket.destroy();
  t.equal((await signedPost(node, path, { name: 'e', channel: 'x', data: '{}' })).status, 200, 'the budget is back once they have gone');
});

t.test('a request with two Content-Length headers is refused (RFC 9112 §6.3)', async (t) => {
  const node = await gateway(t);
  const socket = connect(node.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.write(`POST /apps/${DEMO_APP.id}/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}`);
  const reply = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  t.match(reply, /^HTTP\/1\.1 400 /);
  t.match(reply, /more than one Content-Length header/);
  t.equal((await httpRequest(`${node.http}/`)).status, 200);
});
