/**
 * Shared shape of the cross-domain transfer models (EMCDR, PTUPCDR): ALS factors per domain, and
 * per (source -> target) pair a mapping learned on the users present in both. A user who is cold
 * in the target but has source rows gets the mapped factors (averaged over the sources they have
 * rows in); a user with target rows keeps their own target factors; a user with neither gets the
 * target's mean user. Items are scored by dot product through the dense scoring kernel.
 */
import { liveCrossParts } from './cross-live.js';
import type { Dataset } from '../data/dataset.js';
import { DataError, ModelFormatError, UnknownIdError } from '../errors.js';
import type { SectionArray } from '../io/modelfile.js';
import { transposeCsr } from '../kernels/csr.js';
import type { BackendName, Csr, TopKRows } from '../kernels/types.js';
import type { Schema } from '../options/index.js';
import type { KernelPool } from '../pool/index.js';
import { Recommender } from '../engine/facade.js';
import { denseTopN, denseTopNPooled, type ScoreFilter } from '../engine/exec.js';
import { gatherRows, rowOf, UserBatch, type ModelData } from '../engine/rows.js';
import { reserve, type FitContext, type ModelDefinition, type SavedState, type Scorer, type ScoreParts } from '../engine/scorer.js';
import { validUsers } from '../engine/tuning.js';
import type { FitReport } from '../engine/types.js';
import { batchVectors, checkTarget, exportFactors, factorSettings, importFactors, trainFactors, userFactor, type DomainFactors, type FactorSettings } from '../models/factors.js';
import { initTensorflow, type Tf } from '../models/tf.js';
import { coupleTarget, type Coupling } from './coupling.js';

/** What a pair's fit sees. */
export interface PairContext {
  tf: Tf;
  data: Dataset;
  backend: BackendName | 'auto';
  source: number;
  target: number;
  fs: DomainFactors;
  ft: DomainFactors;
  /** Users with rows in both domains. */
  overlap: Uint32Array;
  /** Validation users of the target who have source rows, with their relevant target items and source rows. */
  valid?: { users: Uint32Array; relevant: Set<number>[]; sourceRows: Csr };
  seed: number;
  label: string;
}

/** A learned source -> target mapping. */
export interface PairMapping {
  /** Target-space vector (width = the model's scoring width) of a user from their source factor and source rows. */
  map(sourceFactor: Float32Array, idx: Uint32Array, val: Float32Array): Float32Array;
  /** Per target item, a bias the mapping learned (scored with weight 1 for mapped users). */
  readonly itemBias?: Float32Array;
  /** Choices and validation figures for the report. */
  report: Record<string, unknown>;
  /** State for the model file. */
  export(prefix: string, sections: Record<string, SectionArray>): Record<string, unknown>;
}

/** What differs between the transfer models: how a pair's mapping is learned and restored. */
export interface TransferKind {
  /** Learn the mapping of one pair (options resolved against the model's schema). */
  fitPair(ctx: PairContext, options: Readonly<Record<string, unknown>>): Promise<PairMapping>;
  /**
   * Restore the mapping of one pair from the model file.
   * @throws {ModelFormatError} when its sections are missing or have the wrong size.
   */
  importPair(options: Readonly<Record<string, unknown>>, meta: Record<string, unknown>, prefix: string, sections: Record<string, SectionArray>, ft: DomainFactors, fs: DomainFactors, label: string): PairMapping;
  /** Items are scored with one extra column, the mappings' mean item bias (users with target rows weigh it 0). */
  readonly biased: boolean;
  /** The model's name, for messages. */
  readonly name: string;
}

/** One target's mappings, one per source. */
type Pairs = ReadonlyArray<ReadonlyArray<{ source: number; mapping: PairMapping }>>;

/** A fitted transfer model: factors, coupled target factors, and the mappings of every pair. */
export class CrossScorer implements Scorer {
  /** Per target: scoring width and item matrix (item factors, and the bias column of a biased kind). */
  private readonly targetItems: Array<{ dim: number; items: Float32Array } | undefined>;

