import { sep } from 'node:path';
import t from 'tap';
import { importClosure, importsOf, sourceFiles } from '../helpers/source-files.js';

/**
 * The layers of src/, bottom first. A module imports from its own folder or from a lower layer, never from
 * a higher one or a sibling of its own layer, so the dependency graph has no cycle between folders and a
 * reader can learn the code bottom-up. The first and last layers are one room each: the wire vocabulary
 * with its error catalogue, and the composition root with its entry points.
 */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['src/protocol/', 'src/errors.ts', 'src/log.ts'],
  ['src/metrics/'],
  ['src/apps/'],
  ['src/limits/'],
  ['src/config.ts'],
  ['src/cluster/'],
  ['src/channels/', 'src/broadcasts/'],
  ['src/webhooks/'],
  ['src/session/', 'src/http/'],
  ['src/console/'],
  ['src/transport/'],
  ['src/gateway-node.ts', 'src/gateway.ts', 'src/main.ts', 'src/index.ts'],
];

/** The files of protocol/ the client SDK may use: plain JavaScript with no server module and no Node API. */
const SDK_PROTOCOL_FILES = ['src/protocol/frames.ts', 'src/protocol/channel-id.ts', 'src/protocol/channel-type.ts', 'src/protocol/close-codes.ts'];

const posix = (path: string) => path.split(sep).join('/');
const server = sourceFiles('src').map(posix).filter((file) => !file.startsWith('src/client/'));
const placeOf = (file: string) => {
  const layer = LAYERS.findIndex((entries) => entries.some((entry) => file === entry || (entry.endsWith('/') && file.startsWith(entry))));
  const room = LAYERS[layer]?.find((entry) => file === entry || file.startsWith(entry));
  return { layer, room: layer === 0 || layer === LAYERS.length - 1 ? `layer ${layer}` : room };
};
const relativeImports = (file: string) => importsOf(file).map(posix).filter((target) => target.startsWith('src/'));

t.test('every server file has a layer', async (t) => {
  t.same(server.filter((file) => placeOf(file).layer < 0), []);
});

t.test('imports go to the same folder or a lower layer', async (t) => {
  const wrong = server.flatMap((file) => {
    const from = placeOf(file);
    return relativeImports(file)
      .filter((target) => {
        const to = placeOf(target);
        return !(to.room === from.room || to.layer < from.layer);
      })
      .map((target) => `${file} → ${target}`);
  });
  t.same(wrong, []);
});

t.test('protocol/ imports nothing above it but the catalogue', async (t) => {
  const allowed = (target: string) => target.startsWith('src/protocol/') || target === 'src/errors.ts';
  const wrong = server.filter((file) => file.startsWith('src/protocol/')).flatMap((file) => relativeImports(file).filter((target) => !allowed(target)).map((target) => `${file} → ${target}`));
  t.same(wrong, []);
});

t.test('uWebSockets.js only under transport/, ioredis only in the Redis cluster files, bullmq only in the Redis webhook queue', async (t) => {
  const importers = (pkg: string) => server.filter((file) => importsOf(file).includes(pkg));
  t.ok(importers('uWebSockets.js').length > 0, 'the scan sees uWS');
  t.same(importers('uWebSockets.js').filter((file) => !file.startsWith('src/transport/')), []);
  t.ok(importers('ioredis').length > 0, 'the scan sees ioredis');
  t.same(importers('ioredis').filter((file) => !/^src\/cluster\/redis-[\w-]+\.ts$/.test(file)), []);
  t.same(importers('bullmq'), ['src/webhooks/redis-delivery-queue.ts']);
});

t.test('the SDK entry points reach client/ and the allowed protocol files only', async (t) => {
  for (const [entry, packages] of [
    ['src/client/index.ts', ['ws']],
    ['src/client/browser.ts', []],
  ] as const) {
    const closure = importClosure([entry]);
    const files = [...closure.files].map(posix);
    t.same(files.filter((file) => !file.startsWith('src/client/') && !SDK_PROTOCOL_FILES.includes(file)), [], `${entry}: no server module`);
    t.ok(files.some((file) => SDK_PROTOCOL_FILES.includes(file)), `${entry}: the scan follows imports into protocol/`);
    t.same([...closure.packages].sort(), [...packages], `${entry}: packages`);
  }
});

t.test('the allowed protocol files import nothing themselves', async (t) => {
  t.same(SDK_PROTOCOL_FILES.flatMap((file) => importsOf(file)), []);
});
