/**
 * The model contract every recommender implements (STYLE.md 1-3): `fit`, `recommend`,
 * `recommendBatch`, `similarItems`, `similarUsers`, `foldIn`, `explain`, `save` / `load`, with the
 * same option names everywhere. This base class owns what is common: string id <-> index mapping
 * at the edge, option validation, the training rows of every domain, behaviour folded in after
 * fitting, filters, the popularity fallback and the model file. A model supplies the index-level
 * parts: fitting, scoring a batch of users, explaining a score, and its own file sections.
 */
import { Dataset } from '../data/dataset.js';
import type { EventTable } from '../data/events.js';
import type { ItemCatalog } from '../data/catalog.js';
import { columnSums } from '../data/matrix.js';
import { Vocabularies, Vocabulary } from '../data/vocab.js';
import { DEFAULT_BEHAVIOR_WEIGHTS } from '../data/weights.js';
import { DataError, ModelFitError, ModelFormatError, NotFittedError, NotSupportedError, UnknownIdError } from '../errors.js';
import { packStrings, readModelFile, unpackStrings, writeModelFile, type ModelFileContent, type SectionArray } from '../io/modelfile.js';
import { getKernels } from '../kernels/index.js';
import type { BackendName, Csr, TopKRows } from '../kernels/types.js';
import { createPool, type KernelPool } from '../pool/index.js';
import { type FitOptions, type IndexModel, type ModelName, type RankOptions, RankedLists } from './types.js';

/** Options every model takes. */
export interface ModelOptions {
  /** Seed of every random step. @default 0 */
  seed?: number;
  /** Kernel pool used by `fit` and `recommendBatch`; the caller owns and closes it. @default undefined (this thread) */
  pool?: KernelPool;
  /** Without `pool`: start a pool of this many worker threads on first use, owned by the model and closed by `close()`. @default undefined (this thread) */
  threads?: number;
  /** Kernel implementation. @default 'auto' (wasm SIMD, falling back to the TypeScript reference) */
  backend?: BackendName | 'auto';
  /**
   * Largest model tables (similarity lists, factor matrices) `fit` may build, in bytes. Inputs that
   * would need more are refused before any work with a `ModelFitError` that says how much they
   * need. @default undefined (no limit)
   */
  memoryBudget?: number;
  /** Domain used when a call names none. @default the only domain, when the data has one */
  domain?: string;
}

/** Options of `recommend` and `recommendBatch`. */
export interface RecommendOptions {
  /** Number of items. @default 10 */
  k?: number;
  /** Domain to recommend from. @default the model's default domain */
  domain?: string;
  /** Leave out items the user has (in training or folded in) in that domain. @default true */
  filterSeen?: boolean;
  /** Item ids never to return. */
  exclude?: readonly string[];
  /** Only return these item ids. */
  candidates?: readonly string[];
  /** Only return items of these categories (needs a catalog: `fit(data, { catalog })`). */
  categories?: readonly string[];
  /** Only return items priced at least this much (needs a catalog). */
  minPrice?: number;
  /** Only return items priced at most this much (needs a catalog). */
  maxPrice?: number;
  /** For a user the model does not know: `'popularity'` recommends the most popular items, `'none'` throws. @default 'none' */
  fallback?: 'none' | 'popularity';
}

/** One user's recommendations: parallel arrays, best first. */
export interface Recommendation {
  /** Item ids. */
  items: string[];
  /** Their scores. */
  scores: Float32Array;
  /** True when the popularity fallback produced the list. */
  fallback: boolean;
}

/** Recommendations for a batch of users. */
export class RecommendationBatch {
  /** Lists already turned into ids (built on first `get`, so a large batch costs no strings until read). */
  private readonly built: Array<Recommendation | undefined>;

  constructor(
    /** The users, in request order. */
    readonly users: readonly string[],
    private readonly build: (i: number) => Recommendation,
  ) {
    this.built = new Array(users.length);
  }

  /** Number of users. */
  get length(): number {
    return this.users.length;
  }

  /** The list of user `i` (request order). */
  get(i: number): Recommendation {
    if (!Number.isInteger(i) || i < 0 || i >= this.users.length) throw new RangeError(`index ${i} is outside the batch (length ${this.users.length})`);
    return (this.built[i] ??= this.build(i));
  }
}

/** One term of an explanation: an item or a user that contributed `weight` to the score. */
export interface Contribution {
  kind: 'item' | 'user' | 'popularity' | 'model';
  /** Item or user id (empty for popularity). */
  id: string;
  /** Domain of an item. */
  domain?: string;
  /** Its share of the score; the shares add up to the score. */
  weight: number;
  /** The component model it came through (fused models only). */
  model?: string;
}

/** Why a model scores an item for a user. */
export interface Explanation {
  user: string;
  item: string;
  domain: string;
  score: number;
  /** Largest first. */
  contributions: Contribution[];
}

/** One event handed to `foldIn`. */
export interface FoldInEvent {
  item: string;
  /** @default the model's default domain */
  domain?: string;
  /** Explicit weight; otherwise the behaviour's weight, otherwise 1. */
  weight?: number;
  behavior?: string;
}

