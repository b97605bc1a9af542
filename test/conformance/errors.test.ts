import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import ts from 'typescript';
import catalogue from '../../protocol/errors.json' with { type: 'json' };
import { HttpError, HttpErrors, ProtocolError, WsErrors, type WsErrorName, reconnectClassOf } from '../../src/errors.js';
import { CLOSE_CODE_CLASSES } from '../../src/protocol/close-codes.js';
import { ROOT, sourceFiles } from '../helpers/source-files.js';

const wsEntries = Object.entries(WsErrors) as Array<[WsErrorName, (typeof WsErrors)[WsErrorName]]>;

t.test('the reconnect classes', async (t) => {
  t.test('are ordered, contiguous and span 4000–4399', async (t) => {
    const classes = catalogue.classes;
    t.equal(classes[0]?.from, 4000);
    t.equal(classes.at(-1)?.to, 4399);
    for (let i = 1; i < classes.length; i++) t.equal(classes[i]?.from, (classes[i - 1]?.to ?? 0) + 1, `class ${i} starts where ${i - 1} ends`);
  });

  t.test('reconnectClassOf maps each range to its class', async (t) => {
    for (const c of catalogue.classes) {
      t.equal(reconnectClassOf(c.from), c.reconnect, `${c.from}`);
      t.equal(reconnectClassOf(c.to), c.reconnect, `${c.to}`);
    }
    t.equal(reconnectClassOf(WsErrors.AppNotFound.code), 'never');
    t.equal(reconnectClassOf(WsErrors.SlowConsumer.code), 'backoff');
    t.equal(reconnectClassOf(WsErrors.PongNotReceived.code), 'immediately');
    t.equal(reconnectClassOf(WsErrors.InvalidMessage.code), 'none');
  });

  t.test('reconnectClassOf refuses codes outside every class', async (t) => {
    for (const code of [1000, 1009, 3999, 4400]) t.throws(() => reconnectClassOf(code), RangeError, `${code}`);
  });
});

t.test('websocket error codes', async (t) => {
  t.test('each lies in a class range', async (t) => {
    for (const [name, entry] of wsEntries) {
      t.ok(catalogue.classes.some((c) => entry.code >= c.from && entry.code <= c.to), `${name} ${entry.code}`);
    }
  });

  t.test('are unique', async (t) => {
    const codes = wsEntries.map(([, entry]) => entry.code);
    t.equal(new Set(codes).size, codes.length);
  });

  t.test('fatal ones are below 4300, non-fatal ones at or above it', async (t) => {
    for (const [name, entry] of wsEntries) {
      if (entry.fatal) t.ok(entry.code < 4300, `${name} ${entry.code} is fatal`);
      else t.ok(entry.code >= 4300, `${name} ${entry.code} is non-fatal`);
    }
  });

  t.test('fatal means a reconnect class other than none', async (t) => {
    for (const [name, entry] of wsEntries) t.equal(reconnectClassOf(entry.code) !== 'none', entry.fatal, name);
  });

  t.test('each has a message', async (t) => {
    for (const [name, entry] of wsEntries) t.ok(entry.message.length > 0, name);
  });
});

t.test('HTTP errors have a 4xx or 5xx status and a message', async (t) => {
  for (const [name, entry] of Object.entries(HttpErrors)) {
    t.ok(entry.status >= 400 && entry.status <= 599, `${name} ${entry.status}`);
    t.ok(entry.message.length > 0, name);
  }
});

t.test('ProtocolError and HttpError take code, fatality, status and message from the catalogue', async (t) => {
  for (const [name, entry] of wsEntries) {
    const plain = new ProtocolError(name);
    t.match(plain, { name: 'ProtocolError', kind: name, code: entry.code, fatal: entry.fatal, message: entry.message }, name);
    t.equal(new ProtocolError(name, 'why').message, `${entry.message}: why`);
  }
  const http = new HttpError('PayloadTooLarge', 'body.data is big');
  t.match(http, { name: 'HttpError', status: HttpErrors.PayloadTooLarge.status, message: `${HttpErrors.PayloadTooLarge.message}: body.data is big` });
});

/** Every .ts file under `dir`, as paths relative to the repository. */
/** Numeric literals in `text` (code, not comments or strings) that are `inRange`, as "line: value". */
function numericLiteralsIn(name: string, text: string, inRange: (value: number) => boolean): string[] {
  const source = ts.createSourceFile(name, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isNumericLiteral(node) && inRange(Number(node.text))) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      found.push(`${name}:${line + 1} ${node.text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const numericLiterals = (file: string, inRange: (value: number) => boolean) =>
  numericLiteralsIn(file, readFileSync(join(ROOT, file), 'utf8'), inRange);

t.test('the close-code classes the client SDK uses are the catalogue\'s', async (t) => {
  t.same(
    CLOSE_CODE_CLASSES,
    catalogue.classes.map(({ from, to, reconnect }) => ({ from, to, reconnect })),
  );
});

/** The catalogue's accessor and the one mirror of its classes (for the browser bundle) may hold codes. */
const CATALOGUE_FILES = new Set([join('src', 'errors.ts'), join('src', 'protocol', 'close-codes.ts')]);

t.test('no error code is written as a literal in src/ outside the catalogue files', async (t) => {
  const files = sourceFiles('src').filter((file) => !CATALOGUE_FILES.has(file));
  t.ok(files.length > 10, 'found the sources');
  const wsCodes = files.flatMap((file) => numericLiterals(file, (n) => n >= 4000 && n <= 4399));
  t.same(wsCodes, [], 'no WebSocket error code literal');
  const httpStatuses = files.flatMap((file) => numericLiterals(file, (n) => n >= 400 && n <= 599));
  t.same(httpStatuses, [], 'no HTTP error status literal');
});

t.test('the literal scan finds literals in code, not in comments or strings', async (t) => {
  const text = 'const a = 4101; // 4201\nconst b = "4300"; /* 4004 */\nclose(4_005, 0xfa6);\n';
  t.same(numericLiteralsIn('probe.ts', text, (n) => n >= 4000 && n <= 4399), ['probe.ts:1 4101', 'probe.ts:3 4005', 'probe.ts:3 4006']);
});
