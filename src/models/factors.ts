/**
 * Per-domain latent factors shared by the factor models (mf, and the transfer models built on it):
 * settings, ALS training, user vectors from rows (stored, folded in, or the domain's mean user),
 * validation NDCG of a dense ranking, the checks behind the typed errors, and file sections.
 */
import { DataError, ModelFitError, ModelFormatError } from '../errors.js';
import type { SectionArray } from '../io/modelfile.js';
import type { BackendName, Csr, SparseRows } from '../kernels/types.js';
import { denseTopN } from '../engine/exec.js';
import type { UserBatch } from '../engine/rows.js';
import { meanNdcg } from '../engine/tuning.js';
import { Rng } from '../random.js';
import { allFinite, alsHalfStep, gram, randomFactors, sharedFactors, solveNewRow, type AlsRun, type AlsSettings } from './als.js';

/** Options of the matrix factorisation every transfer model trains per domain. */
export interface FactorOptions {
  /** Latent dimension. @default 64 */
  factors?: number;
  /** ALS iterations (upper bound when early stopping on validation data). @default 12 */
  iterations?: number;
  /** L2 regularisation of the factors. @default 0.05 */
  regularization?: number;
  /** Confidence slope, c = 1 + alpha * weight. 40 as in Hu et al. 2008; on the Amazon validation users it beat 10 and 20 (100 tied on toys and was better on video games). @default 40 */
  alpha?: number;
  /** Conjugate-gradient steps per row and half-iteration. @default 3 */
  cgSteps?: number;
}

/** Resolved factor options. */
export type FactorSettings = Required<FactorOptions>;

/** The factor settings of resolved model options (validated by the model's schema). */
export function factorSettings(o: Readonly<Record<string, unknown>>): FactorSettings {
  return { factors: o.factors as number, iterations: o.iterations as number, regularization: o.regularization as number, alpha: o.alpha as number, cgSteps: o.cgSteps as number };
}

/** Factors of one domain. */
export interface DomainFactors {
  /** Latent dimension. */
  d: number;
  /** User factors, `nUsers x d` (zero rows for users without rows in the domain). */
  users: Float32Array;
  /** Item factors, `nItems x d`. */
  items: Float32Array;
  /** Mean factor of the users with rows in the domain: the vector of a user with none. */
  mean: Float32Array;
  /** Gram matrix of the item factors plus reg I (derived when first read; for folding users in). */
  gram: Float64Array;
}

/**
 * Train ALS factors of one domain's users x items matrix. `onIteration(it, f)` may return
 * `'stop'` (early stopping); factors are checked for NaN/Inf after every iteration. `run`: the pool
 * to shard the row solves over and the kernel backend (the factors do not depend on either).
 * @throws {ModelFitError} when a factor becomes NaN or infinite.
 * @throws {KernelError} when a pool worker fails.
 */
export async function trainFactors(
  m: Csr,
  mt: Csr,
  s: FactorSettings,
  seed: number,
  label: string,
  onIteration?: (it: number, f: DomainFactors) => 'stop' | void | Promise<'stop' | void>,
  onStep?: (it: number, total: number) => void,
  run: AlsRun = {},
): Promise<DomainFactors> {
  const d = s.factors;
  const rng = Rng.derive(seed, `als:${label}`);
  const items = sharedFactors(m.nCols * d, run);
  randomFactors(m.nCols, d, rng, 0.01, items);
  const users = sharedFactors(m.nRows * d, run);
  const als: AlsSettings = { factors: d, regularization: s.regularization, alpha: s.alpha, cgSteps: s.cgSteps };
  // The factors of the last iteration that `onIteration` saw (a copy: training goes on in place).
  let f: DomainFactors | undefined;
  for (let it = 1; it <= s.iterations; it++) {
    await alsHalfStep(users, items, m, als, undefined, run);
    await alsHalfStep(items, users, mt, als, undefined, run);
    if (!allFinite(users) || !allFinite(items)) throw new ModelFitError(`${label}: ALS produced NaN or infinite factors at iteration ${it} (check weights, alpha and regularization)`);
    onStep?.(it, s.iterations);
    if (onIteration) {
      f = finishFactors(m, users, items, d, s.regularization);
      if ((await onIteration(it, f)) === 'stop') break;
    }
  }
  // Training is over: the trained arrays themselves become the factors (nothing writes them again).
  return f ?? finishFactors(m, users, items, d, s.regularization, false);
}

/**
 * Derive the mean user and the Gram matrix of factors; with `copy` (the default) the factors are
 * copies, else the arrays given, which the caller must not change afterwards.
 */
export function finishFactors(m: Csr, users: Float32Array, items: Float32Array, d: number, reg: number, copy = true): DomainFactors {
  const mean = new Float32Array(d);
  const acc = new Float64Array(d);
  let n = 0;
  for (let u = 0; u < m.nRows; u++) {
    if (m.indptr[u + 1] === m.indptr[u]) continue;
    n++;
    for (let a = 0; a < d; a++) acc[a] += users[u * d + a];
  }
  for (let a = 0; a < d; a++) mean[a] = n > 0 ? acc[a] / n : 0;
  return withGram({ d, users: copy ? users.slice() : users, items: copy ? items.slice() : items, mean }, reg);
}

/**
 * Factors with their Gram matrix found on first use (folding a user in): loading a model or
 * checking a save does not pay for a Gram matrix that scoring known users never reads.
 */
