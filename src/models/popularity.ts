/**
 * Popularity: every user gets the domain's most popular training items, ranked by the sum of their
 * interaction weights (behaviour weights and time decay included, so on unit-weight data the
 * number of interactions). Ties break by the lower item index.
 */
import type { Dataset } from '../data/dataset.js';
import { columnSums } from '../data/matrix.js';
import { ModelFormatError } from '../errors.js';
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import { getKernels } from '../kernels/index.js';
import type { TopKRows } from '../kernels/types.js';
import { Recommender, type Contribution, type ModelOptions, type ScoreFilter, type UserBatch } from './base.js';
import type { FitOptions } from './types.js';

/** Popularity per domain. */
export class Popularity extends Recommender {
  readonly name = 'popularity' as const;
  /** Per domain: popularity by item, and items by decreasing popularity. */
  private pop: Float32Array[] = [];
  private order: Uint32Array[] = [];

  constructor(options: ModelOptions = {}) {
    super(options);
  }

  /** Load a popularity model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<Popularity> {
    return new Popularity(options).loadInto(path, content);
  }

  protected async fitModel(data: Dataset, _options: FitOptions): Promise<void> {
    const pop: Float32Array[] = [];
    for (let d = 0; d < data.nDomains; d++) {
      pop.push(Float32Array.from(columnSums(data.matrix(d))));
    }
    this.setPopularity(pop);
  }

  private setPopularity(pop: Float32Array[]): void {
    const kernels = getKernels(this.backend);
    this.pop = pop;
    this.order = pop.map((p) => kernels.topk(p, p.length).indices);
  }

  /** Popularity scores of domain `d`'s items, by item index (a copy). */
  scores(domain: string): Float32Array {
    return this.pop[this.domainIndex(domain)].slice();
  }

  protected scoreBatch(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows {
    const order = this.order[d];
    const pop = this.pop[d];
    const rows = batch.rows(d);
    const out: TopKRows = { k: n, counts: new Uint32Array(batch.users.length), indices: new Uint32Array(batch.users.length * n), scores: new Float32Array(batch.users.length * n) };
    for (let b = 0; b < batch.users.length; b++) {
      const seen = filter.filterSeen ? rows.indices.subarray(rows.indptr[b], rows.indptr[b + 1]) : undefined;
      let c = 0;
      // Walk the global order, skipping the user's seen items (sorted row: binary search) and filtered ones.
      for (let r = 0; r < order.length && c < n; r++) {
        const it = order[r];
        if (filter.allowed && !filter.allowed[it]) continue;
        if (seen && seen.length > 0 && sortedHas(seen, it)) continue;
        out.indices[b * n + c] = it;
        out.scores[b * n + c] = pop[it];
        c++;
      }
      out.counts[b] = c;
    }
    return out;
  }

  protected explainScore(_batch: UserBatch, d: number, item: number): { score: number; contributions: Contribution[] } {
    const score = this.pop[d][item];
    return { score, contributions: [{ kind: 'popularity', id: '', weight: score }] };
  }

  protected exportState(): { meta: Record<string, unknown>; sections: Record<string, SectionArray> } {
    const sections: Record<string, SectionArray> = {};
    this.pop.forEach((p, d) => (sections[`pop.${d}`] = p));
    return { meta: { domains: this.pop.length }, sections };
  }

  protected importState(meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string): void {
    const data = this.fitted();
    const pop: Float32Array[] = [];
    for (let d = 0; d < data.nItems.length; d++) {
      const p = sections[`pop.${d}`];
      if (!(p instanceof Float32Array) || p.length !== data.nItems[d]) throw new ModelFormatError(`${label}: popularity of domain ${d} is missing or has the wrong size`);
      pop.push(p);
    }
    if (meta.domains !== pop.length) throw new ModelFormatError(`${label}: domain count does not match`);
    this.setPopularity(pop);
  }
}

/** Binary search in a sorted Uint32Array. */
export function sortedHas(a: Uint32Array, x: number): boolean {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo < a.length && a[lo] === x;
}
