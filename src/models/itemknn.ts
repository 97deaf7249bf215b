/**
 * Item-based collaborative filtering (item kNN). Fit: per domain, the `neighbors` most similar
 * items of every item by cosine over the users they share (optionally shrunk, or on TF-IDF / BM25
 * weighted interactions), computed by the wasm kernel across the pool. Score: a user's row times
 * the neighbour matrix, score_i = sum_j w_uj S_ji, seen items excluded.
 */
import { ModelFormatError, UnknownIdError } from '../errors.js';
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import { rowNorms, transposeCsr } from '../kernels/csr.js';
import type { BackendName, Neighbours, TopKRows } from '../kernels/types.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import type { KernelPool } from '../pool/index.js';
import { Recommender } from '../engine/facade.js';
import { cosineTopKAny, sparseTopN, sparseTopNPooled, type ScoreFilter } from '../engine/exec.js';
import { validateCsr } from '../engine/envelope.js';
import type { ModelData, UserBatch } from '../engine/rows.js';
import { reserve, type IndexList, type ModelDefinition, type SavedState, type Scorer, type ScoreParts } from '../engine/scorer.js';
import type { FitReport, ModelOptions } from '../engine/types.js';
import { liveItemKnn } from './knn-live.js';
import { valueAt } from './sparse.js';
import { bm25Weight, tfidfWeight, type Weighting } from './weighting.js';

/** Options of `ItemKnn` (schema: MODEL_SCHEMAS.itemknn). */
export interface ItemKnnOptions extends ModelOptions {
  /** Neighbours kept per item. @default 50 */
  neighbors?: number;
  /** Shrinkage added to the cosine denominator: dot / (|a| |b| + shrink). @default 0 */
  shrink?: number;
  /** Weighting of interactions before similarity: none (cosine), tfidf (cosine on TF-IDF), bm25 (dot product on BM25, as implicit). @default 'none' */
  weighting?: Weighting;
  /** BM25 saturation. @default 1.2 */
  bm25K1?: number;
  /** BM25 length normalisation. @default 0.75 */
  bm25B?: number;
  /**
   * Domains whose neighbour lists are built (the fused model passes its target domains); a domain
   * left out cannot be scored, and asking for it is an `UnknownIdError`. @default every domain
   */
  targets?: readonly string[];
}

/** Per domain, each item's neighbours (rows sorted best first); undefined for a domain outside `targets`. */
export class ItemKnnScorer implements Scorer {
  constructor(
    readonly neighbours: ReadonlyArray<Neighbours | undefined>,
    private readonly backend: BackendName | 'auto',
    private readonly data: ModelData,
  ) {}

  /** Domain d's neighbour lists. @throws {UnknownIdError} for a domain the model was not fitted for */
  table(d: number): Neighbours {
    const m = this.neighbours[d];
    if (!m) throw new UnknownIdError('domain', this.data.vocab.domains.id(d), 'item kNN was not fitted for this domain (not in options.targets)');
    return m;
  }

