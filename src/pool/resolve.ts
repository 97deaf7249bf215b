/**
 * Where the worker file is. From the compiled package (`dist/pool/index.js`) it is the
 * `worker.js` next to it. From TypeScript sources (vitest, tsx), where worker threads cannot load
 * `.ts` files, the worker and the local modules it imports are transpiled once with the
 * `typescript` dev dependency into a content-addressed folder under the system temp dir, so the
 * worker always runs the current sources (never a stale `dist/`).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { KernelError } from '../errors.js';

/**
 * Absolute path of a runnable worker file.
 * @throws {KernelError} when the compiled worker is missing and cannot be built from sources.
 */
export function resolveWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const dir = dirname(here);
  if (here.endsWith('.js')) {
    const compiled = join(dir, 'worker.js');
    if (existsSync(compiled)) return compiled;
    throw new KernelError(`pool worker not found at ${compiled}: run \`npm run build\``);
  }
  return transpileWorker(join(dir, 'worker.ts'), resolve(dir, '..'));
}

const IMPORT_RE = /(?:from|import)\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g;

/** Transpile `entry` and its relative imports (under `root`) to ESM JavaScript; returns the entry's path. */
function transpileWorker(entry: string, root: string): string {
  let ts: typeof import('typescript');
  try {
    ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  } catch (e) {
    throw new KernelError('running the pool from TypeScript sources needs the `typescript` package (or run `npm run build`)', {
      cause: e,
    });
  }
  const files = new Map<string, string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    files.set(file, text);
    for (const m of text.matchAll(IMPORT_RE)) todo.push(resolve(dirname(file), `${m[1]}.ts`));
  }
  const hash = createHash('sha256');
  for (const [file, text] of [...files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) hash.update(file).update('\0').update(text);
  const out = join(tmpdir(), `migrec-worker-${hash.digest('hex').slice(0, 16)}`);
  const target = join(out, relative(root, entry).replace(/\.ts$/, '.js'));
  if (existsSync(join(out, '.complete'))) return target;
  // Build in a private folder, then rename: concurrent test processes never see half a build.
  const staging = `${out}.${process.pid}.${threadId}.${Date.now()}`;
  for (const [file, text] of files) {
    const js = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
      fileName: file,
    }).outputText;
    const dest = join(staging, relative(root, file).replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  writeFileSync(join(staging, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(staging, '.complete'), '');
  try {
    renameSync(staging, out);
  } catch {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(out, '.complete'))) throw new KernelError(`cannot prepare the pool worker in ${out}`);
  }
  return target;
}
