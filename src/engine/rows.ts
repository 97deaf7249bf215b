/**
 * The rows a model keeps (each domain's users x items training matrix), behaviour folded in after
 * fitting, and batches of users with their rows per domain: training rows merged with folded-in
 * behaviour, gathered on first use.
 */
import type { Vocabularies } from '../data/vocab.js';
import type { Csr } from '../kernels/types.js';

/** Training data a model keeps: sizes, ids and each domain's users x items rows. */
export interface ModelData {
  vocab: Vocabularies;
  nUsers: number;
  nItems: number[];
  matrices: Csr[];
}

/** Behaviour folded in after fitting: user -> domain -> item -> weight. */
export type Overlay = Map<number, Map<number, Map<number, number>>>;

/** A batch of user indices with their rows per domain (training + folded-in behaviour), gathered on first use. */
export class UserBatch {
  private readonly cache: Array<Csr | undefined>;

  constructor(
    /** User indices. */
    readonly users: Uint32Array,
    nDomains: number,
    private readonly gather: (d: number) => Csr,
  ) {
    this.cache = new Array(nDomains);
  }

  /**
   * One row per batch user in domain d.
   * @throws {RangeError} for a domain index outside the data.
   */
  rows(d: number): Csr {
    if (!Number.isInteger(d) || d < 0 || d >= this.cache.length) throw new RangeError(`domain index ${d} is outside the batch's ${this.cache.length} domains`);
    return (this.cache[d] ??= this.gather(d));
  }

  /** A batch of these users over training rows only (no folded-in behaviour). */
  static training(data: ModelData, users: Uint32Array): UserBatch {
    return new UserBatch(users, data.nItems.length, (d) => gatherRows(data, users, d, undefined));
  }

  /** A one-user batch over given rows per domain (explanations that leave rows out). */
  static ofRows(user: number, rows: (d: number) => Csr, nDomains: number): UserBatch {
    return new UserBatch(Uint32Array.of(user), nDomains, rows);
  }
}

/**
 * A batch over training rows and the batch users' folded-in behaviour, copied now: behaviour
 * folded in while the batch is scored (between its awaits) never mixes into it.
 */
export function snapshotBatch(data: ModelData, overlay: Overlay, users: Uint32Array): UserBatch {
  let snapshot: Overlay | undefined;
  if (overlay.size > 0) {
    for (const u of users) {
      const byDomain = overlay.get(u);
      if (!byDomain) continue;
      snapshot ??= new Map();
      snapshot.set(u, new Map([...byDomain].map(([d, items]) => [d, new Map(items)])));
    }
  }
  return new UserBatch(users, data.nItems.length, (d) => gatherRows(data, users, d, snapshot));
}

/** One CSR row per requested user: training rows merged with folded-in behaviour. */
export function gatherRows(data: ModelData, users: Uint32Array, d: number, overlay: Overlay | undefined): Csr {
  const m = data.matrices[d];
  const n = users.length;
  // Rows with folded-in behaviour are merged first; every other row is copied straight from m.
  const merged = new Map<number, { idx: Uint32Array; val: Float32Array }>();
  const indptr = new Uint32Array(n + 1);
  for (let b = 0; b < n; b++) {
    const u = users[b];
    const extra = overlay && overlay.size > 0 ? overlay.get(u)?.get(d) : undefined;
    let len = u < m.nRows ? m.indptr[u + 1] - m.indptr[u] : 0;
    if (extra) {
      const base = u < m.nRows ? { idx: m.indices.subarray(m.indptr[u], m.indptr[u + 1]), val: m.data.subarray(m.indptr[u], m.indptr[u + 1]) } : EMPTY_ROW;
      const row = mergeRow(base, extra);
      merged.set(b, row);
      len = row.idx.length;
    }
    indptr[b + 1] = indptr[b] + len;
  }
  const indices = new Uint32Array(indptr[n]);
  const values = new Float32Array(indptr[n]);
  for (let b = 0; b < n; b++) {
    const row = merged.get(b);
    if (row) {
      indices.set(row.idx, indptr[b]);
      values.set(row.val, indptr[b]);
    } else {
      // Element loop: two subarray views per row cost more than copying a typical row.
      for (let e = m.indptr[users[b]], q = indptr[b], end = indptr[b + 1]; q < end; e++, q++) {
        indices[q] = m.indices[e];
        values[q] = m.data[e];
      }
    }
  }
  return { nRows: n, nCols: data.nItems[d], indptr, indices, data: values };
}

const EMPTY_ROW = { idx: new Uint32Array(0), val: new Float32Array(0) };

function mergeRow(base: { idx: Uint32Array; val: Float32Array }, extra: Map<number, number>): { idx: Uint32Array; val: Float32Array } {
  const sum = new Map<number, number>();
  for (let t = 0; t < base.idx.length; t++) sum.set(base.idx[t], base.val[t]);
  for (const [i, w] of extra) sum.set(i, (sum.get(i) ?? 0) + w);
  const keys = [...sum.keys()].sort((a, b) => a - b);
  return { idx: Uint32Array.from(keys), val: Float32Array.from(keys, (i) => sum.get(i)!) };
}

/** Row b of sparse rows as (indices, values) views. */
export function rowOf(m: { indptr: Uint32Array; indices: Uint32Array; data: Float32Array }, b: number): { idx: Uint32Array; val: Float32Array } {
  return { idx: m.indices.subarray(m.indptr[b], m.indptr[b + 1]), val: m.data.subarray(m.indptr[b], m.indptr[b + 1]) };
}