export function withGram(f: Omit<DomainFactors, 'gram'>, reg: number): DomainFactors {
  let g: Float64Array | undefined;
  return Object.defineProperty(f, 'gram', { get: () => (g ??= gram(f.items, f.d, reg)), enumerable: true }) as DomainFactors;
}

/**
 * The factor of one user from their rows in the domain: the stored factor when the rows are the
 * training rows, the domain's mean user when there are none, a fold-in solve otherwise.
 */
export function userFactor(f: DomainFactors, s: FactorSettings, train: Csr, u: number, idx: Uint32Array, val: Float32Array): Float32Array {
  if (idx.length === 0) return f.mean;
  // Users trained with the factors and unchanged since get their own; anyone else is solved against the item factors.
  if ((u + 1) * f.d <= f.users.length && u < train.nRows && sameRow(train, u, idx, val)) return f.users.subarray(u * f.d, (u + 1) * f.d);
  return solveNewRow(f.items, f.gram, idx, val, { factors: f.d, regularization: s.regularization, alpha: s.alpha, cgSteps: s.cgSteps }, Math.max(s.cgSteps, f.d));
}

/** Whether user u's training row equals (idx, val). */
function sameRow(m: Csr, u: number, idx: Uint32Array, val: Float32Array): boolean {
  const s = m.indptr[u];
  if (m.indptr[u + 1] - s !== idx.length) return false;
  for (let t = 0; t < idx.length; t++) if (m.indices[s + t] !== idx[t] || m.data[s + t] !== val[t]) return false;
  return true;
}

/** Mean NDCG@10 of the ranking by `vectors` (one per validation user) against their relevant items. */
export function validNdcg(
  backend: BackendName | 'auto',
  vectors: Float32Array,
  items: Float32Array,
  dim: number,
  seen: SparseRows,
  relevant: Set<number>[],
  k = 10,
): number {
  return meanNdcg(denseTopN(backend, vectors, items, dim, seen, k, { filterSeen: true }), relevant, k);
}

/** @throws {DataError} when a domain used as a target has fewer than two items. */
export function checkTarget(data: { nItems(d: number): number; vocab: { domains: { id(d: number): string } }; events: { source: string } }, d: number, model: string): void {
  const n = data.nItems(d);
  if (n < 2) {
    throw new DataError({ file: data.events.source }, `domain "${data.vocab.domains.id(d)}" has ${n} item${n === 1 ? '' : 's'}: ${model} needs at least 2 items to rank`);
  }
}

/** @throws {ModelFitError} when any value is NaN or infinite. */
export function checkFinite(a: ArrayLike<number>, what: string): void {
  if (!allFinite(a)) throw new ModelFitError(`${what}: training produced NaN or infinite values (lower the learning rate or check the input)`);
}

/** Store per-domain factors as model-file sections. */
export function exportFactors(factors: ReadonlyArray<DomainFactors | undefined>, sections: Record<string, SectionArray>): Array<number | null> {
  return factors.map((f, d) => {
    if (!f) return null;
    sections[`f.${d}.users`] = f.users;
    sections[`f.${d}.items`] = f.items;
    sections[`f.${d}.mean`] = f.mean;
    return f.d;
  });
}

/** Read per-domain factors written by `exportFactors`. @throws {ModelFormatError} */
export function importFactors(
  dims: unknown,
  sections: Record<string, SectionArray>,
  nUsers: number,
  nItems: number[],
  reg: number,
  label: string,
): Array<DomainFactors | undefined> {
  if (!Array.isArray(dims) || dims.length !== nItems.length) throw new ModelFormatError(`${label}: factor table does not match the domains`);
  return dims.map((d: unknown, t: number) => {
    if (d === null) return undefined;
    const users = sections[`f.${t}.users`];
    const items = sections[`f.${t}.items`];
    const mean = sections[`f.${t}.mean`];
    if (typeof d !== 'number' || !(users instanceof Float32Array) || !(items instanceof Float32Array) || !(mean instanceof Float32Array)) {
      throw new ModelFormatError(`${label}: factors of domain ${t} are missing`);
    }
    // Users added by foldIn after training have rows but no factors: the file holds at most nUsers.
    if (users.length % d !== 0 || users.length > nUsers * d || items.length !== nItems[t] * d || mean.length !== d) {
      throw new ModelFormatError(`${label}: factors of domain ${t} have the wrong size`);
    }
    return withGram({ d, users, items, mean }, reg);
  });
}

/** Vectors (row-major) for the users of a batch, one per user, from a per-user function; on a SharedArrayBuffer with `shared` (the pool reads it without a copy). */
export function batchVectors(batch: UserBatch, dim: number, vec: (b: number) => Float32Array, shared = false): Float32Array {
  const n = batch.users.length * dim;
  const out = shared ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n);
  for (let b = 0; b < batch.users.length; b++) out.set(vec(b), b * dim);
  return out;
}

/** A Float32Array section or a ModelFormatError. */
export function f32Section(sections: Record<string, SectionArray>, name: string, length: number, label: string): Float32Array {
  const a = sections[name];
  if (!(a instanceof Float32Array) || a.length !== length) throw new ModelFormatError(`${label}: section ${name} is missing or has the wrong size`);
  return a;
}

/** Map a non-finite training failure to ModelFitError. */
export function asFitError(e: unknown, label: string): unknown {
  if (e && typeof e === 'object' && (e as { nonFinite?: boolean }).nonFinite) return new ModelFitError(`${label}: ${(e as Error).message}`);
  return e;
}
