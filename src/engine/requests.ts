/**
 * From ids and request options to indices and filters, against one fitted state: domains, items
 * and users by id, the filters of a `recommend` call (seen items, exclusions, candidates, catalog),
 * and the popularity fallback for users the model does not know.
 */
import type { ItemCatalog } from '../data/catalog.js';
import { columnSums } from '../data/matrix.js';
import { NotSupportedError, OptionRangeError, OptionTypeError, UnknownIdError } from '../errors.js';
import { getKernels } from '../kernels/index.js';
import type { BackendName, TopKRows } from '../kernels/types.js';
import type { ScoreFilter } from './exec.js';
import type { ModelData, Overlay } from './rows.js';
import type { Recommendation, RecommendOptions } from './types.js';

/** What request resolution reads of a fitted model. */
export interface RequestState {
  data: ModelData;
  overlay: Overlay;
  catalog: ItemCatalog | undefined;
  defaultDomain: string | undefined;
}

/** A resolved request. */
export interface Request {
  k: number;
  d: number;
  filter: ScoreFilter;
  fallback: 'none' | 'popularity';
}

/**
 * Validate a count option (callers cap it at what the data has: items of the domain, users).
 * @throws {OptionRangeError} unless it is a positive integer.
 */
export function checkK(k: unknown, option = 'k'): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k <= 0) throw new OptionRangeError(option, `options.${option} must be a positive integer (got ${String(k)})`);
  return k;
}

/**
 * Index of a domain name, or of the default domain.
 * @throws {UnknownIdError} for a domain without training rows. @throws {OptionRangeError} when no domain is named and the model has several.
 */
export function domainIndex(s: RequestState, name: string | undefined): number {
  const data = s.data;
  const n = name ?? s.defaultDomain ?? (data.nItems.length === 1 ? data.vocab.domains.id(0) : undefined);
  if (n === undefined) {
    throw new OptionRangeError('domain', `options.domain is required: the model has ${data.nItems.length} domains (${data.vocab.domains.list().slice(0, data.nItems.length).join(', ')})`);
  }
  const d = data.vocab.domains.get(n);
  if (d < 0 || d >= data.nItems.length || data.nItems[d] === 0) throw new UnknownIdError('domain', n, 'it has no training rows');
  return d;
}

/**
 * Index of an item of domain d.
 * @throws {UnknownIdError} for an item that is not a training item of the domain.
 */
export function itemIndex(s: RequestState, d: number, id: string): number {
  const i = s.data.vocab.items(d).get(id);
  if (i < 0 || i >= s.data.nItems[d]) throw new UnknownIdError('item', id, `not in the training items of domain "${s.data.vocab.domains.id(d)}"`);
  return i;
}

/** Whether a user is known to training or has folded-in behaviour. */
export function knowsUser(s: RequestState, id: string): boolean {
  const u = s.data.vocab.users.get(id);
  return u >= 0 && (u < s.data.nUsers || s.overlay.has(u));
}

/**
 * Index of a known user; -1 for an unknown user with the popularity fallback.
 * @throws {UnknownIdError} for an unknown user without it. @throws {TypeError} for a non-string id.
 */
export function userIndex(s: RequestState, id: string, fallback: 'none' | 'popularity'): number {
  if (typeof id !== 'string') throw new TypeError(`user id must be a string (got ${typeof id})`);
  // One lookup per user: batches of a million users spend their time here.
  const u = s.data.vocab.users.get(id);
  if (u >= 0 && (u < s.data.nUsers || s.overlay.has(u))) return u;
  if (fallback === 'popularity') return -1;
  throw new UnknownIdError('user', id, 'not in the training data (pass fallback: "popularity" to recommend popular items)');
}

/**
 * Resolve the options of a `recommend` call.
 * @throws {OptionTypeError|OptionRangeError} for a bad option; {UnknownIdError} for unknown ids;
 * {NotSupportedError} for catalog filters without a catalog.
 */
