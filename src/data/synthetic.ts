/**
 * Seeded synthetic two-domain e-commerce behaviour (e.g. books and music), with a taste structure
 * that carries across the domains, so that cross-domain transfer is measurable:
 *
 * - every user belongs to one taste cluster (cluster sizes mildly skewed, weight 1/(c+1)^0.5);
 * - every cluster prefers its own subset of the items of EACH domain (about 3/clusters of them,
 *   drawn at random, overlapping between clusters) and, within that subset, items follow a Zipf
 *   law (rank r has weight 1/(r+1)^zipf): a user's books predict their music through the cluster;
 * - a share `noise` of the rows instead follows the domain's global popularity (Zipf over a random
 *   order of all its items), shared by everyone;
 * - stronger behaviours (those weighing more than a view, e.g. cart and buy) go half the time to an
 *   item the user already had in that domain, as a purchase follows a view;
 * - a share `overlap` of the users is active in both domains (at least one row in each), the rest
 *   in one domain only (half each); user activity is heavy-tailed (log-normal, sigma 1);
 * - timestamps: integer unix seconds, uniform over `days` days from `start`, in time order per user.
 *
 * Rows come grouped by user (users in index order), each user's rows in time order. User ids are
 * `u<n>` and item ids `i<n>` (item vocabularies are per domain: `i3` of books is not `i3` of music).
 * Everything is drawn from `Rng` streams derived from `seed`: the same options give the same rows.
 */
import { closeSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OptionRangeError, OptionTypeError, StorageError } from '../errors.js';
import { Rng } from '../random.js';
import { EventTableBuilder, type EventTable } from './events.js';
import { Vocabularies } from './vocab.js';
import { DEFAULT_BEHAVIOR_WEIGHTS } from './weights.js';

/** Options of the two-domain generator (every one optional). */
export interface TwoDomainOptions {
  /** Number of rows. @default 200_000 */
  events?: number;
  /** Number of users (each has at least one row). @default round(events / 10) */
  users?: number;
  /** Number of items of each domain. @default round(events / 40) */
  items?: number;
  /** The two domain names. @default ['books', 'music'] */
  domains?: readonly string[];
  /** Share of the users active in both domains. @default 0.35 */
  overlap?: number;
  /** Number of taste clusters. @default 20 */
  clusters?: number;
  /** Zipf exponent of item popularity (within a cluster's preferences and globally); 0 is uniform. @default 1 */
  zipf?: number;
  /** Share of rows drawn from global popularity instead of the user's cluster. @default 0.2 */
  noise?: number;
  /** Behaviour mix: name -> relative weight; names known to `DEFAULT_BEHAVIOR_WEIGHTS`. @default { view: 0.8, cart: 0.15, buy: 0.05 } */
  behaviors?: Readonly<Record<string, number>>;
  /** Time span of the timestamps in days. @default 90 */
  days?: number;
  /** First possible timestamp, unix seconds. @default 1704067200 (2024-01-01T00:00:00Z) */
  start?: number;
  /** Seed of every draw. @default 0 */
  seed?: number;
}

/** The options with every default filled in. */
export interface ResolvedTwoDomainOptions {
  readonly events: number;
  readonly users: number;
  readonly items: number;
  readonly domains: readonly [string, string];
  readonly overlap: number;
  readonly clusters: number;
  readonly zipf: number;
  readonly noise: number;
  /** Behaviour names (lower case), in the order of `options.behaviors`; `onRow`'s behaviour index points here. */
  readonly behaviorNames: readonly string[];
  /** Relative weight of each behaviour, by index. */
  readonly behaviorMix: readonly number[];
  readonly days: number;
  readonly start: number;
  readonly seed: number;
}

/** What a generation produced (deterministic: no timings). Name-keyed objects have a null prototype. */
export interface TwoDomainSummary {
  /** Rows generated. */
  rows: number;
  /** Users with rows (every user). */
  users: number;
  /** Users with rows in both domains. */
  overlapUsers: number;
  /** The two domain names. */
  domains: [string, string];
  /** Distinct items with rows, per domain name. */
  items: Record<string, number>;
  /** Rows per domain name. */
  rowsByDomain: Record<string, number>;
  /** Rows per behaviour name. */
  rowsByBehavior: Record<string, number>;
  /** The options used, defaults filled in. */
  options: ResolvedTwoDomainOptions;
}