  score(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows {
    const rows = batch.rows(d);
    return sparseTopN(this.backend, rows, this.table(d), rows, n, filter);
  }

  scorePooled(batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows> {
    const rows = batch.rows(d);
    return sparseTopNPooled(pool, this.backend, rows, this.table(d), rows, n, filter);
  }

  explain(batch: UserBatch, d: number, item: number): ScoreParts {
    const rows = batch.rows(d);
    const vocab = this.data.vocab.items(d);
    const domain = this.data.vocab.domains.id(d);
    const contributions: ScoreParts['contributions'] = [];
    const m = this.table(d);
    let score = 0;
    for (let t = rows.indptr[0]; t < rows.indptr[1]; t++) {
      const j = rows.indices[t];
      const w = rows.data[t] * valueAt(m, j, item);
      if (w === 0) continue;
      score += w;
      contributions.push({ kind: 'item', id: vocab.id(j), domain, weight: w });
    }
    return { score, contributions };
  }

  similarItems(d: number, i: number, k: number): IndexList {
    const m = this.table(d);
    const s = m.indptr[i];
    const e = Math.min(m.indptr[i + 1], s + k);
    return { indices: m.indices.slice(s, e), scores: m.data.slice(s, e) };
  }

  exportState(): SavedState {
    const fitted = this.neighbours.flatMap((m, d) => (m ? [d] : []));
    // `fitted` only when some domain was left out: files of models over every domain stay as they were.
    const meta = fitted.length === this.neighbours.length ? { domains: this.neighbours.length } : { domains: this.neighbours.length, fitted };
    return { meta, sections: exportNeighbours(this.neighbours, 'nb') };
  }

  report(): Omit<FitReport, 'model'> {
    return { seconds: {}, choices: {}, stats: {} };
  }
}

/** The item-kNN model type. */
export const ITEMKNN: ModelDefinition<ItemKnnScorer> = {
  name: 'itemknn',
  schema: MODEL_SCHEMAS.itemknn,
  capabilities: { similarItems: true, similarUsers: false, explain: true },
  async fit(ctx, options) {
    const neighbors = options.neighbors as number;
    const shrink = options.shrink as number;
    const weighting = options.weighting as Weighting;
    const data = ctx.dataset;
    const targets = options.targets as readonly string[] | undefined;
    const fitted = targets ? new Set(targets.map((name) => ctx.domainIndex(name))) : undefined;
    // Neighbour lists (u32 index + f32 score per slot; an item has at most every item of its domain
    // as neighbours) plus each domain's transpose (an index and a value per matrix entry).
    let items = 0;
    let slots = 0;
    let entries = 0;
    for (let d = 0; d < data.nDomains; d++) {
      if (fitted && !fitted.has(d)) continue;
      items += data.nItems(d);
      slots += data.nItems(d) * Math.min(neighbors, data.nItems(d));
      entries += data.matrix(d).indices.length;
    }
    const kept = Math.min(neighbors, Math.max(0, ...Array.from({ length: data.nDomains }, (_, d) => (fitted && !fitted.has(d) ? 0 : data.nItems(d)))));
    reserve(ctx, slots * 8 + entries * 8, `the neighbour table (${items} items x ${kept} neighbours)`);
    // A domain's lists depend on its matrix and these settings only: memoised per matrix, so the
    // fused model's refit for tuning (fusion/migration.ts) reuses the lists of domains it left as they were.
    const key = JSON.stringify(['itemknn', neighbors, shrink, weighting, weighting === 'bm25' ? [options.bm25K1, options.bm25B] : null, ctx.backend]);
    const out: Array<Neighbours | undefined> = [];
    for (let d = 0; d < data.nDomains; d++) {
      if (fitted && !fitted.has(d)) {
        out.push(undefined);
        ctx.progress('similarity', d + 1, data.nDomains);
        continue;
      }
      out.push(
        await ctx.cache.memo(data.matrix(d), key, async () => {
          let x = data.matrix(d);
          if (weighting === 'tfidf') x = tfidfWeight(x);
          else if (weighting === 'bm25') x = bm25Weight(x, { K1: options.bm25K1 as number, B: options.bm25B as number });
          const xt = transposeCsr(x);
          // BM25 is a plain dot product (as in implicit); the others are cosine.
          const norms = weighting === 'bm25' ? new Float32Array(xt.nRows).fill(1) : rowNorms(xt);
          return cosineTopKAny(ctx.pool, ctx.backend, xt, x, norms, norms, neighbors, shrink);
        }),
      );
      ctx.progress('similarity', d + 1, data.nDomains);
    }
    return new ItemKnnScorer(out, ctx.backend, ctx.data);
  },
  restore(env, options, { meta, sections }, label) {
    return new ItemKnnScorer(importNeighbours(env.data.nItems, options.neighbors as number, meta, sections, label, 'nb'), env.backend, env.data);
  },
  async live(scorer, change, options) {
    return new ItemKnnScorer(await liveItemKnn(scorer.neighbours, change, options), change.backend, change.after);
  },
};

/** Item kNN over every domain of the data. */
export class ItemKnn extends Recommender<ItemKnnScorer> {
  /** @throws {OptionTypeError|OptionRangeError} for a bad option (an unknown key names the nearest valid one). */
  constructor(options: ItemKnnOptions = {}) {
    super(ITEMKNN, options);
  }

  /** Load an item-kNN model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<ItemKnn> {
    return new ItemKnn(options).loadFrom(path, content);
  }

  /** The neighbour matrix of a domain (rows sorted best first). @throws {UnknownIdError} also for a domain outside `targets` */
  neighborMatrix(domain?: string): Neighbours {
    return this.scorer().table(this.domainOf(domain));
  }
}

/** Per-domain neighbour matrices as sections `${prefix}.${d}.*` (none for a missing domain). */
export function exportNeighbours(ms: ReadonlyArray<Neighbours | undefined>, prefix: string): Record<string, SectionArray> {
  const sections: Record<string, SectionArray> = {};
  ms.forEach((m, d) => {
    if (!m) return;
    sections[`${prefix}.${d}.indptr`] = m.indptr;
    sections[`${prefix}.${d}.indices`] = m.indices;
    sections[`${prefix}.${d}.data`] = m.data;
  });
  return sections;
}

/**
 * Read per-domain neighbour matrices `${prefix}.${d}.*` written by `exportNeighbours`; with
 * `meta.fitted` (a list of domain indices), only those domains have one. @throws {ModelFormatError}
 */
export function importNeighbours(nItems: number[], k: number, meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string, prefix: string): Array<Neighbours | undefined> {
  if (meta.domains !== nItems.length) throw new ModelFormatError(`${label}: domain count does not match`);
  const fitted = meta.fitted;
  if (fitted !== undefined && (!Array.isArray(fitted) || fitted.some((d, q) => !Number.isInteger(d) || d < 0 || d >= nItems.length || (q > 0 && d <= fitted[q - 1])))) {
    throw new ModelFormatError(`${label}: the list of fitted domains is malformed`);
  }
  return nItems.map((n, d) => {
    if (fitted && !fitted.includes(d)) return undefined;
    const [indptr, indices, data] = ['indptr', 'indices', 'data'].map((f) => sections[`${prefix}.${d}.${f}`]);
    if (!(indptr instanceof Uint32Array) || !(indices instanceof Uint32Array) || !(data instanceof Float32Array)) {
      throw new ModelFormatError(`${label}: neighbour matrix of domain ${d} is missing`);
    }
    const m = { nRows: n, nCols: n, k, indptr, indices, data };
    validateCsr(m, `neighbours of domain ${d}`, label);
    return m;
  });
}
