/**
 * Coupled target factors (`coupling` of the transfer models): the target ALS re-solved with a
 * Gaussian prior that pulls each overlapping user's target factors towards their mapped source
 * factors, so the target space holds factors the source can predict. Sources always keep their
 * plain factors.
 */
import type { Dataset } from '../data/dataset.js';
import { ModelFitError } from '../errors.js';
import { transposeCsr } from '../kernels/csr.js';
import { allFinite, alsHalfStep, sharedFactors, type AlsRun } from '../models/als.js';
import { finishFactors, type DomainFactors, type FactorSettings } from '../models/factors.js';
import { ridge } from '../models/linalg.js';

/** Coupling settings (schema: the transfer models' `coupling` keys, with their defaults). */
export interface Coupling {
  /** Weight of the prior pulling an overlapping user's target factors towards their mapped source factors. */
  weight: number;
  /** Rounds of (linear maps, target user half-step with the prior, target item half-step). @default 4 */
  rounds: number;
  /** Ridge strength of the linear maps that make the prior. @default 100 */
  ridge: number;
}

/**
 * Rounds of: a ridge-linear map per source (with intercept) from source to target factors on the
 * users with rows in both; the target user half-step with a prior of the given weight towards the
 * mean mapped factors of each such user; the target item half-step. Works on copies: the shared
 * plain factors stay as they are. `run`: pool and kernel backend of the half-steps.
 * @throws {ModelFitError} when a factor becomes NaN or infinite.
 * @throws {KernelError} when a pool worker fails.
 */
export async function coupleTarget(run: AlsRun, data: Dataset, t: number, sources: number[], factors: ReadonlyArray<DomainFactors | undefined>, s: FactorSettings, c: Coupling, label: string): Promise<DomainFactors> {
  const ft = factors[t]!;
  const d = ft.d;
  const users = sharedFactors(ft.users.length, run);
  users.set(ft.users);
  const items = sharedFactors(ft.items.length, run);
  items.set(ft.items);
  const mt = data.matrix(t);
  const mtT = transposeCsr(mt);
  const als = { factors: d, regularization: s.regularization, alpha: s.alpha, cgSteps: s.cgSteps };
  const nU = data.nUsers;
  // Per source, fixed across rounds: the users in both domains and their source factors with a 1.
  const designs = sources.map((src) => {
    const fs = factors[src]!;
    const ms = data.matrix(src);
    const ds = fs.d;
    const both: number[] = [];
    for (let u = 0; u < nU; u++) if (ms.indptr[u + 1] > ms.indptr[u] && mt.indptr[u + 1] > mt.indptr[u]) both.push(u);
    const x1 = new Float64Array(both.length * (ds + 1));
    both.forEach((u, q) => {
      for (let a = 0; a < ds; a++) x1[q * (ds + 1) + a] = fs.users[u * ds + a];
      x1[q * (ds + 1) + ds] = 1;
    });
    return { both, x1, p: ds + 1 };
  });
  for (let round = 1; round <= c.rounds; round++) {
    // The mean mapped factors, summed in f64 (for two sources the result does not depend on their order).
    const sum = new Float64Array(nU * d);
    const count = new Uint16Array(nU);
    for (const { both, x1, p } of designs) {
      if (both.length === 0) continue;
      const y = new Float64Array(both.length * d);
      both.forEach((u, q) => {
        for (let a = 0; a < d; a++) y[q * d + a] = users[u * d + a];
      });
      const w = ridge(x1, y, both.length, p, d, c.ridge, true);
      both.forEach((u, q) => {
        for (let b = 0; b < d; b++) {
          let acc = 0;
          for (let a = 0; a < p; a++) acc += x1[q * p + a] * w[a * d + b];
          sum[u * d + b] += acc;
        }
        count[u]++;
      });
    }
    for (let u = 0; u < nU; u++) if (count[u] > 1) for (let a = 0; a < d; a++) sum[u * d + a] /= count[u];
    const values = Float32Array.from(sum);
    await alsHalfStep(users, items, mt, als, { weight: c.weight, has: count, values }, run);
    await alsHalfStep(items, users, mtT, als, undefined, run);
    if (!allFinite(users) || !allFinite(items)) throw new ModelFitError(`${label}: coupled ALS produced NaN or infinite factors in round ${round} (check coupling.weight)`);
  }
  return finishFactors(mt, users, items, d, s.regularization);
}