/**
 * One row, as primitives: user index (id `u<user>`), item index within the domain (id `i<item>`),
 * domain index (into `options.domains`), behaviour index (into `behaviorNames`), unix seconds.
 */
export type TwoDomainRowCallback = (user: number, item: number, domain: number, behavior: number, timestamp: number) => void;

const OPTION_NAMES = ['events', 'users', 'items', 'domains', 'overlap', 'clusters', 'zipf', 'noise', 'behaviors', 'days', 'start', 'seed'];
const [MAX_EVENTS, MAX_USERS, MAX_ITEMS] = [2 ** 32 - 1, 2 ** 28, 2 ** 24];
/** Probability that a stronger behaviour goes to an item the user already had in that domain. */
const REVISIT = 0.5;

/**
 * Validate the options and fill in the defaults.
 * @throws {OptionTypeError} for an unknown option or a value of the wrong type; {OptionRangeError}
 *   for a value out of range. `error.option` names the option.
 */
export function resolveTwoDomainOptions(options: TwoDomainOptions = {}): ResolvedTwoDomainOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new OptionTypeError('', 'options must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) throw new OptionTypeError(key, `unknown option "${key}" for the two-domain generator (options: ${OPTION_NAMES.join(', ')})`);
  }
  const o = options as Record<string, unknown>;
  const events = int(o, 'events', 200_000, 1, MAX_EVENTS);
  const users = int(o, 'users', Math.max(1, Math.round(events / 10)), 1, MAX_USERS);
  const items = int(o, 'items', Math.max(1, Math.round(events / 40)), 1, MAX_ITEMS);
  const overlap = num(o, 'overlap', 0.35, 0, 1);
  const clusters = int(o, 'clusters', 20, 1, 65535);
  const zipf = num(o, 'zipf', 1, 0, 10);
  const noise = num(o, 'noise', 0.2, 0, 1);
  const days = num(o, 'days', 90, Number.MIN_VALUE, 36500);
  const start = int(o, 'start', 1704067200, -(2 ** 40), 2 ** 40);
  const seed = int(o, 'seed', 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const domains = domainNames(o.domains);
  const { names, mix } = behaviorMix(o.behaviors);
  const nOverlap = Math.round(overlap * users);
  if (events < users + nOverlap) {
    const key = o.users !== undefined ? 'users' : 'events';
    throw new OptionRangeError(
      key,
      `options.events (${events}) must be at least users + users in both domains (${users} + ${nOverlap}): every user has a row, and one in each domain when in both`,
    );
  }
  return Object.freeze({ events, users, items, domains, overlap, clusters, zipf, noise, behaviorNames: names, behaviorMix: mix, days, start, seed });
}

function int(o: Record<string, unknown>, key: string, dflt: number, min: number, max: number): number {
  if (o[key] === undefined) return dflt;
  const v = o[key];
  if (typeof v !== 'number') throw new OptionTypeError(key, `options.${key} must be a number (got ${typeof v})`);
  if (!Number.isInteger(v) || v < min || v > max) throw new OptionRangeError(key, `options.${key} must be an integer from ${min} to ${max} (got ${String(v)})`);
  return v;
}

function num(o: Record<string, unknown>, key: string, dflt: number, min: number, max: number): number {
  if (o[key] === undefined) return dflt;
  const v = o[key];
  if (typeof v !== 'number') throw new OptionTypeError(key, `options.${key} must be a number (got ${typeof v})`);
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new OptionRangeError(key, `options.${key} must be a number ${min === Number.MIN_VALUE ? 'above 0' : `from ${min}`} to ${max} (got ${String(v)})`);
  }
  return v;
}

