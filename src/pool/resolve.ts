/**
 * Where the worker file is. From the compiled package (`dist/pool/index.js`) it is the
 * `worker.js` next to it. From TypeScript sources (vitest, tsx), where worker threads cannot load
 * `.ts` files, the worker and the local modules it imports are transpiled with the `typescript`
 * dev dependency, so the worker always runs the current sources (never a stale `dist/`).
 *
 * Code is only ever run from a folder this process made safely: a content-addressed folder inside
 * `$TMPDIR/migrec-worker-<uid>`, used only when that folder is a real directory (not a symlink)
 * owned by this user with no access for group or others (0700), so no other user can have planted
 * or changed anything in it; otherwise (another owner, loose permissions, no uids on the platform)
 * a fresh `mkdtemp` folder of this process, removed when it exits.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
  const out = join(workerRoot(), hash.digest('hex').slice(0, 16));
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

let processRoot: string | undefined;

/**
 * The folder that holds transpiled workers: `$TMPDIR/migrec-worker-<uid>` when it is private to
 * this user (created 0700 here, or found so), else a fresh folder of this process.
 */
function workerRoot(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined) {
    const shared = join(tmpdir(), `migrec-worker-${uid}`);
    try {
      mkdirSync(shared, { mode: 0o700 });
    } catch {
      // it exists (or cannot be made): checked below either way
    }
    if (isPrivate(shared, uid)) return shared;
  }
  if (processRoot === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'migrec-worker-'));
    processRoot = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return processRoot;
}

/** Whether `dir` is a directory (not a symlink) owned by `uid` that group and others cannot use. */
function isPrivate(dir: string, uid: number): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && !st.isSymbolicLink() && st.uid === uid && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}