/** Training data a model keeps: sizes, ids and each domain's users x items rows. */
export interface ModelData {
  vocab: Vocabularies;
  nUsers: number;
  nItems: number[];
  matrices: Csr[];
}

/** Index-level filter of one scoring call. */
export interface ScoreFilter {
  /** Exclude each user's seen items in the target domain. */
  filterSeen: boolean;
  /** Per item, 1 when allowed (undefined: all). */
  allowed?: Uint8Array;
}

/** Base class of every model. */
export abstract class Recommender implements IndexModel {
  abstract readonly name: ModelName;
  protected readonly seed: number;
  /** `options.memoryBudget` (handed on to component models). */
  protected readonly memoryBudget: number | undefined;
  private readonly givenPool: KernelPool | undefined;
  private readonly ownThreads: number | undefined;
  private ownPool: KernelPool | undefined;
  private closed = false;
  protected readonly backend: BackendName | 'auto';
  private defaultDomainName: string | undefined;
  protected data: ModelData | undefined;
  /** Behaviour folded in after fitting: user -> domain -> item -> weight. */
  private readonly overlay: Overlay = new Map();
  /** Per domain: training popularity and items by it (for the popularity fallback), built on first use. */
  private popularity: Array<{ pop: Float32Array; order: Uint32Array } | undefined> | undefined;
  /** The item catalog given to fit (or loaded), aligned with the training items. */
  private catalog: ItemCatalog | undefined;

