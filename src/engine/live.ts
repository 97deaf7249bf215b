/**
 * Live models: the data side of `update(events)` and `forget(user)`. Both build a new `ModelData`
 * (the old one is never touched, so calls running on it stay consistent) and describe what changed
 * for the model's own hook (`ModelDefinition.live`):
 *
 * - update: new rows are merged into each domain's users x items matrix the way a fit on the union
 *   of old and new rows would merge them (duplicates summed in row order, as `buildMatrix` does);
 *   ids new to the model are appended in natural id order, as a load appends the ids it adds, so
 *   the result equals `Dataset.fromEvents(concatTables([old, new]))` over the model's vocabulary.
 * - forget: the user's rows leave every matrix and their id leaves the vocabulary (a new
 *   vocabulary without it; later users move down by one index, keeping their order, so ties that
 *   break by the lower index break as in a fit without the user).
 */
import type { ItemCatalog } from '../data/catalog.js';
import type { EventTable } from '../data/events.js';
import { naturalCompare, Vocabularies, Vocabulary } from '../data/vocab.js';
import { DataError, NotSupportedError, quoteInput, UnknownIdError } from '../errors.js';
import type { BackendName, Csr } from '../kernels/types.js';
import type { KernelPool } from '../pool/index.js';
import type { ModelData, Overlay } from './rows.js';

/** What changed in a live update or forget, as a model's `live` hook sees it. */
export interface LiveChange {
  /** The data before the change (the scorer being updated was built on it). */
  before: ModelData;
  /** The data after it. */
  after: ModelData;
  /** Per domain, items (indices of `after`) whose column changed, sorted; new items included. */
  items: Uint32Array[];
  /** Per domain, users (indices of `after`) whose row changed, sorted; new users included. */
  users: Uint32Array[];
  /** forget: the removed user's index in `before` (users above it are one lower in `after`). */
  removedUser?: number;
  /** Kernel backend and pool (undefined: this thread). */
  backend: BackendName | 'auto';
  pool: KernelPool | undefined;
  /** Name of the model, for messages. */
  label: string;
}

/** The old -> new user index of a change (-1 for the removed user). */
export function mapUser(c: Pick<LiveChange, 'removedUser'>, u: number): number {
  const w = c.removedUser;
  return w === undefined || u < w ? u : u === w ? -1 : u - 1;
}

/** The new data and what changed, for `update`. */
export interface UpdatedData {
  after: ModelData;
  items: Uint32Array[];
  users: Uint32Array[];
  /** Rows merged in, new users and new items. */
  counts: { rows: number; newUsers: number; newItems: number };
}

/**
 * Merge new events (any vocabularies: ids are matched by their strings) into a model's data.
 * @throws {DataError} for no rows, a row of a domain the model does not know (naming file and line),
 * or a weight that makes a merged value overflow float32.
 */
export function mergeEvents(data: ModelData, events: EventTable): UpdatedData {
  const n = events.length;
  if (n === 0) throw new DataError({ file: events.source }, 'no rows to update the model with');
  const nDomains = data.nItems.length;
  const vocab = data.vocab;
  const ev = events.vocab;
  // Domains of the events -> the model's (checked per row so the error names the first bad line).
  const domainOf = new Int32Array(ev.domains.size).fill(-1);
  for (let d = 0; d < ev.domains.size; d++) {
    const m = vocab.domains.get(ev.domains.id(d));
    domainOf[d] = m >= 0 && m < nDomains && data.nItems[m] > 0 ? m : -1;
  }
  for (let r = 0; r < n; r++) {
    if (domainOf[events.domain[r]] >= 0) continue;
    const known = vocab.domains.list().slice(0, nDomains).map((s) => quoteInput(s)).join(', ');
    throw new DataError(
      { file: events.source, line: events.line[r] > 0 ? events.line[r] : undefined },
      `domain ${quoteInput(ev.domains.id(events.domain[r]))} is not a domain of the model (it knows ${known}); a new domain needs a refit`,
    );
  }
  // New ids, appended in natural order (users, then each domain's items), as a load would number them.
  const userOf = internAll(vocab.users, ev.users, events.user, n, () => true);
  const itemOf: Int32Array[] = [];
  for (let d = 0; d < ev.domains.size; d++) {
    const m = domainOf[d];
    itemOf.push(m < 0 ? new Int32Array(0) : internAll(vocab.items(m), ev.items(d), events.item, n, (r) => events.domain[r] === d));
  }
  const nUsers = Math.max(data.nUsers, vocab.users.size);
  const nItems = data.nItems.map((k, d) => Math.max(k, vocab.items(d).size));
  // Rows per model domain, in event order.
  const perDomain: number[][] = Array.from({ length: nDomains }, () => []);
  for (let r = 0; r < n; r++) perDomain[domainOf[events.domain[r]]].push(r);
  const matrices: Csr[] = [];
  const items: Uint32Array[] = [];
  const users: Uint32Array[] = [];
  for (let d = 0; d < nDomains; d++) {
    const rows = perDomain[d];
    const u = Uint32Array.from(rows, (r) => userOf[events.user[r]]);
    const i = Uint32Array.from(rows, (r) => itemOf[events.domain[r]][events.item[r]]);
    const w = Float32Array.from(rows, (r) => events.weight[r]);
    matrices.push(mergeRows(data.matrices[d], nUsers, nItems[d], u, i, w, (q) => overflow(events, rows[q], vocab, d, u[q], i[q])));
    items.push(sortedUnique(i));
    users.push(sortedUnique(u));
  }
  return {
    after: { vocab, nUsers, nItems, matrices },
    items,
    users,
    counts: { rows: n, newUsers: nUsers - data.nUsers, newItems: nItems.reduce((s, k, d) => s + k - data.nItems[d], 0) },
  };
}

