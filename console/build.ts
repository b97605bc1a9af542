// Bundles the console page (console/src, Preact) into dist/console/app.js and app.css: `npm run build:console`.
// The gateway serves those two files under /console (src/console/console-assets.ts); no CDN, nothing else.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Where the gateway looks for the page in a source tree. */
export const CONSOLE_OUTDIR = here('../dist/console');

/**
 * Builds the page into `outdir` and resolves to each file's size in bytes. Each file is written beside its
 * place and renamed into it, so a gateway reading the directory meanwhile (tests build it too) never sees half
 * a file.
 */
export async function buildConsole(outdir = CONSOLE_OUTDIR): Promise<Record<string, number>> {
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
    write: false,
    logLevel: 'warning',
  });
  mkdirSync(outdir, { recursive: true });
  const sizes: Record<string, number> = {};
  for (const file of result.outputFiles) {
    const target = join(outdir, basename(file.path));
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, target);
    sizes[basename(file.path)] = file.contents.byteLength;
  }
  return sizes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = await buildConsole();
  process.stdout.write(`console page: ${Object.entries(sizes).map(([file, bytes]) => `${file} ${bytes} bytes`).join(', ')}\n`);
}