  constructor(
    private readonly data: ModelData,
    private readonly backend: BackendName | 'auto',
    private readonly settings: FactorSettings,
    private readonly kind: TransferKind,
    /** Plain ALS factors per domain: the source side of every pair, and the target side unless coupled. */
    readonly factors: ReadonlyArray<DomainFactors | undefined>,
    /** Coupled target-side factors per domain; undefined where not coupled. */
    readonly coupled: ReadonlyArray<DomainFactors | undefined>,
    readonly pairs: Pairs,
    /** The coupling settings in use (undefined: off). */
    readonly coupling: Coupling | undefined,
    private readonly fitInfo: Omit<FitReport, 'model' | 'choices'> = { seconds: {}, stats: {} },
  ) {
    this.targetItems = pairs.map((list, t) => (list.length > 0 ? this.itemsOf(t) : undefined));
  }

  /** The factors a target domain is scored in: its coupled factors if any, else its plain ones. */
  targetSide(t: number): DomainFactors | undefined {
    return this.coupled[t] ?? this.factors[t];
  }

  private itemsOf(t: number): { dim: number; items: Float32Array } {
    const f = this.targetSide(t)!;
    if (!this.kind.biased) return { dim: f.d, items: f.items };
    const n = f.items.length / f.d;
    const dim = f.d + 1;
    const items = new Float32Array(n * dim);
    const pairs = this.pairs[t];
    for (let i = 0; i < n; i++) {
      items.set(f.items.subarray(i * f.d, (i + 1) * f.d), i * dim);
      let b = 0;
      for (const p of pairs) b += p.mapping.itemBias![i];
      items[i * dim + f.d] = b / pairs.length;
    }
    return { dim, items };
  }

  /** A target-factor vector (warm user or mean) widened to the scoring width: bias weight 1 for the mean user, 0 for a warm one. */
  private widen(v: Float32Array, cold: boolean): Float32Array {
    if (!this.kind.biased) return v;
    const out = new Float32Array(v.length + 1);
    out.set(v);
    out[v.length] = cold ? 1 : 0;
    return out;
  }

  private target(t: number): { dim: number; items: Float32Array } {
    const x = this.targetItems[t];
    if (!x) throw new UnknownIdError('domain', this.data.vocab.domains.id(t), `${this.kind.name} was not fitted for this target domain (no source domain, or not in options.targets)`);
    return x;
  }

  /** The scoring vector of batch user b in target t. */
  private vectorFor(batch: UserBatch, b: number, t: number): Float32Array {
    const u = batch.users[b];
    const tr = rowOf(batch.rows(t), b);
    const ft = this.targetSide(t)!;
    if (tr.idx.length > 0) return this.widen(userFactor(ft, this.settings, this.data.matrices[t], u, tr.idx, tr.val), false);
    const { dim } = this.target(t);
    const acc = new Float32Array(dim);
    let n = 0;
    for (const p of this.pairs[t]) {
      const sr = rowOf(batch.rows(p.source), b);
      if (sr.idx.length === 0) continue;
      const xs = userFactor(this.factors[p.source]!, this.settings, this.data.matrices[p.source], u, sr.idx, sr.val);
      const v = p.mapping.map(xs, sr.idx, sr.val);
      for (let a = 0; a < dim; a++) acc[a] += v[a];
      n++;
    }
    if (n === 0) return this.widen(ft.mean, true);
    if (n > 1) for (let a = 0; a < dim; a++) acc[a] /= n;
    return acc;
  }

  /** What `score` ranks with: the batch users' vectors (row-major) and the item matrix of target t (the fused model runs the dense kernel on them itself). */
  denseInputs(batch: UserBatch, t: number): { vectors: Float32Array; items: Float32Array; dim: number } {
    const { dim, items } = this.target(t);
    // On shared memory: the pool's fused task reads them without a copy.
    return { vectors: batchVectors(batch, dim, (b) => this.vectorFor(batch, b, t), true), items, dim };
  }

  score(batch: UserBatch, t: number, n: number, filter: ScoreFilter): TopKRows {
    const { dim, items } = this.target(t);
    return denseTopN(this.backend, batchVectors(batch, dim, (b) => this.vectorFor(batch, b, t)), items, dim, batch.rows(t), n, filter);
  }

