import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelError } from '../src/errors.js';
import type { Csr, Neighbours, TopKRows } from '../src/kernels/index.js';
import { createPool, crossKnn, itemKnn, scoreDense, scoreSparse, userKnn, type KernelPool } from '../src/pool/index.js';
import { Rng } from '../src/random.js';

/** A long-tailed random users x items matrix (some empty rows and columns, weighted when asked). */
function longTail(rng: Rng, nUsers: number, nItems: number, weighted: boolean): Csr {
  const indptr = new Uint32Array(nUsers + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    const want = rng.int(10) === 0 ? 0 : 1 + Math.floor(Math.exp(rng.normal() * 0.9) * 3);
    const row = new Set<number>();
    for (let t = 0; t < want * 2 && row.size < want; t++) row.add(Math.floor(nItems * rng.next() ** 2.5));
    for (const i of [...row].sort((a, b) => a - b)) {
      indices.push(i);
      data.push(weighted ? 1 + rng.int(4) * 0.5 : 1);
    }
    indptr[u + 1] = indices.length;
  }
  return { nRows: nUsers, nCols: nItems, indptr, indices: Uint32Array.from(indices), data: Float32Array.from(data) };
}

function same(a: Neighbours | TopKRows, b: Neighbours | TopKRows): void {
  if ('indptr' in a && 'indptr' in b) {
    expect(Array.from(a.indptr)).toEqual(Array.from(b.indptr));
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  } else if ('counts' in a && 'counts' in b) {
    expect(Array.from(a.counts)).toEqual(Array.from(b.counts));
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    expect(Array.from(a.scores)).toEqual(Array.from(b.scores));
  } else expect.fail('different result kinds');
}

describe('pool: pooled results equal in-process results', () => {
  let pool1: KernelPool;
  let pool2: KernelPool;
  beforeAll(() => {
    pool1 = createPool({ threads: 1 });
    pool2 = createPool({ threads: 2 });
  });
  afterAll(async () => {
    await pool1.close();
    await pool2.close();
  });

  it('itemKnn / userKnn / crossKnn: in-process (wasm and js) == 1 thread == 2 threads', async () => {
    const rng = new Rng(21);
    for (const weighted of [false, true]) {
      const x = longTail(rng, 1500, 400, weighted);
      const opts = { k: 12, shrink: weighted ? 2 : 0 };
      const base = await itemKnn(undefined, x, opts);
      expect(base.nRows).toBe(400);
      same(await itemKnn(undefined, x, { ...opts, backend: 'js' }), base);
      same(await itemKnn(pool1, x, opts), base);
      same(await itemKnn(pool2, x, opts), base);
      same(await itemKnn(pool2, x, { ...opts, backend: 'js' }), base);
      const uu = await userKnn(undefined, x, { k: 5 });
      same(await userKnn(pool2, x, { k: 5 }), uu);
      const y = longTail(rng, 1500, 300, weighted);
      const cross = await crossKnn(undefined, x, y, { k: 7 });
      expect(cross.nCols).toBe(300);
      same(await crossKnn(pool1, x, y, { k: 7 }), cross);
      same(await crossKnn(pool2, x, y, { k: 7 }), cross);
    }
  });

  it('scoreSparse and scoreDense: in-process == 1 thread == 2 threads', async () => {
    const rng = new Rng(22);
    const x = longTail(rng, 2000, 300, true);
    const nb = await itemKnn(pool2, x, { k: 20 });
    const users = Uint32Array.from({ length: 700 }, () => rng.int(x.nRows));
    const opts = { n: 10, users, exclude: [0, 1, 2], usersPerTask: 64 };
    const base = await scoreSparse(undefined, x, nb, opts);
    same(await scoreSparse(undefined, x, nb, { ...opts, backend: 'js' }), base);
    same(await scoreSparse(pool1, x, nb, opts), base);
    same(await scoreSparse(pool2, x, nb, opts), base);
    const cands = { n: 5, candidates: [5, 9, 40, 41, 42, 100, 299] };
    same(await scoreSparse(pool2, x, nb, cands), await scoreSparse(undefined, x, nb, cands));

    const dim = 13;
    const items = Float32Array.from({ length: 300 * dim }, () => rng.normal());
    const vecs = Float32Array.from({ length: 90 * dim }, () => rng.normal());
    const dopts = { dim, n: 10, users: users.subarray(0, 90), seen: x, usersPerTask: 16 };
    const dense = await scoreDense(undefined, vecs, items, dopts);
    same(await scoreDense(undefined, vecs, items, { ...dopts, backend: 'js' }), dense);
    same(await scoreDense(pool1, vecs, items, dopts), dense);
    same(await scoreDense(pool2, vecs, items, dopts), dense);
  });

  it('validates options with messages that name them', async () => {
    const x = longTail(new Rng(1), 10, 5, false);
    await expect(itemKnn(undefined, x, { k: 0 })).rejects.toThrow('options.k must be a positive integer (got 0)');
    await expect(itemKnn(undefined, x, { k: 3, shrink: -1 })).rejects.toThrow('options.shrink must be a finite number >= 0 (got -1)');
    const nb = await itemKnn(undefined, x, { k: 2 });
    await expect(scoreSparse(undefined, x, nb, { n: 2, exclude: [7] })).rejects.toThrow('options.exclude holds 7, not an item index in [0, 5)');
    expect(() => createPool({ threads: 0 })).toThrow('options.threads must be a positive integer (got 0)');
  });
});

describe('pool: failures', () => {
  it('a worker that throws, exits or hangs rejects its task with KernelError and the pool stays usable', async () => {
    const pool = createPool({ threads: 1, timeoutMs: 1500 });
    try {
      expect(await pool.drill('ok')).toBe('wasm');
      await expect(pool.drill('throw')).rejects.toThrow(KernelError);
      expect(await pool.drill('ok')).toBe('wasm');
      const exit = pool.drill('exit');
      await expect(exit).rejects.toThrow(KernelError);
      expect(await pool.drill('ok')).toBe('wasm');
      await expect(pool.drill('hang')).rejects.toThrow(/timed out after 1500 ms/);
      expect(await pool.drill('ok')).toBe('wasm');
      const x = longTail(new Rng(3), 200, 50, false);
      same(await itemKnn(pool, x, { k: 4 }), await itemKnn(undefined, x, { k: 4 }));
    } finally {
      await pool.close();
    }
    await expect(pool.drill('ok')).rejects.toThrow('the kernel pool is closed');
  });
});