  constructor(options: ModelOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed)) throw new RangeError(`options.seed must be an integer (got ${String(options.seed)})`);
    const backend = options.backend ?? 'auto';
    if (!['auto', 'wasm', 'js'].includes(backend)) throw new RangeError(`options.backend must be auto, wasm or js (got ${JSON.stringify(backend)})`);
    if (options.domain !== undefined && (typeof options.domain !== 'string' || options.domain === '')) {
      throw new TypeError(`options.domain must be a non-empty string (got ${JSON.stringify(options.domain)})`);
    }
    this.seed = seed;
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
      throw new RangeError(`options.threads must be a positive integer (got ${String(options.threads)})`);
    }
    if (options.threads !== undefined && options.pool !== undefined) throw new TypeError('options.pool and options.threads are exclusive: pass one');
    if (options.memoryBudget !== undefined && (typeof options.memoryBudget !== 'number' || !(options.memoryBudget > 0))) {
      throw new RangeError(`options.memoryBudget must be a positive number of bytes (got ${String(options.memoryBudget)})`);
    }
    this.memoryBudget = options.memoryBudget;
    this.givenPool = options.pool;
    this.ownThreads = options.threads;
    this.backend = backend;
    this.defaultDomainName = options.domain;
  }

  /** The kernel pool: the caller's, or the model's own (started on first use with `threads`). */
  protected get pool(): KernelPool | undefined {
    if (this.givenPool) return this.givenPool;
    if (this.ownThreads !== undefined && !this.ownPool && !this.closed) this.ownPool = createPool({ threads: this.ownThreads });
    return this.ownPool;
  }

  /**
   * Release the model: its own pool (if it started one) is closed, and every later call throws
   * `NotFittedError`. A pool passed in `options.pool` stays open: the caller owns it. Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.data = undefined;
    this.overlay.clear();
    const own = this.ownPool;
    this.ownPool = undefined;
    await own?.close();
  }

  // ---- what a model supplies ------------------------------------------------------------

  /** Learn from `data` (this.data is set). */
  protected abstract fitModel(data: Dataset, options: FitOptions): Promise<void>;
  /**
   * Top-`n` items of domain `d` for each user; `rows(d')` gives the batch users' rows of any
   * domain (training + folded-in behaviour), one row per batch user.
   */
  protected abstract scoreBatch(batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool | undefined): Promise<TopKRows> | TopKRows;
  /** The contributions behind user u's score for item i of domain d. */
  protected abstract explainScore(batch: UserBatch, d: number, item: number): { score: number; contributions: Contribution[] };
  /** Model-specific state for the model file. */
  protected abstract exportState(): { meta: Record<string, unknown>; sections: Record<string, SectionArray> };
  /** Restore model-specific state from the model file. @throws {ModelFormatError} when inconsistent. */
  protected abstract importState(meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string): void;

  /** Top-k most similar items of domain d to item i (NotSupportedError by default). */
  protected similarItemsIndex(_d: number, _i: number, _k: number): { indices: Uint32Array; scores: Float32Array } {
    throw new NotSupportedError(`${this.name} does not provide similarItems`);
  }

  /** Top-k most similar users to a user in domain d (NotSupportedError by default). */
  protected similarUsersIndex(_batch: UserBatch, _d: number, _k: number): { indices: Uint32Array; scores: Float32Array } {
    throw new NotSupportedError(`${this.name} does not provide similarUsers`);
  }

  // ---- fit ------------------------------------------------------------------------------

  /**
   * Fit on training data (a `Dataset`, or events that are wrapped in one).
   * @throws {DataError} for empty data. @throws {ModelFitError} when training fails.
   */
  async fit(data: Dataset | EventTable, options: FitOptions = {}): Promise<void> {
    if (this.closed) throw new NotFittedError(`${this.name}: the model is closed`);
    const ds = data instanceof Dataset ? data : Dataset.fromEvents(data);
    const nItems: number[] = [];
    const matrices: Csr[] = [];
    for (let d = 0; d < ds.nDomains; d++) {
      nItems.push(ds.nItems(d));
      matrices.push(ds.matrix(d));
    }
    const next: ModelData = { vocab: ds.vocab, nUsers: ds.nUsers, nItems, matrices };
    if (options.catalog !== undefined) checkCatalog(options.catalog, nItems);
    const previous = this.data;
    const previousOverlay = new Map(this.overlay);
    this.data = next;
    this.popularity = undefined;
    this.overlay.clear();
    try {
      await this.fitModel(ds, { ...options, seed: options.seed ?? this.seed });
    } catch (e) {
      this.data = previous;
      for (const [u, m] of previousOverlay) this.overlay.set(u, m);
      throw e;
    }
    this.catalog = options.catalog;
  }

  // ---- index level (evaluation) -----------------------------------------------------------

  /** Top-`k` items of domain `domain` for user indices (the evaluation runner's entry point). */
  async rank(users: Uint32Array, domain: number, k: number, options: RankOptions = {}): Promise<RankedLists> {
    const data = this.fitted();
    if (domain < 0 || domain >= data.nItems.length) throw new RangeError(`domain index ${domain} is not a training domain`);
    const slots = await this.scoreBatch(this.batch(users), domain, k, { filterSeen: options.filterSeen ?? true }, this.pool);
    return new RankedLists(slots.k, slots.counts, slots.indices, slots.scores);
  }

  // ---- public API ---------------------------------------------------------------------------

  /**
   * Recommend items for one user, computed in this thread.
   * @throws {UnknownIdError} for an unknown user (unless `fallback: 'popularity'`), domain or item.
   * @throws {RangeError|TypeError} for invalid options. @throws {NotFittedError} before `fit`.
   * @example rec.recommend('alice', { k: 10, domain: 'music' })
   */
  recommend(userId: string, options: RecommendOptions = {}): Recommendation {
    const q = this.resolveRequest(options);
    const u = this.userIndex(userId, q.fallback);
    if (u < 0) return this.popularityList(q);
    const slots = this.scoreBatch(this.batch(Uint32Array.of(u)), q.d, q.k, q.filter, undefined);
    if (slots instanceof Promise) throw new Error(`${this.name}: scoreBatch must be synchronous without a pool`);
    return toRecommendation(slots, 0, this.fitted().vocab.items(q.d), false);
  }

  /**
   * Recommend for many users, on the pool when the model has one. Same results as `recommend`.
   * @throws as `recommend`; {KernelError} when a worker fails.
   */
  async recommendBatch(userIds: readonly string[], options: RecommendOptions = {}): Promise<RecommendationBatch> {
    if (!Array.isArray(userIds)) throw new TypeError('userIds must be an array of user ids');
    const q = this.resolveRequest(options);
    const n = userIds.length;
    const idx = new Int32Array(n);
    let nKnown = 0;
    for (let i = 0; i < n; i++) if ((idx[i] = this.userIndex(userIds[i], q.fallback)) >= 0) nKnown++;
    // slot[i]: user i's row in the scored batch, or -1 for the popularity fallback.
    const known = new Uint32Array(nKnown);
    const slot = new Int32Array(n);
    for (let i = 0, b = 0; i < n; i++) {
      if (idx[i] < 0) slot[i] = -1;
      else {
        known[b] = idx[i];
        slot[i] = b++;
      }
    }
    const slots = await this.scoreBatch(this.batch(known), q.d, q.k, q.filter, this.pool);
    // Everything the lazy lists need is taken now: reading a batch after close() still works.
    const vocab = this.fitted().vocab.items(q.d);
    const fallback = nKnown < n ? this.popularityList(q) : undefined;
    return new RecommendationBatch([...userIds], (i) => (slot[i] < 0 ? copyRecommendation(fallback!) : toRecommendation(slots, slot[i], vocab, false)));
  }

  /**
   * The items most similar to an item of one domain, the item itself excluded.
   * @throws {UnknownIdError} for an unknown item or domain. @throws {NotSupportedError} when the model has no item similarity.
   */
  similarItems(itemId: string, options: { k?: number; domain?: string } = {}): { items: string[]; scores: Float32Array } {
    const data = this.fitted();
    const k = checkK(options.k ?? 10);
    const d = this.domainIndex(options.domain);
    const i = this.itemIndex(d, itemId);
    const r = this.similarItemsIndex(d, i, k + 1);
    const items: string[] = [];
    const scores: number[] = [];
    for (let t = 0; t < r.indices.length && items.length < k; t++) {
      if (r.indices[t] === i) continue;
      items.push(data.vocab.items(d).id(r.indices[t]));
      scores.push(r.scores[t]);
    }
    return { items, scores: Float32Array.from(scores) };
  }

  /**
   * The users most similar to a user by their rows in a domain, the user excluded.
   * @throws {UnknownIdError} for an unknown user. @throws {NotSupportedError} when the model has no user similarity.
   */
  similarUsers(userId: string, options: { k?: number; domain?: string } = {}): { users: string[]; scores: Float32Array } {
    const data = this.fitted();
    const k = checkK(options.k ?? 10);
    const d = this.domainIndex(options.domain);
    const u = this.userIndex(userId, 'none');
    const r = this.similarUsersIndex(this.batch(Uint32Array.of(u)), d, k + 1);
    const users: string[] = [];
    const scores: number[] = [];
    for (let t = 0; t < r.indices.length && users.length < k; t++) {
      if (r.indices[t] === u) continue;
      users.push(data.vocab.users.id(r.indices[t]));
      scores.push(r.scores[t]);
    }
    return { users, scores: Float32Array.from(scores) };
  }

  /**
   * Add behaviour of a user (known or new) without refitting: it changes that user's next
   * recommendations and seen items. Item ids must be known to the model.
   * @throws {UnknownIdError} for an unknown item or domain; {DataError} for a bad weight or behaviour.
   */
  foldIn(userId: string, events: readonly FoldInEvent[]): void {
    const data = this.fitted();
    if (typeof userId !== 'string' || userId === '') throw new TypeError(`userId must be a non-empty string (got ${JSON.stringify(userId)})`);
    if (!Array.isArray(events)) throw new TypeError('events must be an array of { item, domain?, weight?, behavior? }');
    // Validate everything first, so a bad event changes nothing.
    const parsed = events.map((e, n) => {
      const where = { file: '<foldIn>', line: n + 1 };
      if (typeof e !== 'object' || e === null || typeof e.item !== 'string') throw new DataError(where, 'each event needs an item id');
      const d = this.domainIndex(e.domain);
      const i = this.itemIndex(d, e.item);
      let w = 1;
      if (e.behavior !== undefined) {
        const bw = DEFAULT_BEHAVIOR_WEIGHTS[String(e.behavior).toLowerCase()];
        if (bw === undefined) throw new DataError({ ...where, column: 'behavior' }, `unknown behaviour ${JSON.stringify(e.behavior)}`);
        w = bw;
      }
      if (e.weight !== undefined) {
        if (typeof e.weight !== 'number' || !Number.isFinite(e.weight) || e.weight <= 0) {
          throw new DataError({ ...where, column: 'weight' }, `weight must be a positive finite number (got ${String(e.weight)})`);
        }
        w = e.weight;
      }
      return { d, i, w };
    });
    const u = data.vocab.users.intern(userId);
    let byDomain = this.overlay.get(u);
    if (!byDomain) this.overlay.set(u, (byDomain = new Map()));
    for (const { d, i, w } of parsed) {
      let items = byDomain.get(d);
      if (!items) byDomain.set(d, (items = new Map()));
      items.set(i, (items.get(i) ?? 0) + w);
    }
  }

  /**
   * Which items or users made up a user's score for an item; the contributions add up to the score.
   * @throws {UnknownIdError} for an unknown user, item or domain.
   */
  explain(userId: string, itemId: string, options: { domain?: string } = {}): Explanation {
    const d = this.domainIndex(options.domain);
    const i = this.itemIndex(d, itemId);
    const u = this.userIndex(userId, 'none');
    const r = this.explainScore(this.batch(Uint32Array.of(u)), d, i);
    r.contributions.sort((a, b) => b.weight - a.weight || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { user: userId, item: itemId, domain: this.fitted().vocab.domains.id(d), score: r.score, contributions: r.contributions };
  }

  /**
   * Save the fitted model (and behaviour folded in since) to one file, atomically.
   * @throws {NotFittedError} before fit; {StorageError} when the path cannot be written.
   */
  async save(path: string): Promise<void> {
    const data = this.fitted();
    const sections: Record<string, SectionArray> = {};
    // Training users, then users added by foldIn (compact indices in the file).
    const saved = this.savedUsers();
    const users = packStrings(Array.from(saved, (u) => data.vocab.users.id(u)));
    sections['vocab.users.offsets'] = users.offsets;
    sections['vocab.users.bytes'] = users.bytes;
    const domains = data.vocab.domains.list().slice(0, data.nItems.length);
    domains.forEach((_, d) => {
      const items = packStrings(data.vocab.items(d).list().slice(0, data.nItems[d]));
      sections[`vocab.items.${d}.offsets`] = items.offsets;
      sections[`vocab.items.${d}.bytes`] = items.bytes;
      // Training rows only (folded-in newcomers get empty rows): behaviour folded in after fitting
      // is saved on its own below and re-applied on load, so models whose state derives from the
      // training rows (user kNN, bridge, factors) load exactly as they were.
      const m = data.matrices[d];
      const indptr = saved.length === m.nRows ? m.indptr : Uint32Array.from({ length: saved.length + 1 }, (_, r) => m.indptr[Math.min(r, m.nRows)]);
      sections[`rows.${d}.indptr`] = indptr;
      sections[`rows.${d}.indices`] = m.indices;
      sections[`rows.${d}.data`] = m.data;
    });
    if (this.overlay.size > 0) {
      const position = new Map<number, number>();
      saved.forEach((u, q) => position.set(u, q));
      const fu: number[] = [];
      const fd: number[] = [];
      const fi: number[] = [];
      const fw: number[] = [];
      for (const [u, byDomain] of this.overlay) {
        for (const [d, items] of byDomain) {
          for (const [i, w] of items) {
            fu.push(position.get(u)!);
            fd.push(d);
            fi.push(i);
            fw.push(w);
          }
        }
      }
      sections['foldin.user'] = Uint32Array.from(fu);
      sections['foldin.domain'] = Uint32Array.from(fd);
      sections['foldin.item'] = Uint32Array.from(fi);
      sections['foldin.weight'] = Float32Array.from(fw);
    }
    if (this.catalog) {
      const cats = packStrings(this.catalog.categories.list());
      sections['catalog.categories.offsets'] = cats.offsets;
      sections['catalog.categories.bytes'] = cats.bytes;
      domains.forEach((_, d) => {
        sections[`catalog.${d}.category`] = this.catalog!.category[d];
        sections[`catalog.${d}.price`] = this.catalog!.price[d];
      });
    }
    const own = this.exportState();
    for (const [k, v] of Object.entries(own.sections)) sections[`model.${k}`] = v;
    await writeModelFile(path, {
      model: this.name,
      meta: { domains, nUsers: saved.length, defaultDomain: this.defaultDomainName ?? null, seed: this.seed, model: own.meta },
      sections,
    });
  }

  /** Indices of the users a model file holds: every training user, then folded-in newcomers. */
  private savedUsers(): Uint32Array {
    const data = this.fitted();
    const extra = [...this.overlay.keys()].filter((u) => u >= data.nUsers).sort((a, b) => a - b);
    const out = new Uint32Array(data.nUsers + extra.length);
    for (let u = 0; u < data.nUsers; u++) out[u] = u;
    extra.forEach((u, q) => (out[data.nUsers + q] = u));
    return out;
  }

  /** Restore a model saved by `save` into this (unfitted or fitted) instance. @throws {ModelFormatError} {StorageError} */
  protected async loadInto(path: string, content?: ModelFileContent): Promise<this> {
    if (content !== undefined && content.model !== this.name) throw new ModelFormatError(`${path}: holds a ${content.model} model, not ${this.name}`);
    const f = content ?? (await readModelFile(path, this.name));
    const fail = (why: string): never => {
      throw new ModelFormatError(`${path}: ${why}`);
    };
    const s = f.sections;
    const meta = f.meta as { domains?: unknown; nUsers?: unknown; model?: unknown; defaultDomain?: unknown };
    if (!Array.isArray(meta.domains) || typeof meta.nUsers !== 'number' || typeof meta.model !== 'object' || meta.model === null) fail('manifest meta is incomplete');
    const vocab = new Vocabularies();
    const u32 = (name: string): Uint32Array => (s[name] instanceof Uint32Array ? (s[name] as Uint32Array) : fail(`section ${name} is missing`));
    const u8 = (name: string): Uint8Array => (s[name] instanceof Uint8Array ? (s[name] as Uint8Array) : fail(`section ${name} is missing`));
    const f32 = (name: string): Float32Array => (s[name] instanceof Float32Array ? (s[name] as Float32Array) : fail(`section ${name} is missing`));
    for (const id of unpackStrings(u32('vocab.users.offsets'), u8('vocab.users.bytes'), path)) vocab.users.intern(id);
    const nUsers = vocab.users.size;
    if (nUsers !== meta.nUsers) fail('user count does not match the manifest');
    const nItems: number[] = [];
    const matrices: Csr[] = [];
    (meta.domains as string[]).forEach((name, d) => {
      vocab.domains.intern(String(name));
      for (const id of unpackStrings(u32(`vocab.items.${d}.offsets`), u8(`vocab.items.${d}.bytes`), path)) vocab.items(d).intern(id);
      const m: Csr = { nRows: nUsers, nCols: vocab.items(d).size, indptr: u32(`rows.${d}.indptr`), indices: u32(`rows.${d}.indices`), data: f32(`rows.${d}.data`) };
      validateCsr(m, `rows of domain ${String(name)}`, path);
      nItems.push(m.nCols);
      matrices.push(m);
    });
    // Everything that can fail is read and checked before this model changes.
    let catalog: ItemCatalog | undefined;
    if (s['catalog.categories.offsets'] !== undefined) {
      const i32 = (name: string): Int32Array => (s[name] instanceof Int32Array ? (s[name] as Int32Array) : fail(`section ${name} is missing`));
      const categories = Vocabulary.fromList(unpackStrings(u32('catalog.categories.offsets'), u8('catalog.categories.bytes'), path));
      catalog = { categories, category: nItems.map((_, d) => i32(`catalog.${d}.category`)), price: nItems.map((_, d) => f32(`catalog.${d}.price`)), unknownItems: 0 };
      try {
        checkCatalog(catalog, nItems);
      } catch (e) {
        fail((e as Error).message);
      }
    }
    const overlay = new Map<number, Map<number, Map<number, number>>>();
    if (s['foldin.user'] !== undefined) {
      const fu = u32('foldin.user');
      const fd = u32('foldin.domain');
      const fi = u32('foldin.item');
      const fw = f32('foldin.weight');
      if (fd.length !== fu.length || fi.length !== fu.length || fw.length !== fu.length) fail('folded-in behaviour sections disagree in length');
      for (let q = 0; q < fu.length; q++) {
        if (fu[q] >= nUsers || fd[q] >= nItems.length || fi[q] >= nItems[fd[q]] || !(fw[q] > 0) || !Number.isFinite(fw[q])) fail('folded-in behaviour is out of range');
        let byDomain = overlay.get(fu[q]);
        if (!byDomain) overlay.set(fu[q], (byDomain = new Map()));
        let items = byDomain.get(fd[q]);
        if (!items) byDomain.set(fd[q], (items = new Map()));
        items.set(fi[q], fw[q]);
      }
    }
    const own: Record<string, SectionArray> = {};
    for (const [k, v] of Object.entries(s)) if (k.startsWith('model.')) own[k.slice(6)] = v;
    const previous = this.data;
    this.data = { vocab, nUsers, nItems, matrices };
    try {
      this.importState(meta.model as Record<string, unknown>, own, path);
    } catch (e) {
      this.data = previous;
      throw e;
    }
    this.overlay.clear();
    for (const [u, m] of overlay) this.overlay.set(u, m);
    this.popularity = undefined;
    // The domain the model was fitted for stays its default, unless the loader named another.
    if (this.defaultDomainName === undefined && typeof meta.defaultDomain === 'string') this.defaultDomainName = meta.defaultDomain;
    this.catalog = catalog;
    return this;
  }

  // ---- composition: a model built from other models (the fused MigrationRecommender) ---------

  /** Score a batch with a component model, using the composite's rows (and folded-in behaviour). */
  protected static componentScore(c: Recommender, batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool | undefined): Promise<TopKRows> | TopKRows {
    return c.scoreBatch(batch, d, n, filter, pool);
  }

  /** A component's item similarity. */
  protected static componentSimilarItems(c: Recommender, d: number, i: number, k: number): { indices: Uint32Array; scores: Float32Array } {
    return c.similarItemsIndex(d, i, k);
  }

  /** A component's explanation of a score. */
  protected static componentExplain(c: Recommender, batch: UserBatch, d: number, item: number): { score: number; contributions: Contribution[] } {
    return c.explainScore(batch, d, item);
  }

  /** A component's own file state. */
  protected static componentExport(c: Recommender): { meta: Record<string, unknown>; sections: Record<string, SectionArray> } {
    return c.exportState();
  }

  /** Restore a component from file state, sharing the composite's data. */
  protected static componentImport(c: Recommender, data: ModelData, meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string): void {
    c.data = data;
    c.importState(meta, sections, label);
  }

  // ---- helpers for models -------------------------------------------------------------------

  /**
   * Refuse a table of `bytes` bytes that exceeds `options.memoryBudget`, before building it.
   * @throws {ModelFitError} naming what needs the memory and how much.
   */
  protected reserve(bytes: number, what: string): void {
    if (this.memoryBudget === undefined || bytes <= this.memoryBudget) return;
    throw new ModelFitError(`${this.name}: ${what} needs ${formatBytes(bytes)}, over the memory budget of ${formatBytes(this.memoryBudget)} (options.memoryBudget)`);
  }

  /** The fitted data. @throws {NotFittedError} before fit. */
  protected fitted(): ModelData {
    if (this.closed) throw new NotFittedError(`${this.name}: the model is closed`);
    if (!this.data) throw new NotFittedError(`${this.name}: call fit() or load() first`);
    return this.data;
  }

  /** Rows of a batch of user indices, built lazily per domain (training + folded-in). */
  protected batch(users: Uint32Array): UserBatch {
    // The batch users' folded-in behaviour is copied now, so behaviour folded in while a batch is
    // being scored (between its awaits) never mixes into it: each call sees one consistent state.
    // Rows are then gathered per domain on first use (a single-domain model reads one domain).
    const data = this.fitted();
    let snapshot: Overlay | undefined;
    if (this.overlay.size > 0) {
      for (const u of users) {
        const byDomain = this.overlay.get(u);
        if (!byDomain) continue;
        snapshot ??= new Map();
        snapshot.set(u, new Map([...byDomain].map(([d, items]) => [d, new Map(items)])));
      }
    }
    const frozen = snapshot ?? NO_OVERLAY;
    return new UserBatch(users, data.nItems.length, (d) => this.gatherRows(users, d, frozen));
  }

  /** One CSR row per requested user: training rows merged with folded-in behaviour. */
  protected gatherRows(users: Uint32Array, d: number, overlay: Overlay | undefined = this.overlay): Csr {
    const data = this.fitted();
    const m = data.matrices[d];
    const n = users.length;
    // Rows with folded-in behaviour are merged first; every other row is copied straight from m.
    const merged = new Map<number, { idx: Uint32Array; val: Float32Array }>();
    const indptr = new Uint32Array(n + 1);
    for (let b = 0; b < n; b++) {
      const u = users[b];
      const extra = overlay && overlay.size > 0 ? overlay.get(u)?.get(d) : undefined;
      let len = u < m.nRows ? m.indptr[u + 1] - m.indptr[u] : 0;
      if (extra) {
        const base = u < m.nRows ? { idx: m.indices.subarray(m.indptr[u], m.indptr[u + 1]), val: m.data.subarray(m.indptr[u], m.indptr[u + 1]) } : EMPTY_ROW;
        const row = mergeRow(base, extra);
        merged.set(b, row);
        len = row.idx.length;
      }
      indptr[b + 1] = indptr[b] + len;
    }
    const indices = new Uint32Array(indptr[n]);
    const values = new Float32Array(indptr[n]);
    for (let b = 0; b < n; b++) {
      const row = merged.get(b);
      if (row) {
        indices.set(row.idx, indptr[b]);
        values.set(row.val, indptr[b]);
      } else if (indptr[b + 1] > indptr[b]) {
        const s = m.indptr[users[b]];
        indices.set(m.indices.subarray(s, s + indptr[b + 1] - indptr[b]), indptr[b]);
        values.set(m.data.subarray(s, s + indptr[b + 1] - indptr[b]), indptr[b]);
      }
    }
    return { nRows: n, nCols: data.nItems[d], indptr, indices, data: values };
  }

  /** Index of a domain name, or the default domain. @throws {UnknownIdError} @throws {RangeError} */
  protected domainIndex(name: string | undefined): number {
    const data = this.fitted();
    const n = name ?? this.defaultDomainName ?? (data.nItems.length === 1 ? data.vocab.domains.id(0) : undefined);
    if (n === undefined) {
      throw new RangeError(`options.domain is required: the model has ${data.nItems.length} domains (${data.vocab.domains.list().slice(0, data.nItems.length).join(', ')})`);
    }
    const d = data.vocab.domains.get(n);
    if (d < 0 || d >= data.nItems.length || data.nItems[d] === 0) throw new UnknownIdError('domain', n, 'it has no training rows');
    return d;
  }

  /** Index of an item of domain d. @throws {UnknownIdError} */
  protected itemIndex(d: number, id: string): number {
    const data = this.fitted();
    const i = data.vocab.items(d).get(id);
    if (i < 0 || i >= data.nItems[d]) throw new UnknownIdError('item', id, `not in the training items of domain "${data.vocab.domains.id(d)}"`);
    return i;
  }

  /** Index of a user known to training or folded in; -1 for an unknown user with the popularity fallback. @throws {UnknownIdError} */
  protected userIndex(id: string, fallback: 'none' | 'popularity'): number {
    const data = this.fitted();
    if (typeof id !== 'string') throw new TypeError(`user id must be a string (got ${typeof id})`);
    const u = data.vocab.users.get(id);
    if (u >= 0 && (u < data.nUsers || this.overlay.has(u))) return u;
    if (fallback === 'popularity') return -1;
    throw new UnknownIdError('user', id, 'not in the training data (pass fallback: "popularity" to recommend popular items)');
  }

  private resolveRequest(o: RecommendOptions): { k: number; d: number; filter: ScoreFilter; fallback: 'none' | 'popularity' } {
    if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
    const k = checkK(o.k ?? 10);
    const d = this.domainIndex(o.domain);
    const fallback = o.fallback ?? 'none';
    if (fallback !== 'none' && fallback !== 'popularity') throw new RangeError(`options.fallback must be "none" or "popularity" (got ${JSON.stringify(fallback)})`);
    const filterSeen = o.filterSeen ?? true;
    if (typeof filterSeen !== 'boolean') throw new TypeError(`options.filterSeen must be a boolean (got ${typeof filterSeen})`);
    let allowed: Uint8Array | undefined;
    if (o.candidates !== undefined || o.exclude !== undefined) {
      const n = this.fitted().nItems[d];
      allowed = new Uint8Array(n);
      if (o.candidates !== undefined) {
        if (!Array.isArray(o.candidates)) throw new TypeError('options.candidates must be an array of item ids');
        for (const id of o.candidates) allowed[this.itemIndex(d, id)] = 1;
      } else allowed.fill(1);
      if (o.exclude !== undefined) {
        if (!Array.isArray(o.exclude)) throw new TypeError('options.exclude must be an array of item ids');
        for (const id of o.exclude) allowed[this.itemIndex(d, id)] = 0;
      }
    }
    if (o.categories !== undefined || o.minPrice !== undefined || o.maxPrice !== undefined) {
      allowed = this.catalogFilter(d, o, allowed);
    }
    return { k, d, filter: { filterSeen, allowed }, fallback };
  }

  /** Narrow `allowed` (all items when undefined) by the catalog filters of a request. */
  private catalogFilter(d: number, o: RecommendOptions, allowed: Uint8Array | undefined): Uint8Array {
    const c = this.catalog;
    if (!c) throw new NotSupportedError(`${this.name}: category and price filters need an item catalog (fit(data, { catalog }))`);
    const n = this.fitted().nItems[d];
    const mask = allowed ?? new Uint8Array(n).fill(1);
    if (o.categories !== undefined) {
      if (!Array.isArray(o.categories)) throw new TypeError('options.categories must be an array of category names');
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
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new RangeError(`options.${key} must be a finite number (got ${String(x)})`);
      // Items without a price fail every price bound.
      for (let i = 0; i < n; i++) if (!keep(c.price[d][i], x)) mask[i] = 0;
    }
    return mask;
  }


  /** The popularity list of a domain (training rows), for users the model does not know. */
  private popularityList(q: { k: number; d: number; filter: ScoreFilter }): Recommendation {
    const data = this.fitted();
    this.popularity ??= [];
    let cached = this.popularity[q.d];
    if (!cached) {
      // Training rows only, computed once per domain.
      const pop = Float32Array.from(columnSums(data.matrices[q.d]));
      this.popularity[q.d] = cached = { pop, order: getKernels(this.backend).topk(pop, pop.length).indices };
    }
    const { pop, order } = cached;
    const items: string[] = [];
    const scores: number[] = [];
    for (let r = 0; r < order.length && items.length < q.k; r++) {
      if (q.filter.allowed && !q.filter.allowed[order[r]]) continue;
      items.push(data.vocab.items(q.d).id(order[r]));
      scores.push(pop[order[r]]);
    }
    return { items, scores: Float32Array.from(scores), fallback: true };
  }

}