export function resolveRequest(s: RequestState, o: RecommendOptions): Request {
  if (typeof o !== 'object' || o === null) throw new OptionTypeError('', 'options must be an object');
  // A k beyond the domain's item count asks for every item: it is capped before anything is allocated.
  const d = domainIndex(s, o.domain);
  const k = Math.min(checkK(o.k ?? 10), s.data.nItems[d]);
  const fallback = o.fallback ?? 'none';
  if (fallback !== 'none' && fallback !== 'popularity') throw new OptionRangeError('fallback', `options.fallback must be "none" or "popularity" (got ${JSON.stringify(fallback)})`);
  const filterSeen = o.filterSeen ?? true;
  if (typeof filterSeen !== 'boolean') throw new OptionTypeError('filterSeen', `options.filterSeen must be a boolean (got ${typeof filterSeen})`);
  let allowed: Uint8Array | undefined;
  if (o.candidates !== undefined || o.exclude !== undefined) {
    const n = s.data.nItems[d];
    allowed = new Uint8Array(n);
    if (o.candidates !== undefined) {
      if (!Array.isArray(o.candidates)) throw new OptionTypeError('candidates', 'options.candidates must be an array of item ids');
      for (const id of o.candidates) allowed[itemIndex(s, d, id)] = 1;
    } else allowed.fill(1);
    if (o.exclude !== undefined) {
      if (!Array.isArray(o.exclude)) throw new OptionTypeError('exclude', 'options.exclude must be an array of item ids');
      for (const id of o.exclude) allowed[itemIndex(s, d, id)] = 0;
    }
  }
  if (o.categories !== undefined || o.minPrice !== undefined || o.maxPrice !== undefined) allowed = catalogFilter(s, d, o, allowed);
  return { k, d, filter: { filterSeen, allowed }, fallback };
}

/** Narrow `allowed` (all items when undefined) by the catalog filters of a request. */
function catalogFilter(s: RequestState, d: number, o: RecommendOptions, allowed: Uint8Array | undefined): Uint8Array {
  const c = s.catalog;
  if (!c) throw new NotSupportedError('category and price filters need an item catalog (fit(data, { catalog }))');
  const n = s.data.nItems[d];
  const mask = allowed ?? new Uint8Array(n).fill(1);
  if (o.categories !== undefined) {
    if (!Array.isArray(o.categories)) throw new OptionTypeError('categories', 'options.categories must be an array of category names');
    const want = new Set(
      o.categories.map((name) => {
        const x = c.categories.get(name);
        if (x < 0) throw new UnknownIdError('category', name, 'not in the item catalog');
        return x;
      }),
    );
    for (let i = 0; i < n; i++) if (!want.has(c.category[d][i])) mask[i] = 0;
  }
  for (const [key, keep] of [
    ['minPrice', (p: number, x: number) => p >= x],
    ['maxPrice', (p: number, x: number) => p <= x],
  ] as const) {
    const x = o[key];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new OptionRangeError(key, `options.${key} must be a finite number (got ${String(x)})`);
    // Items without a price fail every price bound.
    for (let i = 0; i < n; i++) if (!keep(c.price[d][i], x)) mask[i] = 0;
  }
  return mask;
}

/** Per domain: training popularity, and items by it; built on first use. */
export class PopularityFallback {
  private readonly byDomain: Array<{ pop: Float32Array; order: Uint32Array } | undefined> = [];

  constructor(
    private readonly data: ModelData,
    private readonly backend: BackendName | 'auto',
  ) {}

  /**
   * The most popular training items of the request's domain that pass its filter. Scores are the
   * items' popularity divided by the domain's top popularity, in (0, 1], so they never read as
   * raw counts beside a model's scores.
   */
  list(q: Request): Recommendation {
    let cached = this.byDomain[q.d];
    if (!cached) {
      const pop = Float32Array.from(columnSums(this.data.matrices[q.d]));
      this.byDomain[q.d] = cached = { pop, order: getKernels(this.backend).topk(pop, pop.length).indices };
    }
    const { pop, order } = cached;
    const top = order.length > 0 && pop[order[0]] > 0 ? pop[order[0]] : 1;
    const items: string[] = [];
    const scores: number[] = [];
    for (let r = 0; r < order.length && items.length < q.k; r++) {
      if (q.filter.allowed && !q.filter.allowed[order[r]]) continue;
      items.push(this.data.vocab.items(q.d).id(order[r]));
      scores.push(pop[order[r]] / top);
    }
    return { items, scores: Float32Array.from(scores), fallback: true };
  }
}

/** Row b of top-k slots as a Recommendation with item ids. */
export function toRecommendation(slots: TopKRows, b: number, data: ModelData, d: number): Recommendation {
  const vocab = data.vocab.items(d);
  const s = b * slots.k;
  const n = slots.counts[b];
  const items = new Array<string>(n);
  for (let t = 0; t < n; t++) items[t] = vocab.id(slots.indices[s + t]);
  return { items, scores: slots.scores.slice(s, s + n), fallback: false };
}

/** An independent copy (callers may modify what they get). */
export function copyRecommendation(r: Recommendation): Recommendation {
  return { items: r.items.slice(), scores: r.scores.slice(), fallback: r.fallback };
}