  scorePooled(batch: UserBatch, t: number, n: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows> {
    const { dim, items } = this.target(t);
    return denseTopNPooled(pool, this.backend, batchVectors(batch, dim, (b) => this.vectorFor(batch, b, t)), items, dim, batch.rows(t), n, filter);
  }

  /**
   * Occlusion: each of the user's rows (target rows for a warm user, source rows otherwise) gets
   * score minus the score without that row; the remainder (what is left with no rows: the mapping's
   * bias, the mean user) is one `popularity` term, so the terms add up to the score.
   */
  explain(batch: UserBatch, t: number, item: number): ScoreParts {
    const { dim, items } = this.target(t);
    const scoreOf = (v: Float32Array) => {
      let s = 0;
      for (let a = 0; a < dim; a++) s += v[a] * items[item * dim + a];
      return s;
    };
    const domains = rowOf(batch.rows(t), 0).idx.length > 0 ? [t] : this.pairs[t].map((p) => p.source);
    const full = scoreOf(this.vectorFor(batch, 0, t));
    const contributions: ScoreParts['contributions'] = [];
    let sum = 0;
    for (const d of domains) {
      const row = rowOf(batch.rows(d), 0);
      for (let q = 0; q < row.idx.length; q++) {
        const keep = (_: unknown, k: number) => k !== q;
        const rows = (dd: number): Csr => {
          const m = batch.rows(dd);
          if (dd !== d) return { ...m, nRows: 1, indptr: Uint32Array.of(0, m.indptr[1] - m.indptr[0]), indices: m.indices.slice(m.indptr[0], m.indptr[1]), data: m.data.slice(m.indptr[0], m.indptr[1]) };
          const idx = row.idx.filter(keep);
          return { nRows: 1, nCols: m.nCols, indptr: Uint32Array.of(0, idx.length), indices: idx, data: row.val.filter(keep) };
        };
        // A user index that never matches stored rows, so the occluded rows are folded in.
        const w = full - scoreOf(this.vectorFor(UserBatch.ofRows(0xffffffff, rows, this.data.nItems.length), 0, t));
        sum += w;
        contributions.push({ kind: 'item', id: this.data.vocab.items(d).id(row.idx[q]), domain: this.data.vocab.domains.id(d), weight: w });
      }
    }
    contributions.push({ kind: 'popularity', id: '', weight: full - sum });
    return { score: full, contributions };
  }

  exportState(): SavedState {
    const sections: SavedState['sections'] = {};
    const dims = exportFactors(this.factors, sections);
    const coupledSections: SavedState['sections'] = {};
    const coupledDims = this.coupled.some(Boolean) ? exportFactors(this.coupled, coupledSections) : undefined;
    for (const [k, v] of Object.entries(coupledSections)) sections[`coupled.${k}`] = v;
    const pairs = this.pairs.map((list, t) => list.map((p) => ({ source: p.source, report: p.mapping.report, state: p.mapping.export(`map.${t}.${p.source}`, sections) })));
    return { meta: { dims, coupledDims, pairs }, sections };
  }

  /** Per pair `source->target`: the chosen mapping and the validation figures behind it. */
  report(): Omit<FitReport, 'model'> {
    const choices: Record<string, unknown> = Object.create(null);
    this.pairs.forEach((list, t) => {
      for (const p of list) choices[`${this.data.vocab.domains.id(p.source)}->${this.data.vocab.domains.id(t)}`] = p.mapping.report;
    });
    return { seconds: this.fitInfo.seconds, choices, stats: this.fitInfo.stats };
  }
}

/** Fit: factors of every domain (shared through the fit cache), optional coupling, then a mapping per pair. */
async function fitCross(ctx: FitContext, options: Readonly<Record<string, unknown>>, kind: TransferKind): Promise<CrossScorer> {
  const name = kind.name;
  const data = ctx.dataset;
  const s = factorSettings(options);
  const coupling = options.coupling as Coupling | undefined;
  const nD = data.nDomains;
  if (nD < 2) throw new DataError({ file: data.events.source }, `${name} needs at least two domains (a source and a target)`);
  const sourceIdx = (options.sources as string[] | undefined)?.map((x) => ctx.domainIndex(x));
  const wanted = (options.targets as string[] | undefined)?.map((x) => ctx.domainIndex(x));
  const targets: number[] = [];
  for (let t = 0; t < nD; t++) if (data.nItems(t) > 0 && (!wanted || wanted.includes(t))) targets.push(t);
  for (const t of targets) checkTarget(data, t, name);
  const sourcesOf = (t: number) => (sourceIdx ?? [...Array(nD).keys()]).filter((x) => x !== t && data.nItems(x) > 0);
  const tf = await initTensorflow();
  const t0 = performance.now();
  // 1. ALS factors of every domain, trained once per fit cache (the fused model's EMCDR and PTUPCDR share them).
  const couplingRan = !!coupling && coupling.weight > 0;
  let cells = 0;
  for (let d = 0; d < nD; d++) if (data.nItems(d) > 0) cells += (data.nUsers + data.nItems(d)) * s.factors;
  if (couplingRan) for (const t of targets) cells += (data.nUsers + data.nItems(t)) * s.factors * 2; // the coupled copy and the prior
  reserve(ctx, cells * 4 * 2, `the factor matrices (${cells / s.factors} rows x ${s.factors} factors, with ALS scratch)`);
  // The domains train side by side: one domain's Gram products and bookkeeping in this thread
  // overlap the other's row solves on the pool. Each domain's factors depend only on its own rows
  // and the seed, so they are the same as when trained one after the other.
  const took: number[] = new Array(nD).fill(-1);
  const factors: Array<DomainFactors | undefined> = await Promise.all(
    Array.from({ length: nD }, async (_, d) => {
      if (data.nItems(d) === 0) return undefined;
      const a = performance.now();
      const m = data.matrix(d);
      const label = `cross:${data.vocab.domains.id(d)}`;
      const step = (it: number, total: number) => ctx.progress(`als:${data.vocab.domains.id(d)}`, it, total);
      const f = await ctx.cache.memo(m, JSON.stringify(['als', s, ctx.seed, label]), () => trainFactors(m, transposeCsr(m), s, ctx.seed, label, undefined, step, { pool: ctx.pool, backend: ctx.backend }));
      took[d] = (performance.now() - a) / 1000;
      return f;
    }),
  );
  const alsSeconds: Record<string, number> = {};
  took.forEach((sec, d) => {
    if (sec >= 0) alsSeconds[`als:${data.vocab.domains.id(d)}`] = sec;
  });
  // 1b. Optionally, target-side factors coupled to their sources (always from the plain factors,
  // so neither the order of the targets nor other fits change them).
  const tc = performance.now();
  const coupled: Array<DomainFactors | undefined> = Array.from({ length: nD }, () => undefined);
  if (couplingRan) {
    for (const t of targets) {
      const sources = sourcesOf(t);
      const label = `cross:${data.vocab.domains.id(t)}`;
      const key = JSON.stringify(['coupled', s, ctx.seed, label, coupling, sources]);
      if (sources.length > 0) coupled[t] = await ctx.cache.memo(data.matrix(t), key, async () => coupleTarget({ pool: ctx.pool, backend: ctx.backend }, data, t, sources, factors, s, coupling!, label));
    }
  }
  const t1 = performance.now();
  // 2. A mapping per (source -> target) pair.
  const pairs: Array<Array<{ source: number; mapping: PairMapping }>> = Array.from({ length: nD }, () => []);
  const nPairs = targets.reduce((n, t) => n + sourcesOf(t).length, 0);
  let mapped = 0;
  for (const t of targets) {
    const mt = data.matrix(t);
    const truth = validUsers(ctx.valid, t, data.nItems(t));
    for (const src of sourcesOf(t)) {
      const ms = data.matrix(src);
      const ov: number[] = [];
      for (let u = 0; u < data.nUsers; u++) if (ms.indptr[u + 1] > ms.indptr[u] && mt.indptr[u + 1] > mt.indptr[u]) ov.push(u);
      const names = `"${data.vocab.domains.id(src)}" and "${data.vocab.domains.id(t)}"`;
      if (ov.length === 0) throw new DataError({ file: data.events.source }, `domains ${names} share no users: ${name} needs users with rows in both to learn a mapping`);
      let valid: PairContext['valid'];
      if (truth) {
        const keep = Array.from(truth.users.keys()).filter((b) => {
          const u = truth.users[b];
          return u < data.nUsers && ms.indptr[u + 1] > ms.indptr[u] && mt.indptr[u + 1] === mt.indptr[u];
        });
        if (keep.length > 0) {
          const users = Uint32Array.from(keep, (b) => truth.users[b]);
          valid = { users, relevant: keep.map((b) => truth.relevant[b]), sourceRows: gatherRows(ctx.data, users, src, undefined) };
        }
      }
      const label = `${name}:${data.vocab.domains.id(src)}->${data.vocab.domains.id(t)}`;
      const mapping = await kind.fitPair({ tf, data, backend: ctx.backend, source: src, target: t, fs: factors[src]!, ft: (coupled[t] ?? factors[t])!, overlap: Uint32Array.from(ov), valid, seed: ctx.seed, label }, options);
      pairs[t].push({ source: src, mapping });
      ctx.progress('mapping', ++mapped, nPairs);
    }
  }
  const seconds = { als: (tc - t0) / 1000, ...alsSeconds, ...(couplingRan ? { coupling: (t1 - tc) / 1000 } : {}), mapping: (performance.now() - t1) / 1000 };
  const stats = { iterations: s.iterations, ...(couplingRan ? { coupling: { ...coupling } } : {}) };
  return new CrossScorer(ctx.data, ctx.backend, s, kind, factors, coupled, pairs, couplingRan ? coupling : undefined, { seconds, stats });
}

/** Restore a transfer model's scorer from its file state. @throws {ModelFormatError} */
function restoreCross(env: { data: ModelData; backend: BackendName | 'auto' }, options: Readonly<Record<string, unknown>>, { meta, sections }: SavedState, label: string, kind: TransferKind): CrossScorer {
  const data = env.data;
  const s = factorSettings(options);
  const factors = importFactors(meta.dims, sections, data.nUsers, data.nItems, s.regularization, label);
  // Files without coupled factors (coupling off) score in the plain factors.
  const coupledSections: SavedState['sections'] = {};
  for (const [k, v] of Object.entries(sections)) if (k.startsWith('coupled.')) coupledSections[k.slice('coupled.'.length)] = v;
  const coupled = meta.coupledDims === undefined || meta.coupledDims === null ? [] : importFactors(meta.coupledDims, coupledSections, data.nUsers, data.nItems, s.regularization, `${label} (coupled)`);
  const raw = meta.pairs;
  if (!Array.isArray(raw) || raw.length !== data.nItems.length) throw new ModelFormatError(`${label}: mapping table is missing`);
  const pairs = raw.map((list: unknown, t: number) => {
    if (!Array.isArray(list)) throw new ModelFormatError(`${label}: mapping table is invalid`);
    return list.map((p: { source?: unknown; report?: unknown; state?: unknown } | null) => {
      const src = typeof p === 'object' && p !== null ? Number(p.source) : NaN;
      if (!Number.isInteger(src) || !(src >= 0 && src < data.nItems.length) || src === t || !factors[src] || !factors[t]) throw new ModelFormatError(`${label}: mapping ${src}->${t} is invalid`);
      if (typeof p!.state !== 'object' || p!.state === null) throw new ModelFormatError(`${label}: mapping ${src}->${t} has no state`);
      const mapping = kind.importPair(options, p!.state as Record<string, unknown>, `map.${t}.${src}`, sections, (coupled[t] ?? factors[t])!, factors[src]!, label);
      mapping.report = (typeof p!.report === 'object' && p!.report !== null ? p!.report : {}) as Record<string, unknown>;
      return { source: src, mapping };
    });
  });
  const coupling = coupled.some(Boolean) ? (options.coupling as Coupling | undefined) : undefined;
  return new CrossScorer(data, env.backend, s, kind, factors, coupled, pairs, coupling);
}

/** The model type of a transfer model of this kind. */
export function crossDefinition(schema: Schema, kind: TransferKind): ModelDefinition<CrossScorer> {
  return {
    name: kind.name,
    schema,
    capabilities: { similarItems: false, similarUsers: false, explain: true },
    fit: (ctx, options) => fitCross(ctx, options, kind),
    restore: (env, options, state, label) => restoreCross(env, options, state, label, kind),
    live: async (s, c, options) => {
      const p = await liveCrossParts(s, c, options, kind);
      return new CrossScorer(c.after, c.backend, p.settings, kind, p.factors, p.coupled, p.pairs, s.coupling);
    },
  };
}

/** The facade of a transfer model (EMCDR, PTUPCDR). */
export class TransferRecommender extends Recommender<CrossScorer> {
  /** The coupling settings in use (`options.coupling` with its defaults, or as loaded); undefined when off (not given, or weight 0). */
  couplingSettings(): Readonly<Coupling> | undefined {
    const c = this.options.coupling as Coupling | undefined;
    return c && c.weight > 0 ? c : undefined;
  }
}