/** Each id of `from` that rows use -> its index in `to`, adding the new ones in natural order. */
function internAll(to: Vocabulary, from: Vocabulary, col: Uint32Array, n: number, take: (r: number) => boolean): Int32Array {
  const map = new Int32Array(from.size).fill(-1);
  const fresh: string[] = [];
  for (let r = 0; r < n; r++) {
    if (!take(r)) continue;
    const x = col[r];
    if (map[x] !== -1) continue;
    const id = from.id(x);
    const i = to.get(id);
    map[x] = i >= 0 ? i : -2;
    if (i < 0) fresh.push(id);
  }
  fresh.sort(naturalCompare);
  for (const id of fresh) to.intern(id);
  for (let x = 0; x < map.length; x++) if (map[x] === -2) map[x] = to.get(from.id(x));
  return map;
}

/**
 * A users x items matrix with new (user, item, weight) rows added in order: a pair already there
 * gets each weight added in float32, as `buildMatrix` sums duplicate rows of one table.
 */
export function mergeRows(m: Csr, nRows: number, nCols: number, u: Uint32Array, i: Uint32Array, w: Float32Array, onOverflow: (q: number) => Error): Csr {
  // New entries grouped by (user, item), row order kept within a pair.
  const order = Uint32Array.from(u.keys()).sort((a, b) => u[a] - u[b] || i[a] - i[b] || a - b);
  const indptr = new Uint32Array(nRows + 1);
  const indices = new Uint32Array(m.indices.length + u.length);
  const data = new Float32Array(indices.length);
  const oldEnd = (r: number) => (r < m.nRows ? m.indptr[r + 1] : m.indices.length);
  let q = 0;
  let r = 0;
  for (let o = 0; o <= order.length; ) {
    // Rows up to the next changed one (all of them after the last): one copy, indptr shifted.
    const next = o < order.length ? u[order[o]] : nRows;
    if (next > r) {
      const s = r < m.nRows ? m.indptr[r] : m.indices.length;
      const e = oldEnd(next - 1);
      indices.set(m.indices.subarray(s, e), q);
      data.set(m.data.subarray(s, e), q);
      const shift = q - s;
      for (let x = r; x < next; x++) indptr[x + 1] = oldEnd(x) + shift;
      q += e - s;
      r = next;
    }
    if (o === order.length) break;
    // Row r: its stored entries merged with the new ones in item order.
    let t = r < m.nRows ? m.indptr[r] : m.indices.length;
    const e = oldEnd(r);
    while (t < e || (o < order.length && u[order[o]] === r)) {
      const nextNew = o < order.length && u[order[o]] === r ? i[order[o]] : Infinity;
      if (t < e && m.indices[t] < nextNew) {
        indices[q] = m.indices[t];
        data[q++] = m.data[t++];
        continue;
      }
      // One pair: the stored value (if any), then each new weight, summed in float32.
      const item = nextNew;
      let acc = t < e && m.indices[t] === item ? m.data[t++] : 0;
      let first = acc === 0;
      while (o < order.length && u[order[o]] === r && i[order[o]] === item) {
        acc = first ? w[order[o]] : Math.fround(acc + w[order[o]]);
        first = false;
        if (acc === Infinity) throw onOverflow(order[o]);
        o++;
      }
      indices[q] = item;
      data[q++] = acc;
    }
    indptr[++r] = q;
  }
  return { nRows, nCols, indptr, indices: indices.slice(0, q), data: data.slice(0, q) };
}

function overflow(events: EventTable, r: number, vocab: Vocabularies, d: number, u: number, i: number): DataError {
  return new DataError(
    { file: events.source, line: events.line[r] > 0 ? events.line[r] : undefined },
    `the summed weight of user ${quoteInput(vocab.users.id(u))} and item ${quoteInput(vocab.items(d).id(i))} (domain ${quoteInput(vocab.domains.id(d))}) overflows float32 (3.4e38) at this row`,
  );
}

function sortedUnique(a: Uint32Array): Uint32Array {
  const s = Uint32Array.from(new Set(a)).sort();
  return s;
}

/** The new data and what changed, for `forget`. */
export interface ForgottenData {
  after: ModelData;
  items: Uint32Array[];
  users: Uint32Array[];
  removedUser: number;
  overlay: Overlay;
  /** The user's training rows removed and folded-in items dropped. */
  counts: { rows: number; foldedIn: number };
}

