/**
 * `update` and `forget` of popularity, item kNN, user kNN and the bridge: the new model state for
 * the changed data, equal to what a fit on that data with the same options (and the choices made
 * on validation data at fit time) gives. Similarity tables are recomputed only where the change
 * reaches (live-similarity.ts); what cannot be patched exactly (TF-IDF / BM25 and IDF weights,
 * which depend on every row, or a neighbour count capped by the old sizes) is recomputed whole.
 */
import { columnSums } from '../data/matrix.js';
import { columnNorms, rowNorms, transposeCsr } from '../kernels/csr.js';
import type { Csr, Neighbours } from '../kernels/types.js';
import { cap } from '../engine/exec.js';
import { mapUser, type LiveChange } from '../engine/live.js';
import type { ModelData } from '../engine/rows.js';
import type { TargetPlan } from './bridge-parts.js';
import { powData, scaleRows, userIdfWeights } from './bridge-parts.js';
import { allRows, liveTable, pairScore, type SimJob, type SimStats } from './live-similarity.js';
import { hstack, normaliseRows, truncateRows } from './sparse.js';
import { bm25Weight, tfidfWeight, type Weighting } from './weighting.js';

/** Popularity of every domain on the new data (column sums, as a fit computes them). */
export function livePopularity(c: LiveChange): Float32Array[] {
  return c.after.matrices.map((m) => Float32Array.from(columnSums(m)));
}

/** Item kNN neighbour tables on the new data. */
export async function liveItemKnn(
  old: ReadonlyArray<Neighbours | undefined>, c: LiveChange, o: Readonly<Record<string, unknown>>, stats: SimStats[] = [],
): Promise<Array<Neighbours | undefined>> {
  const neighbors = o.neighbors as number;
  const weighting = o.weighting as Weighting;
  const out: Array<Neighbours | undefined> = [];
  for (let d = 0; d < c.after.matrices.length; d++) {
    // A domain outside the model's targets stays without lists.
    const prev = old[d];
    if (!prev) {
      out.push(undefined);
      continue;
    }
    const untouched = c.items[d].length === 0 && c.after.nItems[d] === c.before.nItems[d];
    if (untouched && weighting === 'none') {
      out.push(prev);
      continue;
    }
    let x = c.after.matrices[d];
    if (weighting === 'tfidf') x = tfidfWeight(x);
    else if (weighting === 'bm25') x = bm25Weight(x, { K1: o.bm25K1 as number, B: o.bm25B as number });
    const xt = transposeCsr(x);
    const norms = weighting === 'bm25' ? new Float32Array(xt.nRows).fill(1) : rowNorms(xt);
    const job: SimJob = { left: xt, right: x, normsLeft: norms, normsRight: norms, shrink: o.shrink as number };
    // Weighted interactions depend on every row (IDF), and a cap set by the old item count moves: all rows.
    if (weighting !== 'none' || cap(neighbors, c.before.nItems[d]) !== cap(neighbors, c.after.nItems[d])) {
      out.push(await allRows(job, neighbors, c.backend, c.pool));
      stats.push({ recomputed: xt.nRows, patched: 0 });
      continue;
    }
    const r = await liveTable({ job, transposed: 'symmetric', old: prev, k: neighbors, rows: c.items[d], cols: c.items[d], backend: c.backend, pool: c.pool });
    out.push(r.table);
    stats.push(r.stats);
  }
  return out;
}

/** User kNN: each domain's finished neighbour table on the new data (empty tables stay empty), and the item -> users index. */
export async function liveUserKnn(
  known: readonly Neighbours[],
  c: LiveChange,
  o: Readonly<Record<string, unknown>>,
  stats: SimStats[] = [],
): Promise<{ known: Neighbours[]; index: Array<{ xt: Csr; norms: Float32Array }> }> {
  const after = c.after;
  const kept = (data: ModelData) => Math.max(1, Math.min(o.neighbors as number, data.nUsers));
  const k = kept(after);
  const index = after.matrices.map((x) => ({ xt: transposeCsr(x), norms: rowNorms(x) }));
  const out: Neighbours[] = [];
  for (let d = 0; d < after.matrices.length; d++) {
    const x = after.matrices[d];
    const { xt, norms } = index[d];
    if (known[d].nRows === 0) {
      out.push({ ...known[d], nCols: after.nUsers, k });
      continue;
    }
    const job: SimJob = { left: x, right: xt, normsLeft: norms, normsRight: norms, shrink: o.shrink as number };
    let raw: Neighbours;
    let done: Uint8Array | undefined;
    if (kept(c.before) !== k) {
      raw = truncateRows(await allRows(job, k + 1, c.backend, c.pool), k, (r) => r);
      stats.push({ recomputed: after.nUsers, patched: 0 });
    } else {
      // The table holds normalised weights: the raw cosine of an unchanged pair is recomputed from the rows.
      const map = c.removedUser === undefined ? undefined : (u: number) => mapUser(c, u);
      const r = await liveTable({
        job,
        transposed: 'symmetric',
        old: known[d],
        k: k + 1,
        rows: c.users[d],
        cols: c.users[d],
        mapRow: map,
        mapCol: map,
        self: true,
        oldScore: (a, v) => pairScore(job, x, a, v),
        backend: c.backend,
        pool: c.pool,
      });
      raw = { ...r.table, nRows: after.nUsers };
      done = r.copied;
      stats.push(r.stats);
    }
    // Copied rows hold normalised weights already.
    out.push({ ...normaliseRows(raw, done, true), k });
  }
  return { known: out, index };
}