/** Behaviour folded in after fitting: user -> domain -> item -> weight. */
type Overlay = Map<number, Map<number, Map<number, number>>>;

/** A batch of user indices with their rows per domain (training + folded-in behaviour), gathered on first use. */
export class UserBatch {
  private readonly cache: Array<Csr | undefined>;

  constructor(
    /** User indices. */
    readonly users: Uint32Array,
    nDomains: number,
    private readonly gather: (d: number) => Csr,
  ) {
    this.cache = new Array(nDomains);
  }

  /** One row per batch user in domain d. */
  rows(d: number): Csr {
    if (!Number.isInteger(d) || d < 0 || d >= this.cache.length) throw new RangeError(`domain index ${d} is outside the batch's ${this.cache.length} domains`);
    return (this.cache[d] ??= this.gather(d));
  }
}

/** The overlay of a batch none of whose users has folded-in behaviour. */
const NO_OVERLAY: Overlay = new Map();

const EMPTY_ROW = { idx: new Uint32Array(0), val: new Float32Array(0) };

function mergeRow(base: { idx: Uint32Array; val: Float32Array }, extra: Map<number, number>): { idx: Uint32Array; val: Float32Array } {
  const sum = new Map<number, number>();
  for (let t = 0; t < base.idx.length; t++) sum.set(base.idx[t], base.val[t]);
  for (const [i, w] of extra) sum.set(i, (sum.get(i) ?? 0) + w);
  const keys = [...sum.keys()].sort((a, b) => a - b);
  return { idx: Uint32Array.from(keys), val: Float32Array.from(keys, (i) => sum.get(i)!) };
}

