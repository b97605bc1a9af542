import { spawn } from 'node:child_process';
import t from 'tap';
import { startRedisCluster } from '../helpers/redis-cluster.js';

/**
 * The cluster suite again, on a Redis Cluster this file starts (three masters, D21): each file runs in a process
 * of its own with REDIS_URL listing the cluster's nodes and REDIS_CLUSTER=true, so its Redis classes and gateway
 * processes use ioredis' cluster client (test/helpers/redis.ts). The tests that stop, freeze or restart a
 * standalone Redis of their own skip themselves there.
 */
const FILES = [
  'test/integration/broker-contract.test.ts',
  'test/integration/cluster-store-contract.test.ts',
  'test/integration/history-store-contract.test.ts',
  'test/integration/cluster-fan-out.test.ts',
  'test/integration/cluster-presence.test.ts',
  'test/integration/cluster-pusher-features.test.ts',
  'test/integration/cluster-history.test.ts',
  'test/integration/cluster-webhooks.test.ts',
  'test/integration/cluster-interest.test.ts',
];
/** The files take about a minute together on standalone Redis; a Redis Cluster adds redirections, not minutes. */
const FILE_TIMEOUT_MS = 120_000;

t.setTimeout(FILES.length * FILE_TIMEOUT_MS);
const urls = await startRedisCluster(t);

for (const file of FILES) {
  t.test(`${file} on a Redis Cluster of three masters`, async (t) => {
    const { code, output } = await runFile(file, urls);
    t.equal(code, 0, code === 0 ? 'passes' : `fails:\n${output}`);
  });
}

function runFile(file: string, urls: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // Not a child of this file's tap runner: it runs as a plain script, its own TAP on stdout.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TAP') && name !== 'NODE_OPTIONS'));
    const child = spawn(process.execPath, ['--import=tsx', file], { env: { ...env, REDIS_URL: urls, REDIS_CLUSTER: 'true' } });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), FILE_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.split('\n').filter((line) => /not ok|Error|error|#/.test(line)).slice(0, 80).join('\n') });
    });
  });
}
