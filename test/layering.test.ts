/**
 * The layering of src/, read from the import statements of every .ts file (parsed with the
 * TypeScript compiler, so comments and strings cannot fool it):
 * (a) no import cycle among run-time imports;
 * (b) src/eval imports nothing above it (engine, models, transfer, fusion, registry, index, cli);
 * (c) models, transfer and fusion do not import src/eval (they go through src/engine/tuning.ts);
 * (d) no file in src/ is over 450 lines.
 *
 * Run-time imports: static `import ... from` (also a bare `import './x.js'`), `export ... from`
 * and dynamic `import('...')` with a literal path. Type-only ones do not count: `import type`,
 * `export type`, and `import { type A, type B }` / `export { type A }` where every name is
 * type-only (TypeScript and esbuild drop those). `typeof import('...')` is a type, not a call.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const MAX_LINES = 450;

/** One import of a file: where it points, whether it runs, and where it is written. */
interface Import {
  /** Importing file, relative to src/ with '/' separators. */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** Imported file relative to src/ ('' when it does not resolve to a file; '../x' outside src). */
  to: string;
  runtime: boolean;
  line: number;
}

/** Every .ts file under dir, as paths relative to src/ with '/' separators, sorted. */
function sourceFiles(dir = SRC): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts')) out.push(rel(p));
  }
  return out.sort();
}

function rel(p: string): string {
  return relative(SRC, p).split(sep).join('/');
}

/** The file a relative specifier names (`./x.js` -> x.ts, `./dir` -> dir/index.ts), or '' when none. */
function resolveSpecifier(fromFile: string, specifier: string): string {
  const base = resolve(SRC, dirname(fromFile), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')];
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return rel(c);
  return '';
}

/** True when every name of a non-empty named import/export list is marked `type`. */
function allTypeOnly(elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier> | undefined): boolean {
  return elements !== undefined && elements.length > 0 && elements.every((e) => e.isTypeOnly);
}

/** The relative imports of one file. */
function importsOf(file: string, text: string): Import[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Import[] = [];
  const add = (spec: ts.Expression | undefined, runtime: boolean, node: ts.Node) => {
    if (!spec || !ts.isStringLiteralLike(spec) || !spec.text.startsWith('.')) return;
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push({ from: file, specifier: spec.text, to: resolveSpecifier(file, spec.text), runtime, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const typeOnly = c !== undefined && (c.isTypeOnly || (c.name === undefined && allTypeOnly(named)));
      add(node.moduleSpecifier, !typeOnly, node);
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(node.moduleSpecifier, !(node.isTypeOnly || allTypeOnly(named)), node);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], true, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every import of every file under src/, and each file's line count. */
function scan(): { files: string[]; imports: Import[]; lines: Map<string, number> } {
  const files = sourceFiles();
  const imports: Import[] = [];
  const lines = new Map<string, number>();
  for (const f of files) {
    const text = readFileSync(join(SRC, f), 'utf8');
    lines.set(f, text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0));
    imports.push(...importsOf(f, text));
  }
  return { files, imports, lines };
}

/**
 * One cycle per strongly connected component of the graph that has one (Tarjan), as a path
 * `a -> b -> ... -> a` starting from the component's first file in sorted order.
 */
export function findCycles(nodes: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const strong = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      components.push(c);
    }
  };
  for (const v of nodes) if (!index.has(v)) strong(v);
  const cycles: string[][] = [];
  for (const c of components) {
    const inside = new Set(c);
    const start = [...c].sort()[0];
    if (c.length === 1 && !(edges.get(start) ?? []).includes(start)) continue;
    // Shortest path from start back to start inside the component (breadth first).
    const prev = new Map<string, string>();
    const queue = [start];
    let found = false;
    for (let q = 0; q < queue.length && !found; q++) {
      for (const w of edges.get(queue[q]) ?? []) {
        if (!inside.has(w)) continue;
        if (w === start) {
          prev.set(start, queue[q]);
          found = true;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, queue[q]);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = prev.get(start)!; v !== start; v = prev.get(v)!) path.unshift(v);
    path.unshift(start);
    cycles.push(path);
  }
  return cycles;
}

const under = (file: string, dirs: readonly string[]) => dirs.some((d) => (d.endsWith('.ts') ? file === d : file.startsWith(`${d}/`)));
const show = (i: Import) => `src/${i.from}:${i.line} imports ${i.specifier} (src/${i.to})`;

describe('layering of src/', () => {
  const { files, imports, lines } = scan();
  const runtime = imports.filter((i) => i.runtime && i.to !== '' && !i.to.startsWith('..'));

  it('finds the files and their imports (the scan itself works)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain('engine/facade.ts');
    // Known imports of each kind: a run-time static import, a type-only one, a dynamic one.
    expect(runtime.some((i) => i.from === 'engine/facade.ts' && i.to === 'engine/cache.ts')).toBe(true);
    expect(imports.some((i) => i.from === 'engine/facade.ts' && i.to === 'engine/scorer.ts' && !i.runtime)).toBe(true);
    expect(runtime.some((i) => i.from === 'index.ts' && i.to === 'errors.ts')).toBe(true);
    const unresolved = imports.filter((i) => i.to === '').map((i) => `src/${i.from}:${i.line} ${i.specifier}`);
    expect(unresolved, `relative imports that name no file:\n${unresolved.join('\n')}`).toEqual([]);
  });

  it('the cycle finder reports a cycle path and ignores acyclic graphs', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
    ]);
    expect(findCycles(['a', 'b', 'c', 'd'], g)).toEqual([['a', 'b', 'c', 'a']]);
    expect(findCycles(['x'], new Map([['x', ['x']]]))).toEqual([['x', 'x']]);
    expect(findCycles(['a', 'b'], new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  it('(a) has no import cycle among run-time imports', () => {
    const edges = new Map<string, string[]>();
    for (const f of files) edges.set(f, []);
    for (const i of runtime) if (!edges.get(i.from)!.includes(i.to)) edges.get(i.from)!.push(i.to);
    const cycles = findCycles(files, edges);
    const text = cycles.map((c) => c.map((f) => `src/${f}`).join(' -> ')).join('\n');
    expect(cycles, `run-time import cycles:\n${text}`).toEqual([]);
  });

  it('(b) src/eval imports nothing above it at run time', () => {
    const above = ['engine', 'models', 'transfer', 'fusion', 'registry.ts', 'index.ts', 'cli'];
    const bad = runtime.filter((i) => under(i.from, ['eval']) && under(i.to, above)).map(show);
    expect(bad, `src/eval imports from above it:\n${bad.join('\n')}`).toEqual([]);
  });

  it('(c) models, transfer and fusion do not import src/eval at run time (they use src/engine/tuning.ts)', () => {
    const bad = runtime.filter((i) => under(i.from, ['models', 'transfer', 'fusion']) && under(i.to, ['eval'])).map(show);
    expect(bad, `imports of src/eval from models, transfer or fusion:\n${bad.join('\n')}`).toEqual([]);
  });

  it(`(d) no file in src/ is over ${MAX_LINES} lines`, () => {
    const long = files.filter((f) => lines.get(f)! > MAX_LINES).map((f) => `src/${f}: ${lines.get(f)} lines`);
    expect(long, `files over ${MAX_LINES} lines:\n${long.join('\n')}`).toEqual([]);
  });
});
