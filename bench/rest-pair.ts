// Server CPU per signed REST request against the unsigned HTTP ceiling, measured side by side:
// `npm run bench:rest-pair` (about a minute; needs Debian's `wrk`). Both servers run at once, with no
// subscribers, and wrk loads them in alternating slices of a second, each slice's CPU read from /proc. A pair
// of slices is a second or two apart, so both servers see the same machine: on a shared 2-core VM, where the
// full run's pairs are ~20 s apart and the ceiling's own cost moves by ±30 % between them, the median ratio
// here moves by a few percent between runs (a busy host still upsets single pairs: read the spread it prints).
// Options: --pairs=20 --slice=1 (seconds) --connections=8.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signRequestQuery } from '../src/http/request-signature.js';
import { stampedPayload } from './load/protocol.js';
import { cpuMicros } from './lib/proc.js';
import { type ServerHandle, startServer } from './lib/processes.js';
import { PAYLOAD_BYTES } from './lib/scenarios.js';
import { median } from './lib/stats.js';
import { BENCH_APP, EVENT_NAME, EVENTS_PATH } from './servers/control.js';

const option = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const PAIRS = option('pairs', 20);
const SLICE_SECONDS = option('slice', 1);
const CONNECTIONS = option('connections', 8);
const WARM_UP_SECONDS = 2;

if (spawnSync('wrk', ['--version']).error) {
  console.error('bench:rest-pair needs wrk, the HTTP load generator (Debian: apt-get install wrk).');
  process.exit(1);
}

/** wrk's request: one signed Pusher trigger to a channel nobody is on, replayed (its timestamp holds for 600 s). */
function writeRequestScript(dir: string): string {
  const body = JSON.stringify({ name: EVENT_NAME, channel: 'nobody', data: stampedPayload(PAYLOAD_BYTES) });
  const query = signRequestQuery(BENCH_APP, 'POST', EVENTS_PATH, body);
  const file = path.join(dir, 'signed-post.lua');
  const lua = ['wrk.method = "POST"', `wrk.body = ${JSON.stringify(body)}`, 'wrk.headers["Content-Type"] = "application/json"', `wrk.path = "${EVENTS_PATH}?${query}"`];
  writeFileSync(file, `${lua.join('\n')}\n`);
  return file;
}

/** Loads `server` for `seconds`; the requests it answered, refusing the run if any answer was not 2xx. */
function load(server: ServerHandle, script: string, seconds: number): number {
  const wrk = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, `http://127.0.0.1:${server.port}`], { encoding: 'utf8' });
  const requests = /(\d+) requests in/.exec(wrk.stdout)?.[1];
  if (wrk.status !== 0 || requests === undefined || /Non-2xx/.test(wrk.stdout)) throw new Error(`wrk failed or was refused:\n${wrk.stdout}${wrk.stderr}`);
  return Number(requests);
}

/** Server µs per request over one slice. */
function slice(server: ServerHandle, script: string): number {
  const before = cpuMicros(server.pid);
  const requests = load(server, script, SLICE_SECONDS);
  return (cpuMicros(server.pid) - before) / requests;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'rest-pair-'));
const [ceiling, gateway] = [await startServer('uws-ceiling'), await startServer('gateway')] as const;
try {
  const script = writeRequestScript(dir);
  for (const server of [ceiling, gateway]) load(server, script, WARM_UP_SECONDS);
  const rows: Array<{ ceiling: number; gateway: number }> = [];
  for (let i = 0; i < PAIRS; i++) {
    // Alternating which goes first, so a drift within a pair falls on each server alike.
    if (i % 2 === 0) {
      const first = slice(ceiling, script);
      rows.push({ ceiling: first, gateway: slice(gateway, script) });
    } else {
      const first = slice(gateway, script);
      rows.push({ ceiling: slice(ceiling, script), gateway: first });
    }
  }
  const ratios = rows.map((row) => row.gateway / row.ceiling);
  console.log(`# signed REST against an unsigned POST, no subscribers: ${PAIRS} pairs of ${SLICE_SECONDS} s slices, wrk -c${CONNECTIONS}\n`);
  console.log('| pair | ceiling µs/request | gateway µs/request | ratio |\n|---:|---:|---:|---:|');
  rows.forEach((row, i) => console.log(`| ${i + 1} | ${row.ceiling.toFixed(1)} | ${row.gateway.toFixed(1)} | ${(ratios[i] as number).toFixed(2)} |`));
  const spread = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
  console.log(`\nmedian: ceiling ${median(rows.map((r) => r.ceiling)).toFixed(1)} µs, gateway ${median(rows.map((r) => r.gateway)).toFixed(1)} µs, ratio ${median(ratios).toFixed(2)}× (pairs ${spread})`);
} finally {
  await Promise.all([ceiling.stop(), gateway.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