function domainNames(v: unknown): readonly [string, string] {
  if (v === undefined) return Object.freeze(['books', 'music'] as [string, string]);
  if (!Array.isArray(v) || v.some((d) => typeof d !== 'string')) throw new OptionTypeError('domains', 'options.domains must be an array of two domain names');
  if (v.length !== 2) throw new OptionRangeError('domains', `options.domains must name exactly two domains (got ${v.length})`);
  for (const d of v as string[]) {
    // Names go into CSV rows unquoted, so they must not need quoting.
    if (d === '' || d.length > 200 || /[",\u0000-\u001f\u007f]/.test(d) || d.trim() !== d) {
      throw new OptionRangeError('domains', `options.domains: ${JSON.stringify(d.slice(0, 60))} is not a usable domain name (1 to 200 characters, no comma, quote, control character or surrounding space)`);
    }
  }
  if (v[0] === v[1]) throw new OptionRangeError('domains', `options.domains must differ (both ${JSON.stringify(v[0])})`);
  return Object.freeze([v[0], v[1]] as [string, string]);
}

function behaviorMix(v: unknown): { names: readonly string[]; mix: readonly number[] } {
  if (v === undefined) return { names: Object.freeze(['view', 'cart', 'buy']), mix: Object.freeze([0.8, 0.15, 0.05]) };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OptionTypeError('behaviors', 'options.behaviors must be an object of behaviour name -> weight');
  const names: string[] = [];
  const mix: number[] = [];
  for (const [name, w] of Object.entries(v as Record<string, unknown>)) {
    if (!Object.hasOwn(DEFAULT_BEHAVIOR_WEIGHTS, name)) {
      throw new OptionRangeError(`behaviors.${name}`, `options.behaviors: unknown behaviour ${JSON.stringify(name)} (known: ${Object.keys(DEFAULT_BEHAVIOR_WEIGHTS).join(', ')})`);
    }
    if (typeof w !== 'number') throw new OptionTypeError(`behaviors.${name}`, `options.behaviors.${name} must be a number (got ${typeof w})`);
    if (!Number.isFinite(w) || w < 0) throw new OptionRangeError(`behaviors.${name}`, `options.behaviors.${name} must be a finite number of at least 0 (got ${String(w)})`);
    names.push(name);
    mix.push(w);
  }
  if (!mix.some((w) => w > 0)) throw new OptionRangeError('behaviors', 'options.behaviors must give at least one behaviour a weight above 0');
  return { names: Object.freeze(names), mix: Object.freeze(mix) };
}

/** Cumulative Zipf weights of ranks 0..n-1. */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let r = 0; r < n; r++) cdf[r] = acc += 1 / Math.pow(r + 1, s);
  return cdf;
}

