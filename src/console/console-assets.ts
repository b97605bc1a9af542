import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ApiResponse } from '../http/api-types.js';

/**
 * The console page's built files (`npm run build` bundles console/ into dist/console/): from the source
 * tree (src/console/ → dist/console/) or from the package (dist/src/console/ → dist/console/).
 */
const BUILT_DIRS = [new URL('../../dist/console/', import.meta.url), new URL('../../console/', import.meta.url)];
const FILES = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' } as const;
type FileName = keyof typeof FILES;

/**
 * The page runs only its own script and style, talks only to its own origin (REST and the console socket;
 * CSP 3 lets 'self' cover ws: and wss: of the same host), and cannot be framed.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' } as const;

export interface ConsoleAssets {
  /** The HTML page (never cached: it names the current version of the files). */
  readonly page: ApiResponse;
  /** app.js or app.css; cached for a year when asked for with the current version. */
  file(name: string, query: string): ApiResponse | undefined;
  /** Bytes of each built file, as served. */
  readonly sizes: Readonly<Record<FileName, number>>;
}

/** The built files, read once, or undefined when they have not been built. */
export function loadConsoleAssets(dirs: readonly URL[] = BUILT_DIRS): ConsoleAssets | undefined {
  const dir = dirs.find((candidate) => Object.keys(FILES).every((name) => existsSync(new URL(name, candidate))));
  if (!dir) return undefined;
  const contents = Object.fromEntries(Object.keys(FILES).map((name) => [name, readFileSync(new URL(name, dir), 'utf8')])) as Record<FileName, string>;
  const version = createHash('sha256').update(contents['app.js']).update(contents['app.css']).digest('hex').slice(0, 12);
  const page: ApiResponse = {
    status: 200,
    body: pageHtml(version),
    headers: { ...COMMON_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': CONTENT_SECURITY_POLICY, 'x-frame-options': 'DENY' },
  };
  return {
    page,
    file(name, query) {
      if (!(name in FILES)) return undefined;
      const cache = new URLSearchParams(query).get('v') === version ? 'public, max-age=31536000, immutable' : 'no-cache';
      return { status: 200, body: contents[name as FileName], headers: { ...COMMON_HEADERS, 'content-type': FILES[name as FileName], 'cache-control': cache } };
    },
    sizes: { 'app.js': Buffer.byteLength(contents['app.js']), 'app.css': Buffer.byteLength(contents['app.css']) },
  };
}

function pageHtml(version: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Console · broadcastt gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/app.css?v=${version}">
<script type="module" src="/console/app.js?v=${version}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The console needs JavaScript.</noscript>
</body>
</html>
`;
}
