/**
 * Item-based collaborative filtering (item kNN). Fit: per domain, the `neighbors` most similar
 * items of every item by cosine over the users they share (optionally shrunk, or on TF-IDF / BM25
 * weighted interactions), computed by the wasm kernel across the pool. Score: a user's row times
 * the neighbour matrix, score_i = sum_j w_uj S_ji, seen items excluded.
 */
import type { Dataset } from '../data/dataset.js';
import { ModelFormatError } from '../errors.js';
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import { rowNorms, transposeCsr } from '../kernels/csr.js';
import type { Neighbours, TopKRows } from '../kernels/types.js';
import type { KernelPool } from '../pool/index.js';
import { checkK, Recommender, validateCsr, type Contribution, type ModelOptions, type ScoreFilter, type UserBatch } from './base.js';
import { cosineTopK, sparseTopN, valueAt } from './scoring.js';
import type { FitOptions } from './types.js';
import { bm25Weight, tfidfWeight, type Weighting } from './weighting.js';

/** Options of `ItemKnn`. */
export interface ItemKnnOptions extends ModelOptions {
  /** Neighbours kept per item. @default 50 */
  neighbors?: number;
  /** Shrinkage added to the cosine denominator: dot / (|a| |b| + shrink). @default 0 */
  shrink?: number;
  /** Weighting of interactions before similarity: none (cosine), tfidf (cosine on TF-IDF), bm25 (dot product on BM25, as implicit). @default 'none' */
  weighting?: Weighting;
  /** BM25 saturation. @default 1.2 */
  K1?: number;
  /** BM25 length normalisation. @default 0.75 */
  B?: number;
}

/** Item kNN over every domain of the data. */
export class ItemKnn extends Recommender {
  readonly name = 'itemknn' as const;
  private readonly opts: Required<Pick<ItemKnnOptions, 'neighbors' | 'shrink' | 'weighting' | 'K1' | 'B'>>;
  private neighbours: Neighbours[] = [];

  constructor(options: ItemKnnOptions = {}) {
    super(options);
    const weighting = options.weighting ?? 'none';
    if (!['none', 'tfidf', 'bm25'].includes(weighting)) throw new RangeError(`options.weighting must be none, tfidf or bm25 (got ${JSON.stringify(weighting)})`);
    const shrink = options.shrink ?? 0;
    if (typeof shrink !== 'number' || !(shrink >= 0) || !Number.isFinite(shrink)) throw new RangeError(`options.shrink must be a finite number >= 0 (got ${String(shrink)})`);
    const K1 = options.K1 ?? 1.2;
    const B = options.B ?? 0.75;
    if (!(K1 > 0) || !Number.isFinite(K1)) throw new RangeError(`options.K1 must be a positive number (got ${String(K1)})`);
    if (!(B >= 0 && B <= 1)) throw new RangeError(`options.B must be a number in [0, 1] (got ${String(B)})`);
    this.opts = { neighbors: checkK(options.neighbors ?? 50, 'options.neighbors'), shrink, weighting, K1, B };
  }

  /** Load an item-kNN model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<ItemKnn> {
    return new ItemKnn(options).loadInto(path, content);
  }

  /** The neighbour matrix of a domain (rows sorted best first). */
  neighborMatrix(domain?: string): Neighbours {
    return this.neighbours[this.domainIndex(domain)];
  }

  protected async fitModel(data: Dataset, _options: FitOptions): Promise<void> {
    const { neighbors, shrink, weighting } = this.opts;
    let items = 0;
    for (let d = 0; d < data.nDomains; d++) items += data.nItems(d);
    // Neighbour lists (u32 index + f32 score per slot) plus each domain's transpose.
    this.reserve(items * neighbors * 8 + data.events.length * 8, `the neighbour table (${items} items x ${neighbors} neighbours)`);
    const out: Neighbours[] = [];
    for (let d = 0; d < data.nDomains; d++) {
      let x = data.matrix(d);
      if (weighting === 'tfidf') x = tfidfWeight(x);
      else if (weighting === 'bm25') x = bm25Weight(x, this.opts);
      const xt = transposeCsr(x);
      // BM25 is a plain dot product (as in implicit); the others are cosine.
      const norms = weighting === 'bm25' ? new Float32Array(xt.nRows).fill(1) : rowNorms(xt);
      out.push(await cosineTopK(this.pool, this.backend, xt, x, norms, norms, neighbors, shrink));
    }
    this.neighbours = out;
  }

  protected scoreBatch(batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool | undefined): TopKRows | Promise<TopKRows> {
    const rows = batch.rows(d);
    return sparseTopN(pool, this.backend, rows, this.neighbours[d], rows, n, filter);
  }

  protected explainScore(batch: UserBatch, d: number, item: number): { score: number; contributions: Contribution[] } {
    const rows = batch.rows(d);
    const vocab = this.fitted().vocab.items(d);
    const domain = this.fitted().vocab.domains.id(d);
    const contributions: Contribution[] = [];
    let score = 0;
    for (let t = rows.indptr[0]; t < rows.indptr[1]; t++) {
      const j = rows.indices[t];
      const w = rows.data[t] * valueAt(this.neighbours[d], j, item);
      if (w === 0) continue;
      score += w;
      contributions.push({ kind: 'item', id: vocab.id(j), domain, weight: w });
    }
    return { score, contributions };
  }

  protected override similarItemsIndex(d: number, i: number, k: number): { indices: Uint32Array; scores: Float32Array } {
    const m = this.neighbours[d];
    const s = m.indptr[i];
    const e = Math.min(m.indptr[i + 1], s + k);
    return { indices: m.indices.slice(s, e), scores: m.data.slice(s, e) };
  }

  protected exportState(): { meta: Record<string, unknown>; sections: Record<string, SectionArray> } {
    const sections: Record<string, SectionArray> = {};
    this.neighbours.forEach((m, d) => {
      sections[`nb.${d}.indptr`] = m.indptr;
      sections[`nb.${d}.indices`] = m.indices;
      sections[`nb.${d}.data`] = m.data;
    });
    return { meta: { options: this.opts, domains: this.neighbours.length }, sections };
  }

  protected importState(meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string): void {
    this.neighbours = importNeighbours(this.fitted().nItems, meta, sections, label, 'nb');
    Object.assign(this.opts, (meta.options ?? {}) as object);
  }
}

/** Read per-domain neighbour matrices `${prefix}.${d}.*` written by a kNN model. @throws {ModelFormatError} */
export function importNeighbours(nItems: number[], meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string, prefix: string): Neighbours[] {
  if (meta.domains !== nItems.length) throw new ModelFormatError(`${label}: domain count does not match`);
  const k = Number((meta.options as { neighbors?: unknown } | undefined)?.neighbors ?? 0);
  return nItems.map((n, d) => {
    const [indptr, indices, data] = ['indptr', 'indices', 'data'].map((f) => sections[`${prefix}.${d}.${f}`]);
    if (!(indptr instanceof Uint32Array) || !(indices instanceof Uint32Array) || !(data instanceof Float32Array)) {
      throw new ModelFormatError(`${label}: neighbour matrix of domain ${d} is missing`);
    }
    const m = { nRows: n, nCols: n, k, indptr, indices, data };
    validateCsr(m, `neighbours of domain ${d}`, label);
    return m;
  });
}
