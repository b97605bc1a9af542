import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every .ts file under `dir` (relative to the root), as root-relative paths. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * What a file imports, static and dynamic, read with the TypeScript parser: relative imports as
 * root-relative paths of the .ts or .json file, packages by name (`node:` built-ins included).
 */
export function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return importedFiles.map(({ fileName }) => {
    if (!fileName.startsWith('.')) return fileName;
    return normalize(join(dirname(file), fileName)).replace(/\.js$/, '.ts');
  });
}

/** Every source file reachable from `entries` through relative imports, the entries included. */
export function importClosure(entries: readonly string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const target of importsOf(file)) {
      if (target.startsWith('src/') || target.startsWith('protocol/')) visit(target);
      else packages.add(target);
    }
  };
  for (const entry of entries) visit(entry);
  return { files, packages };
}
