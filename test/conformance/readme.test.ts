import { readFileSync } from 'node:fs';
import t from 'tap';
import { APP_ENV, SETTINGS } from '../../src/config.js';
import { HttpErrors, WsErrors } from '../../src/errors.js';
import configSchema from '../../protocol/config.schema.json' with { type: 'json' };

/** The README is part of the contract: it must name every setting and every error code the code has. */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

t.test('the README configuration table lists every setting, its flag and its variable', async (t) => {
  for (const setting of SETTINGS) {
    t.match(readme, `| \`${setting.name}\` | \`${setting.flag}\` | \`${setting.env}\` | \`${String(setting.default)}\` |`, setting.name);
  }
  for (const name of Object.values(APP_ENV)) t.match(readme, name);
});

t.test('the README app table lists every per-app setting', async (t) => {
  for (const name of Object.keys(configSchema.$defs.app.properties)) {
    if (name === 'id' || name === 'key' || name === 'secret') continue;
    t.match(readme, `| \`${name}\` | \``, name);
  }
});

t.test('the README error table lists every WebSocket code with its name', async (t) => {
  for (const [name, entry] of Object.entries(WsErrors)) t.match(readme, `| ${entry.code} | ${name}`, name);
});

t.test('the README names every REST error status', async (t) => {
  for (const entry of Object.values(HttpErrors)) t.match(readme, String(entry.status));
});