/**
 * The bridge's plans on the new data: the user variant's derived index rebuilt (`prepare`), the
 * item variant's cross-domain table patched (recomputed whole with IDF weights).
 */
export async function liveBridge(plans: ReadonlyArray<TargetPlan | undefined>, c: LiveChange, prepare: (data: ModelData, plan: TargetPlan, t: number) => void, stats: SimStats[] = []): Promise<Array<TargetPlan | undefined>> {
  const after = c.after;
  const out: Array<TargetPlan | undefined> = [];
  for (let t = 0; t < plans.length; t++) {
    const p = plans[t];
    if (!p) {
      out.push(undefined);
      continue;
    }
    if (p.variant === 'user') {
      const plan: TargetPlan = { ...p };
      prepare(after, plan, t);
      out.push(plan);
      continue;
    }
    out.push({ ...p, sim: await liveCross(p, c, t, stats) });
  }
  return out;
}

/** The item bridge's source x target table of target t on the new data. */
async function liveCross(p: TargetPlan, c: LiveChange, t: number, stats: SimStats[]): Promise<Neighbours> {
  const { before, after } = c;
  let xs = hstack(p.sources.map((s) => after.matrices[s]));
  let xt = after.matrices[t];
  if (p.idf) {
    // The same weights as the fit's: per user, over the items of the source and target domains.
    const w = userIdfWeights(xs, xt);
    xs = scaleRows(xs, w);
    xt = scaleRows(xt, w);
  }
  const xsT = transposeCsr(xs);
  const nl = rowNorms(xsT).map((v) => Math.pow(v, 2 * p.asymmetry));
  const nr = columnNorms(xt).map((v) => Math.pow(v, 2 * (1 - p.asymmetry)));
  const job: SimJob = { left: xsT, right: xt, normsLeft: nl, normsRight: nr, shrink: p.shrink };
  const finish = (m: Neighbours): Neighbours => ({ ...powData(truncateRows(m, p.neighbors), p.exponent), k: p.neighbors });
  if (p.idf || cap(p.neighbors, before.nItems[t]) !== cap(p.neighbors, after.nItems[t])) {
    stats.push({ recomputed: xsT.nRows, patched: 0 });
    return finish(await allRows(job, p.neighbors, c.backend, c.pool));
  }
  // Source rows: each source's items at its offset in the concatenation (offsets move when a source gains items).
  const offBefore: number[] = [];
  const offAfter: number[] = [];
  let ob = 0;
  let oa = 0;
  for (const s of p.sources) {
    offBefore.push(ob);
    offAfter.push(oa);
    ob += before.nItems[s];
    oa += after.nItems[s];
  }
  const mapRow = (r: number): number => {
    let q = p.sources.length - 1;
    while (q > 0 && r < offBefore[q]) q--;
    return offAfter[q] + (r - offBefore[q]);
  };
  const rows: number[] = [];
  p.sources.forEach((s, q) => c.items[s].forEach((i) => rows.push(offAfter[q] + i)));
  const xtT = transposeCsr(xt);
  const transposed: SimJob = { left: xtT, right: xs, normsLeft: nr, normsRight: nl, shrink: p.shrink };
  const r = await liveTable({
    job,
    transposed,
    old: p.sim!,
    k: p.neighbors,
    rows: Uint32Array.from(rows).sort(),
    cols: c.items[t],
    mapRow,
    // The table holds similarities raised to the exponent: raw ones are recomputed from the rows.
    oldScore: p.exponent === 1 ? undefined : (a, j) => pairScore(job, xtT, a, j),
    backend: c.backend,
    pool: c.pool,
  });
  stats.push(r.stats);
  // Copied rows hold finished values already; the others are raw.
  const m = r.table;
  const data = m.data.slice();
  if (p.exponent !== 1) for (let a = 0; a < m.nRows; a++) if (!r.copied[a]) for (let t = m.indptr[a]; t < m.indptr[a + 1]; t++) data[t] = Math.pow(data[t], p.exponent);
  return { ...m, data, k: p.neighbors };
}