/**
 * The data without one user: their rows, their folded-in behaviour and their id.
 * @throws {UnknownIdError} for a user the model does not know.
 */
export function removeUser(data: ModelData, overlay: Overlay, userId: string): ForgottenData {
  if (typeof userId !== 'string') throw new TypeError(`user id must be a string (got ${typeof userId})`);
  const w = data.vocab.users.find(userId);
  if (w < 0 || (w >= data.nUsers && !overlay.has(w))) throw new UnknownIdError('user', userId, 'not in the model (nothing to forget)');
  const old = data.vocab;
  // A new vocabulary without the id: users after it move down by one.
  const vocab = old.withoutUser(w);
  const nUsers = w < data.nUsers ? data.nUsers - 1 : data.nUsers;
  const items: Uint32Array[] = [];
  let rows = 0;
  const matrices = data.matrices.map((m) => {
    if (w >= m.nRows) {
      items.push(new Uint32Array(0));
      return m;
    }
    const s = m.indptr[w];
    const e = m.indptr[w + 1];
    rows += e - s;
    items.push(m.indices.slice(s, e));
    const indptr = new Uint32Array(m.nRows);
    for (let r = 0; r < m.nRows; r++) indptr[r] = r < w ? m.indptr[r] : m.indptr[r + 1] - (e - s);
    const indices = new Uint32Array(m.indices.length - (e - s));
    indices.set(m.indices.subarray(0, s));
    indices.set(m.indices.subarray(e), s);
    const values = new Float32Array(indices.length);
    values.set(m.data.subarray(0, s));
    values.set(m.data.subarray(e), s);
    return { nRows: m.nRows - 1, nCols: m.nCols, indptr, indices, data: values };
  });
  let foldedIn = 0;
  const moved: Overlay = new Map();
  for (const [u, byDomain] of overlay) {
    if (u === w) {
      for (const it of byDomain.values()) foldedIn += it.size;
      continue;
    }
    moved.set(u > w ? u - 1 : u, byDomain);
  }
  return {
    after: { vocab, nUsers, nItems: data.nItems.slice(), matrices },
    items,
    users: data.matrices.map(() => new Uint32Array(0)),
    removedUser: w,
    overlay: moved,
    counts: { rows, foldedIn },
  };
}

/** A catalog grown to new item counts (new items: no category, no price). */
export function growCatalog(c: ItemCatalog | undefined, nItems: readonly number[]): ItemCatalog | undefined {
  if (!c || c.category.every((a, d) => a.length === nItems[d])) return c;
  const category = c.category.map((a, d) => {
    const b = new Int32Array(nItems[d]).fill(-1);
    b.set(a);
    return b;
  });
  const price = c.price.map((a, d) => {
    const b = new Float32Array(nItems[d]).fill(NaN);
    b.set(a);
    return b;
  });
  return { ...c, category, price };
}

/** What `update` or `forget` did. */
export interface LiveReport {
  operation: 'update' | 'forget';
  /** Rows merged in (update) or removed (forget). */
  rows: number;
  /** Users and items new to the model (update). */
  newUsers: number;
  newItems: number;
  /** Folded-in items dropped with the user (forget). */
  foldedIn: number;
  /** Wall time of the change, in seconds. */
  seconds: number;
}

/** The data side of one change: `mergeEvents` or `removeUser`. */
export type LiveData = (UpdatedData | ForgottenData) & { counts: Partial<UpdatedData['counts'] & ForgottenData['counts']> };

/**
 * Apply a change to a fitted state through the model's `live` hook: the new scorer, data, overlay
 * (forget only) and catalog, built aside; the caller swaps them in at once.
 * @throws {NotSupportedError} for a model without a `live` hook.
 */
export async function liveState<S>(
  live: ((scorer: S, change: LiveChange, options: Readonly<Record<string, unknown>>) => Promise<S>) | undefined,
  s: { scorer: S; data: ModelData; options: Readonly<Record<string, unknown>>; catalog: ItemCatalog | undefined },
  make: () => LiveData,
  run: Pick<LiveChange, 'backend' | 'pool' | 'label'>,
): Promise<{ scorer: S; data: ModelData; overlay: Overlay | undefined; catalog: ItemCatalog | undefined; report: LiveReport }> {
  if (!live) throw new NotSupportedError(`${run.label} cannot be updated in place (refit it)`);
  const t0 = performance.now();
  const c = make();
  const removedUser = 'removedUser' in c ? c.removedUser : undefined;
  const scorer = await live(s.scorer, { before: s.data, after: c.after, items: c.items, users: c.users, removedUser, ...run }, s.options);
  const report: LiveReport = {
    operation: removedUser === undefined ? 'update' : 'forget',
    rows: c.counts.rows ?? 0,
    newUsers: c.counts.newUsers ?? 0,
    newItems: c.counts.newItems ?? 0,
    foldedIn: c.counts.foldedIn ?? 0,
    seconds: (performance.now() - t0) / 1000,
  };
  return { scorer, data: c.after, overlay: 'overlay' in c ? c.overlay : undefined, catalog: growCatalog(s.catalog, c.after.nItems), report };
}
