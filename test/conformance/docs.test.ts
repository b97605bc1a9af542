import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { APP_ENV, SETTINGS } from '../../src/config.js';
import { HttpErrors, SubscriptionErrors, WsErrors } from '../../src/errors.js';
import configSchema from '../../protocol/config.schema.json' with { type: 'json' };
import { ROOT } from '../helpers/source-files.js';

/** The documents are part of the contract: each names what the code has, and each link leads somewhere. */
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const readme = read('README.md');
const configuration = read('docs/configuration.md');
const protocol = read('protocol/PROTOCOL.md');
const DOCUMENTS = ['README.md', 'protocol/PROTOCOL.md', 'bench/README.md', 'docs/client-sdk.md', 'docs/scaling.md', 'docs/operations.md', 'docs/configuration.md', 'docs/console.md', 'docs/webhooks.md', 'docs/history.md', 'python/README.md'];

t.test('the README is for deciding and starting: at most about 20 KB', async (t) => {
  t.ok(Buffer.byteLength(readme) <= 20_480, `${Buffer.byteLength(readme)} bytes`);
});

t.test('every relative link in the documents names a file that exists', async (t) => {
  for (const document of DOCUMENTS) {
    for (const [, target] of read(document).matchAll(/\]\((?!https?:|#)([^)#\s]+)(?:#[^)]*)?\)/g)) {
      t.ok(existsSync(join(ROOT, dirname(document), target as string)), `${document} → ${target}`);
    }
  }
});

t.test('the README links every page of docs/ and the benchmark page', async (t) => {
  for (const page of ['docs/client-sdk.md', 'docs/scaling.md', 'docs/operations.md', 'docs/configuration.md', 'docs/console.md', 'docs/webhooks.md', 'docs/history.md', 'bench/README.md', 'python/README.md']) t.match(readme, `](${page})`, page);
});

t.test('docs/configuration.md lists every setting, its flag, its variable and its default', async (t) => {
  for (const setting of SETTINGS) {
    t.match(configuration, `| \`${setting.name}\` | \`${setting.flag}\` | \`${setting.env}\` | \`${String(setting.default)}\` |`, setting.name);
  }
  for (const name of Object.values(APP_ENV)) t.match(configuration, name);
});

t.test('docs/configuration.md lists every per-app setting', async (t) => {
  for (const name of Object.keys(configSchema.$defs.app.properties)) {
    if (name === 'id' || name === 'key' || name === 'secret') continue;
    t.match(configuration, `| \`${name}\` | \``, name);
  }
});

t.test('PROTOCOL.md §4 lists every WebSocket code with its name, fatality and catalogue message', async (t) => {
  for (const [name, entry] of Object.entries(WsErrors)) {
    const message = entry.message.replace(/</g, '\\<');
    t.match(protocol, `| ${entry.code} | ${name} | ${entry.fatal ? 'yes' : 'no'} |`, name);
    t.match(protocol, message, `${name}: message`);
  }
});

t.test('PROTOCOL.md §4 lists every subscription refusal type with its status and message', async (t) => {
  for (const [name, entry] of Object.entries(SubscriptionErrors)) {
    if (typeof entry === 'string') continue;
    t.match(protocol, `| ${name} | ${entry.status} | ${entry.message} |`, name);
  }
});

t.test('PROTOCOL.md §4 lists every REST error with its status and message', async (t) => {
  for (const [name, entry] of Object.entries(HttpErrors)) t.match(protocol, `| ${entry.status} | ${name} | ${entry.message} |`, name);
});

t.test('every figure in the README performance summary comes from the latest full benchmark run', async (t) => {
  const results = read('bench/results/full-latest.md');
  const summary = readme.slice(readme.indexOf('## Performance'), readme.indexOf('## Layout'));
  const figures = [...summary.matchAll(/(\d+\.\d+)(×| µs| KB)/g)].map(([, value]) => value as string);
  t.ok(figures.length >= 8, 'the summary has figures');
  for (const figure of figures) t.ok(results.includes(figure), figure);
});