/** Validate k. @throws {RangeError} */
export function checkK(k: unknown, name = 'options.k'): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k <= 0) throw new RangeError(`${name} must be a positive integer (got ${String(k)})`);
  return k;
}

/** Check a CSR read from a file before any model uses it. @throws {ModelFormatError} */
export function validateCsr(m: Csr, what: string, label: string): void {
  const bad = (why: string): never => {
    throw new ModelFormatError(`${label}: ${what}: ${why}`);
  };
  if (m.indptr.length !== m.nRows + 1 || m.indptr[0] !== 0) bad('row pointer has the wrong length');
  if (m.indptr[m.nRows] !== m.indices.length || m.indices.length !== m.data.length) bad('sizes disagree');
  for (let r = 0; r < m.nRows; r++) if (m.indptr[r] > m.indptr[r + 1]) bad('row pointer decreases');
  for (let t = 0; t < m.indices.length; t++) if (m.indices[t] >= m.nCols) bad('column index out of range');
  for (let t = 0; t < m.data.length; t++) if (!Number.isFinite(m.data[t])) bad('non-finite value');
}

/** Bytes in a readable unit (binary prefixes). */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let x = n;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${x.toFixed(1)} ${units[u]}`;
}

/** Check that a catalog matches the training items. @throws {RangeError} */
function checkCatalog(c: ItemCatalog, nItems: readonly number[]): void {
  if (c.category.length !== nItems.length || c.price.length !== nItems.length) throw new RangeError('the item catalog does not match the domains of the data');
  nItems.forEach((n, d) => {
    if (c.category[d].length !== n || c.price[d].length !== n) throw new RangeError(`the item catalog does not match the items of domain ${d}`);
    for (let i = 0; i < n; i++) if (c.category[d][i] >= c.categories.size) throw new RangeError('the item catalog names an unknown category');
  });
}

/** Row b of top-k slots as a Recommendation with item ids. */
function toRecommendation(slots: TopKRows, b: number, vocab: Vocabulary, fallback: boolean): Recommendation {
  const s = b * slots.k;
  const n = slots.counts[b];
  const items = new Array<string>(n);
  for (let t = 0; t < n; t++) items[t] = vocab.id(slots.indices[s + t]);
  return { items, scores: slots.scores.slice(s, s + n), fallback };
}

/** An independent copy (callers may modify what they get). */
function copyRecommendation(r: Recommendation): Recommendation {
  return { items: r.items.slice(), scores: r.scores.slice(), fallback: r.fallback };
}
