/**
 * Pieces of the cross-domain bridge: inverse-frequency weights, row and column scaling, the
 * similarity exponent, and the plan types the bridge keeps per target domain.
 */
import type { Csr, Neighbours } from '../kernels/types.js';

/** Which bridge. */
export type BridgeVariant = 'user' | 'item';

/** The hyper-parameters of one target's bridge. */
export interface PlanParams {
  variant: BridgeVariant;
  neighbors: number;
  idf: boolean;
  exponent: number;
  asymmetry: number;
  shrink: number;
}

/** What the bridge keeps for one target domain. */
export interface TargetPlan extends PlanParams {
  sources: number[];
  /** user variant: source items x users (users with target rows only) and the users' source norms. Derived; rebuilt on load. */
  xsT?: Csr;
  userNorms?: Float32Array;
  /** IDF weight of each (concatenated) source item, with `idf`. Derived; rebuilt on load. */
  idfWeights?: Float32Array;
  /** item variant: source items (concatenated) x target items. */
  sim?: Neighbours;
  /** Validation NDCG@10 of each candidate, for the report. */
  validation?: Record<string, number>;
}

/** A readable key of a candidate, for the validation report. */
export function planKey(c: PlanParams): string {
  return c.variant === 'user'
    ? `user k=${c.neighbors} idf=${c.idf} exp=${c.exponent}`
    : `item k=${c.neighbors} idf=${c.idf} asymmetry=${c.asymmetry} shrink=${c.shrink} exp=${c.exponent}`;
}

/** Per column: log(rows with any entry / rows with this column), floored at 0. */
export function idfWeights(m: Csr): Float32Array {
  const df = new Uint32Array(m.nCols);
  for (let q = 0; q < m.indices.length; q++) df[m.indices[q]]++;
  let rows = 0;
  for (let r = 0; r < m.nRows; r++) if (m.indptr[r + 1] > m.indptr[r]) rows++;
  return Float32Array.from(df, (n) => (n > 0 ? Math.max(0, Math.log(rows / n)) : 0));
}

/**
 * Per user (row of the source and target matrices side by side): log(items with any entry / items
 * of the user), floored at 0; 0 for a user with no rows.
 */
export function userIdfWeights(xs: Csr, xt: Csr): Float32Array {
  const seen = new Uint8Array(xs.nCols + xt.nCols);
  for (let q = 0; q < xs.indices.length; q++) seen[xs.indices[q]] = 1;
  for (let q = 0; q < xt.indices.length; q++) seen[xs.nCols + xt.indices[q]] = 1;
  let items = 0;
  for (const x of seen) items += x;
  return Float32Array.from({ length: xs.nRows }, (_, u) => {
    const n = xs.indptr[u + 1] - xs.indptr[u] + xt.indptr[u + 1] - xt.indptr[u];
    return n > 0 ? Math.max(0, Math.log(items / n)) : 0;
  });
}

/** A copy of `m` with row r multiplied by w[r]. */
export function scaleRows<T extends Csr>(m: T, w: Float32Array): T {
  const data = new Float32Array(m.data.length);
  for (let r = 0; r < m.nRows; r++) for (let q = m.indptr[r]; q < m.indptr[r + 1]; q++) data[q] = m.data[q] * w[r];
  return { ...m, data };
}

/** A copy of `m` with column j multiplied by w[j]. */
export function scaleColumns<T extends Csr>(m: T, w: Float32Array): T {
  const data = new Float32Array(m.data.length);
  for (let q = 0; q < data.length; q++) data[q] = m.data[q] * w[m.indices[q]];
  return { ...m, data };
}

/** A copy of `m` with every value raised to `p` (the same object when p = 1). */
export function powData<T extends { data: Float32Array }>(m: T, p: number): T {
  if (p === 1) return m;
  return { ...m, data: m.data.map((x) => Math.pow(x, p)) };
}