/** A rank drawn from a cumulative table (binary search). */
function draw(cdf: Float64Array, rng: Rng): number {
  const x = rng.next() * cdf[cdf.length - 1];
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Generate the rows and hand each to `onRow` as primitives (no object per row; memory is bounded
 * by users and items, not rows).
 * @throws {OptionTypeError|OptionRangeError} for invalid options (see `resolveTwoDomainOptions`).
 */
export function generateTwoDomainRows(options: TwoDomainOptions, onRow: TwoDomainRowCallback): TwoDomainSummary {
  if (typeof onRow !== 'function') throw new OptionTypeError('onRow', 'onRow must be a function');
  return generate(resolveTwoDomainOptions(options), onRow);
}

function generate(o: ResolvedTwoDomainOptions, onRow: TwoDomainRowCallback): TwoDomainSummary {
  const { events: N, users: U, items: I, clusters: K } = o;

  // Catalogue: global popularity order per domain, and each cluster's preferred items per domain.
  const cat = Rng.derive(o.seed, 'synthetic:catalog');
  const m = Math.max(1, Math.min(I, Math.round((I * 3) / K)));
  const scratch = new Uint32Array(I);
  const popular: Uint32Array[] = [];
  const prefs = new Uint32Array(K * 2 * m);
  for (let d = 0; d < 2; d++) {
    for (let i = 0; i < I; i++) scratch[i] = i;
    popular.push(cat.shuffle(scratch.slice()));
    for (let c = 0; c < K; c++) {
      const at = (c * 2 + d) * m;
      for (let r = 0; r < m; r++) {
        // Partial Fisher-Yates: the first m slots become a uniform sample without replacement.
        const j = r + cat.int(I - r);
        const t = scratch[r];
        scratch[r] = scratch[j];
        scratch[j] = t;
        prefs[at + r] = scratch[r];
      }
    }
  }
  const globalCdf = zipfCdf(I, o.zipf);
  const prefCdf = zipfCdf(m, o.zipf);
  const clusterCdf = zipfCdf(K, 0.5);
  const behaviorCdf = new Float64Array(o.behaviorMix.length);
  let bAcc = 0;
  o.behaviorMix.forEach((w, b) => (behaviorCdf[b] = bAcc += w));
  const strong = Uint8Array.from(o.behaviorNames, (n) => (DEFAULT_BEHAVIOR_WEIGHTS[n] > 1 ? 1 : 0));

  // Users: kind (0/1 one domain, 2 both; exact counts by selection sampling), cluster, row count.
  const ur = Rng.derive(o.seed, 'synthetic:users');
  const kind = new Uint8Array(U);
  const cluster = new Uint16Array(U);
  const count = new Uint32Array(U);
  const nOverlap = Math.round(o.overlap * U);
  let needBoth = nOverlap;
  let needFirst = Math.round((U - nOverlap) / 2);
  let leftSingle = U - nOverlap;
  const activity = new Float64Array(U);
  let total = 0;
  for (let u = 0; u < U; u++) {
    if (ur.next() * (U - u) < needBoth) {
      kind[u] = 2;
      needBoth--;
    } else {
      kind[u] = ur.next() * leftSingle < needFirst ? 0 : 1;
      if (kind[u] === 0) needFirst--;
      leftSingle--;
    }
    cluster[u] = draw(clusterCdf, ur);
    total += activity[u] = Math.exp(ur.normal());
  }
  const spare = N - U - nOverlap;
  let given = 0;
  for (let u = 0; u < U; u++) {
    count[u] = (kind[u] === 2 ? 2 : 1) + Math.floor((spare * activity[u]) / total);
    given += count[u];
  }
  for (; given < N; given++) count[ur.int(U)]++; // the remainder (below U) to random users

  // Rows, user by user.
  const rng = Rng.derive(o.seed, 'synthetic:rows');
  const spanSeconds = o.days * 86400;
  let times = new Float64Array(1024);
  const had = [new Uint32Array(1024), new Uint32Array(1024)];
  const seenItem = [new Uint8Array(I), new Uint8Array(I)];
  const rowsByDomain = [0, 0];
  const rowsByBehavior = new Array<number>(o.behaviorNames.length).fill(0);
  const distinct = [0, 0];
  for (let u = 0; u < U; u++) {
    const n = count[u];
    if (times.length < n + 1) [times, had[0], had[1]] = [new Float64Array(2 * n + 2), new Uint32Array(2 * n), new Uint32Array(2 * n)];
    // Sorted uniform times from exponential spacings (no sort).
    let acc = 0;
    for (let k = 0; k <= n; k++) times[k] = acc += -Math.log(1 - rng.next());
    const scale = spanSeconds / acc;
    let left0: number;
    if (kind[u] === 2) {
      const p = 0.2 + 0.6 * rng.next();
      left0 = 1;
      for (let k = 2; k < n; k++) if (rng.next() < p) left0++;
    } else left0 = kind[u] === 0 ? n : 0;
    const c = cluster[u];
    const nHad = [0, 0];
    for (let k = 0; k < n; k++) {
      const d = rng.next() * (n - k) < left0 ? 0 : 1;
      if (d === 0) left0--;
      const b = draw(behaviorCdf, rng);
      let item: number;
      if (strong[b] && nHad[d] > 0 && rng.next() < REVISIT) item = had[d][rng.int(nHad[d])];
      else if (rng.next() < o.noise) item = popular[d][draw(globalCdf, rng)];
      else item = prefs[(c * 2 + d) * m + draw(prefCdf, rng)];
      had[d][nHad[d]++] = item;
      if (!seenItem[d][item]) {
        seenItem[d][item] = 1;
        distinct[d]++;
      }
      rowsByDomain[d]++;
      rowsByBehavior[b]++;
      onRow(u, item, d, b, o.start + Math.floor(times[k] * scale));
    }
  }
  const byName = (values: readonly number[], names: readonly string[]): Record<string, number> =>
    Object.assign(Object.create(null) as Record<string, number>, ...names.map((name, i) => ({ [name]: values[i] })));
  return {
    rows: N,
    users: U,
    overlapUsers: nOverlap,
    domains: [o.domains[0], o.domains[1]],
    items: byName(distinct, o.domains),
    rowsByDomain: byName(rowsByDomain, o.domains),
    rowsByBehavior: byName(rowsByBehavior, o.behaviorNames),
    options: o,
  };
}

/**
 * Generate the rows into an in-memory `EventTable` (for small and medium sizes: about 41 bytes a
 * row). Domain indices follow `options.domains` (`books` is 0 by default); otherwise the table is
 * what `loadEvents` makes of `writeTwoDomainCsv`'s file for the same options (user and item ids
 * numbered in natural order, behaviours in order of first appearance, weights from
 * `DEFAULT_BEHAVIOR_WEIGHTS`, no rating), with `line` 0 and `source` `<synthetic seed S>`.
 * @throws {OptionTypeError|OptionRangeError} for invalid options.
 * @example
 * const { events, summary } = generateTwoDomain({ events: 50_000, seed: 1 });
 * const split = coldStartSplit(events, { source: 'books', target: 'music' });
 */
export function generateTwoDomain(options: TwoDomainOptions = {}): { events: EventTable; summary: TwoDomainSummary } {
  const o = resolveTwoDomainOptions(options);
  const vocab = new Vocabularies();
  const b = new EventTableBuilder(vocab, `<synthetic seed ${o.seed}>`, o.events);
  for (const d of o.domains) vocab.domains.intern(d);
  const behaviorIndex = new Array<number>(o.behaviorNames.length).fill(-1);
  const weights = o.behaviorNames.map((n) => DEFAULT_BEHAVIOR_WEIGHTS[n]);
  const summary = generate(o, (u, i, d, beh, ts) => {
    let bx = behaviorIndex[beh];
    if (bx < 0) bx = behaviorIndex[beh] = vocab.behaviors.intern(o.behaviorNames[beh]);
    b.push(u, i, d, bx, weights[beh], NaN, ts, 0);
  });
  // Every user has a row, so user u is index u ("u2" sorts before "u10"). Items: the ones with rows, ascending.
  for (let u = 0; u < o.users; u++) vocab.users.intern(`u${u}`);
  for (let d = 0; d < 2; d++) {
    const map = new Int32Array(o.items).fill(-1);
    for (let r = 0; r < b.length; r++) if (b.domain[r] === d) map[b.item[r]] = 0;
    const items = vocab.items(d);
    for (let i = 0; i < o.items; i++) if (map[i] === 0) map[i] = items.intern(`i${i}`);
    for (let r = 0; r < b.length; r++) if (b.domain[r] === d) b.item[r] = map[b.item[r]];
  }
  return { events: b.finish(), summary };
}

/**
 * Write the rows as CSV (`user,item,domain,behavior,timestamp`, with a header) to `path`, streamed
 * in 1 MiB writes (memory bounded by users and items, not rows), atomically: to a temporary file
 * beside `path`, renamed over it at the end; on failure no partial file is left.
 * @throws {OptionTypeError|OptionRangeError} for invalid options; {StorageError} when the file cannot be written.
 */
export function writeTwoDomainCsv(path: string, options: TwoDomainOptions = {}): TwoDomainSummary {
  if (typeof path !== 'string' || path === '') throw new OptionTypeError('path', 'path must be a non-empty string');
  const o = resolveTwoDomainOptions(options);
  let dir: string;
  try {
    dir = mkdtempSync(join(dirname(path), `.${basename(path)}.tmp-`));
  } catch (e) {
    throw new StorageError(`cannot write ${path}: ${(e as Error).message}`);
  }
  const tmp = join(dir, 'rows.csv');
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    const out = fd;
    const mid = o.domains.map((d) => o.behaviorNames.map((beh) => Buffer.from(`,${d},${beh},`, 'utf8')));
    // Rows are encoded straight into a byte buffer (no string per row): ids and times digit by digit.
    const chunk = Buffer.allocUnsafe(1 << 20);
    let pos = chunk.write('user,item,domain,behavior,timestamp\n', 0, 'latin1');
    const putInt = (n: number): void => {
      if (n < 0) {
        chunk[pos++] = 45;
        n = -n;
      }
      let len = 1;
      for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
      for (let q = pos + len - 1; q >= pos; q--, n = Math.floor(n / 10)) chunk[q] = 48 + (n % 10);
      pos += len;
    };
    const summary = generate(o, (u, i, d, beh, ts) => {
      chunk[pos++] = 117; // u
      putInt(u);
      chunk[pos++] = 44; // ,
      chunk[pos++] = 105; // i
      putInt(i);
      const m = mid[d][beh];
      m.copy(chunk, pos);
      pos += m.length;
      putInt(ts);
      chunk[pos++] = 10;
      if (pos > chunk.length - 2048) pos = flush(out, chunk, pos);
    });
    flush(fd, chunk, pos);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    return summary;
  } catch (e) {
    if (e instanceof OptionRangeError || e instanceof OptionTypeError) throw e;
    throw new StorageError(`cannot write ${path}: ${(e as Error).message}`);
  } finally {
    if (fd >= 0) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Write `chunk[0, end)` whole (looping over short writes); returns 0, the next position. */
function flush(fd: number, chunk: Buffer, end: number): number {
  for (let off = 0; off < end; ) off += writeSync(fd, chunk, off, end - off);
  return 0;
}
