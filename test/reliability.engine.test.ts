/**
 * Regression tests of issue 15 ("Reliability: what an adversarial run found"), engine and pool
 * part: foldIn weights and behaviour names, code planted in the temp directory, uncapped k and
 * neighbours, uncapped threads, UserKnn and the memory budget.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, DataError, ItemKnn, ModelFitError, OptionRangeError, UserKnn } from '../src/index.js';
import { itemKnn, scoreDense, scoreSparse } from '../src/pool/index.js';
import { checkerboard } from './helpers/fixtures.js';

describe('foldIn refuses what float32 cannot hold and unknown behaviours, changing nothing', () => {
  it('a weight of 1e39, behaviours constructor / __proto__, and a per-item sum beyond float32 are DataErrors', async () => {
    const { data } = checkerboard();
    const m = new ItemKnn({ neighbors: 40 });
    await m.fit(data);
    try {
      const before = m.recommend('u2', { k: 40 });
      const bad: Array<[string, Parameters<ItemKnn['foldIn']>[1], RegExp]> = [
        ['weight 1e39', [{ item: 'i1', weight: 1e39 }], /weight must .*finite in float32/],
        ['behaviour constructor', [{ item: 'i1', behavior: 'constructor' }], /unknown behaviour "constructor"/],
        ['behaviour __proto__', [{ item: 'i1', behavior: '__proto__' }], /unknown behaviour "__proto__"/],
        ['sum of one call', [{ item: 'i1', weight: 3e38 }, { item: 'i1', weight: 3e38 }], /sum of the weights .*i1.* finite in float32/],
      ];
      for (const [what, events, message] of bad) {
        for (const user of ['u2', 'newcomer']) {
          let err: unknown;
          try {
            m.foldIn(user, events);
          } catch (e) {
            err = e;
          }
          expect(err, `${what} for ${user}`).toBeInstanceOf(DataError);
          expect((err as Error).message, what).toMatch(message);
        }
      }
      // Nothing changed: the known user's list, and the new user is still unknown.
      expect(m.recommend('u2', { k: 40 })).toEqual(before);
      expect(m.hasUser('newcomer')).toBe(false);
      // A sum over two calls: the first is kept, the second refused and changes nothing.
      m.foldIn('u2', [{ item: 'i1', weight: 3e38 }]);
      const after1 = m.recommend('u2', { k: 40 });
      expect(() => m.foldIn('u2', [{ item: 'i3', weight: 1 }, { item: 'i1', weight: 3e38 }])).toThrow(DataError);
      expect(m.recommend('u2', { k: 40 })).toEqual(after1);
      expect(after1.scores.every((s) => Number.isFinite(s))).toBe(true);
    } finally {
      await m.close();
    }
  });
});

describe('the pool never runs code from a temp folder it did not create', () => {
  const root = fileURLToPath(new URL('../src/', import.meta.url));
  const tmp = mkdtempSync(join(tmpdir(), 'migrec-plant-'));
  const saved = process.env.TMPDIR;
  afterAll(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The folder migrec 0.2 reused: `$TMPDIR/migrec-worker-<hash of the worker's sources>`. */
  function oldPath(): string {
    const files = new Map<string, string>();
    const todo = [join(root, 'pool', 'worker.ts')];
    while (todo.length > 0) {
      const file = todo.pop()!;
      if (files.has(file)) continue;
      const text = readFileSync(file, 'utf8');
      files.set(file, text);
      for (const m of text.matchAll(/(?:from|import)\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) todo.push(resolve(dirname(file), `${m[1]}.ts`));
    }
    const hash = createHash('sha256');
    for (const [file, text] of [...files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) hash.update(file).update('\0').update(text);
    return join(tmpdir(), `migrec-worker-${hash.digest('hex').slice(0, 16)}`);
  }

  /** A complete-looking worker folder whose worker writes `marker` when it is loaded. */
  function plant(dir: string, marker: string): void {
    const worker = join(dir, relative(root, join(root, 'pool', 'worker.js')));
    mkdirSync(dirname(worker), { recursive: true });
    writeFileSync(worker, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'planted code ran');\nexport function drill() { return 'planted'; }\nexport default drill;\n`);
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, '.complete'), '');
  }

  it('a folder planted at the old predictable path (and a loose one at a per-user path) is never used', async () => {
    process.env.TMPDIR = tmp;
    const marker = join(tmp, 'MARKER');
    plant(oldPath(), marker);
    // A per-user folder that others can write into must not be trusted either.
    if (typeof process.getuid === 'function') {
      const loose = join(tmp, `migrec-worker-${process.getuid()}`);
      mkdirSync(loose, { recursive: true });
      chmodSync(loose, 0o777);
    }
    const pool = createPool({ threads: 1, timeoutMs: 20_000 });
    try {
      expect(await pool.drill('ok')).not.toBe('planted');
    } catch {
      // a failing pool is fine here: only the marker matters
    } finally {
      await pool.close();
    }
    expect(existsSync(marker)).toBe(false);
  });
});

describe('k and neighbours are capped at what the data has', () => {
  it('recommend, similarItems, similarUsers and explain with k = 1e8 return at most every item, quickly', async () => {
    const { data } = checkerboard();
    const item = new ItemKnn({ neighbors: 40 });
    const user = new UserKnn({ neighbors: 40 });
    await item.fit(data);
    await user.fit(data);
    try {
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      const r = item.recommend('u2', { k: 1e8, filterSeen: false });
      expect(r.items.length).toBeLessThanOrEqual(40);
      expect(r.items.length).toBeGreaterThan(0);
      expect(item.recommend('ghost', { k: 1e8, fallback: 'popularity' }).items.length).toBe(40);
      expect((await item.recommendBatch(['u1', 'u2', 'u3'], { k: 1e8 })).get(0).items.length).toBeLessThanOrEqual(40);
      expect(user.recommend('u2', { k: 1e8 }).items.length).toBeLessThanOrEqual(40);
      expect(item.similarItems('i2', { k: 1e8 }).items.length).toBeLessThanOrEqual(39);
      expect(user.similarUsers('u2', { k: 1e8 }).users.length).toBeLessThanOrEqual(39);
      expect(item.explain('u2', 'i2', { k: 1e8 }).contributions.length).toBeGreaterThan(0);
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(process.memoryUsage().rss - rss0).toBeLessThan(200 * 2 ** 20);
    } finally {
      await item.close();
      await user.close();
    }
  });

  it('ItemKnn and UserKnn with neighbors 1e8 fit the checkerboard and equal neighbors 40', async () => {
    const { data } = checkerboard();
    const big = new ItemKnn({ neighbors: 1e8 });
    const small = new ItemKnn({ neighbors: 40 });
    const ubig = new UserKnn({ neighbors: 1e8 });
    const usmall = new UserKnn({ neighbors: 40 });
    try {
      const rss0 = process.memoryUsage().rss;
      for (const m of [big, small, ubig, usmall]) await m.fit(data);
      expect(process.memoryUsage().rss - rss0).toBeLessThan(200 * 2 ** 20);
      const a = big.neighborMatrix();
      const b = small.neighborMatrix();
      expect([Array.from(a.indptr), Array.from(a.indices), Array.from(a.data)]).toEqual([Array.from(b.indptr), Array.from(b.indices), Array.from(b.data)]);
      for (const u of ['u0', 'u7']) {
        expect(big.recommend(u, { k: 40 })).toEqual(small.recommend(u, { k: 40 }));
        expect(ubig.recommend(u, { k: 40 })).toEqual(usmall.recommend(u, { k: 40 }));
      }
    } finally {
      for (const m of [big, small, ubig, usmall]) await m.close();
    }
  });

  it('the pool functions refuse an n or k beyond MAX_TOP_K with an OptionRangeError', async () => {
    const { data } = checkerboard();
    const x = data.matrix(0);
    const { MAX_TOP_K } = await import('../src/pool/index.js');
    expect(MAX_TOP_K).toBeGreaterThanOrEqual(2 ** 20);
    await expect(itemKnn(undefined, x, { k: MAX_TOP_K + 1 })).rejects.toThrow(OptionRangeError);
    await expect(scoreSparse(undefined, x, x, { n: 2 ** 28 })).rejects.toThrow(OptionRangeError);
    await expect(scoreDense(undefined, new Float32Array(4), new Float32Array(8), { dim: 4, n: 2 ** 28 })).rejects.toThrow(OptionRangeError);
    // Within the maximum, k beyond the columns is every column.
    const all = await itemKnn(undefined, x, { k: 1e6 });
    const forty = await itemKnn(undefined, x, { k: 40 });
    expect(Array.from(all.indices)).toEqual(Array.from(forty.indices));
  });
});

describe('threads are capped at a multiple of the cores', () => {
  it('createPool and a model refuse more than 4 x availableParallelism() threads, starting nothing', () => {
    const max = 4 * availableParallelism();
    expect(() => createPool({ threads: max + 1 })).toThrow(OptionRangeError);
    expect(() => createPool({ threads: 1000 })).toThrow(`options.threads must be at most ${max} (4 x the ${availableParallelism()} available cores; got 1000)`);
    expect(() => new ItemKnn({ threads: 1000 })).toThrow(OptionRangeError);
  });
});

describe('UserKnn honours memoryBudget', () => {
  it('refuses up front an index over the budget, with the ItemKnn message shape, keeping the fitted state', async () => {
    const { data } = checkerboard();
    const m = new UserKnn({ neighbors: 10 });
    await m.fit(data);
    const before = m.recommend('u3', { k: 5 });
    const tight = new UserKnn({ neighbors: 10, memoryBudget: 1000 });
    await expect(tight.fit(data)).rejects.toThrow(ModelFitError);
    await expect(tight.fit(data)).rejects.toThrow(/^userknn: the item -> users index and user norms \(40 items, 40 users, 760 interactions\) needs [0-9.]+ KiB, over the memory budget of 1000 bytes \(options\.memoryBudget\)$/);
    const roomy = new UserKnn({ neighbors: 10, memoryBudget: 2 ** 20 });
    await roomy.fit(data);
    expect(roomy.recommend('u3', { k: 5 })).toEqual(before);
    await Promise.all([m.close(), tight.close(), roomy.close()]);
  });
});
