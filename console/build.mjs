// Bundles the console page (console/src, Preact) into dist/console/app.js and app.css: `npm run build:console`.
// The gateway serves those two files from /console (src/console/console-assets.ts); no CDN, nothing else.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** Builds the page into `outdir`; resolves to the byte size of each file written. */
export async function buildConsole(outdir = here('../dist/console')) {
  const result = await build({
    entryPoints: { app: here('src/main.tsx') },
    outdir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  return Object.fromEntries(Object.entries(result.metafile.outputs).map(([file, { bytes }]) => [file.split('/').at(-1), bytes]));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = await buildConsole();
  process.stdout.write(`console page: ${Object.entries(sizes).map(([file, bytes]) => `${file} ${bytes} bytes`).join(', ')}\n`);
}
