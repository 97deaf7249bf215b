/**
 * `update` and `forget` of the factor models (mf, and the factors under emcdr and ptupcdr): not a
 * refit. The factors of users whose rows changed (new users from zero) are solved again against the
 * fixed item factors, then those of the items whose columns changed (new items from zero) against
 * the fixed user factors, `LIVE_ROUNDS` times: the same ALS half-step kernels as a fit, on the
 * touched rows only. A forgotten user's factor row is dropped and their items re-solved against the
 * remaining users. Everything else keeps its factors, so the model drifts from what a refit would
 * learn as changes pile up: docs/live-models.md measures how far, and when to refit.
 */
import { transposeCsr } from '../kernels/csr.js';
import type { Csr } from '../kernels/types.js';
import { mapUser, type LiveChange } from '../engine/live.js';
import { alsHalfStep, type AlsSettings } from './als.js';
import { finishFactors, type DomainFactors, type FactorSettings } from './factors.js';
import { pickRows } from './sparse.js';

/** Rounds of (touched users, touched items) half-steps per change. */
export const LIVE_ROUNDS = 2;

/** One domain's factors on the new data, touched rows re-solved. */
export async function liveDomainFactors(f: DomainFactors, c: LiveChange, d: number, s: FactorSettings): Promise<DomainFactors> {
  const { before, after } = c;
  const dim = f.d;
  const m = after.matrices[d];
  // Users: old rows in the new numbering (the forgotten one dropped), new users zero.
  const users = new Float32Array(after.nUsers * dim);
  const oldUsers = Math.min(before.nUsers, f.users.length / dim);
  for (let u = 0; u < oldUsers; u++) {
    const v = mapUser(c, u);
    if (v >= 0) users.set(f.users.subarray(u * dim, (u + 1) * dim), v * dim);
  }
  const items = new Float32Array(after.nItems[d] * dim);
  items.set(f.items.subarray(0, Math.min(f.items.length, items.length)));
  const als: AlsSettings = { factors: dim, regularization: s.regularization, alpha: s.alpha, cgSteps: s.cgSteps };
  const tu = c.users[d];
  const ti = c.items[d];
  const mt = ti.length > 0 ? transposeCsr(m) : undefined;
  const run = { pool: c.pool, backend: c.backend };
  for (let round = 0; round < LIVE_ROUNDS; round++) {
    if (tu.length > 0) await solveRows(users, items, pickRows(m, tu), tu, dim, als, run);
    if (mt) await solveRows(items, users, pickRows(mt, ti), ti, dim, als, run);
  }
  return finishFactors(m, users, items, dim, s.regularization);
}

/** Re-solve rows `at` of `x` (their entries: `r`, one row per `at`) against fixed `y`, warm-started. */
async function solveRows(x: Float32Array, y: Float32Array, r: Csr, at: Uint32Array, dim: number, als: AlsSettings, run: { pool: LiveChange['pool']; backend: LiveChange['backend'] }): Promise<void> {
  const sub = new Float32Array(at.length * dim);
  for (let q = 0; q < at.length; q++) sub.set(x.subarray(at[q] * dim, (at[q] + 1) * dim), q * dim);
  await alsHalfStep(sub, y, r, als, undefined, run);
  for (let q = 0; q < at.length; q++) x.set(sub.subarray(q * dim, (q + 1) * dim), at[q] * dim);
}

/** Every domain's factors on the new data (undefined stays undefined). */
export async function liveFactors(fs: ReadonlyArray<DomainFactors | undefined>, c: LiveChange, s: FactorSettings): Promise<Array<DomainFactors | undefined>> {
  const out: Array<DomainFactors | undefined> = [];
  for (let d = 0; d < fs.length; d++) out.push(fs[d] && (await liveDomainFactors(fs[d]!, c, d, s)));
  return out;
}
