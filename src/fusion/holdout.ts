/**
 * Validation users made from training rows, for the buckets the validation data leaves (nearly)
 * empty. A cold-start validation file has only cold users, so without these the fusion would give
 * warm users the weights tuned on cold ones (item kNN and user kNN at 0). For such a bucket a seeded
 * sample of training users of its kind is drawn and part of their target history is held out:
 *
 * - `cold`: users with target and source rows; every target row is held out (they become cold
 *   users with source history, and their target items are the truth);
 * - `sparse`: users with 2 to 5 target items; the item of their latest target event is held out;
 * - `warm`: users with at least 6 target items; the item of their latest target event is held out.
 *
 * To score these users, the similarity components (popularity, item kNN, both bridges) are fitted
 * again on the training rows without the held-out ones (MIGREC.fit), so a held-out item is not found
 * through its own user's rows; at most MAX_HELD_SHARE of a bucket's users are held out, so that fit
 * sees most of the data. User kNN searches a user whose rows differ from training at query time,
 * among the other users, so it needs no second fit. The transfer models are used as fitted: they
 * re-solve such a user's factors from the remaining rows, but their item factors saw the held-out
 * rows, a small leak (one user's rows among the thousands behind each item factor).
 */
import { keptRows as keptEventRows, type EventTable } from '../data/events.js';
import type { Csr } from '../kernels/types.js';
import type { Rng } from '../random.js';
import { gatherRows, UserBatch, type ModelData } from '../engine/rows.js';
import type { Bucket } from './gating.js';

/** Held-out users of one bucket: their batch (target rows without the held-out items) and the truth. */
export interface HoldoutSet {
  bucket: Bucket;
  batch: UserBatch;
  users: Uint32Array;
  relevant: Set<number>[];
}

/**
 * At most this share of a bucket's eligible users is held out: the components that score them are
 * fitted again without their held-out rows, and that fit must still see most of the data.
 */
export const MAX_HELD_SHARE = 0.1;

/** The buckets that can be made from training rows (cold users without source history get popularity only). */
export const HOLDOUT_BUCKETS: readonly Bucket[] = ['cold', 'sparse', 'warm'];

/**
 * A seeded sample of at most `count` training users of `bucket` in target `t` (and at most
 * `MAX_HELD_SHARE` of those who qualify), with part of their target history held out (see the
 * module comment); undefined when too few users qualify.
 * @param exclude users left out of the sample (the target's validation users).
 */
export function holdoutSet(
  data: ModelData,
  events: EventTable,
  t: number,
  sources: readonly number[],
  bucket: Bucket,
  count: number,
  exclude: ReadonlySet<number>,
  rng: Rng,
): HoldoutSet | undefined {
  const m = data.matrices[t];
  const eligible: number[] = [];
  for (let u = 0; u < m.nRows; u++) {
    if (exclude.has(u)) continue;
    const n = m.indptr[u + 1] - m.indptr[u];
    if (bucket === 'cold') {
      if (n > 0 && sourceRows(data, sources, u) > 0) eligible.push(u);
    } else if (bucket === 'sparse' ? n >= 2 && n <= 5 : bucket === 'warm' && n >= 6) eligible.push(u);
  }
  // Partial Fisher-Yates: the first `size` entries are the sample.
  const size = Math.min(count, Math.floor(eligible.length * MAX_HELD_SHARE));
  if (size === 0) return undefined;
  for (let q = 0; q < size; q++) {
    const r = q + rng.int(eligible.length - q);
    const x = eligible[r];
    eligible[r] = eligible[q];
    eligible[q] = x;
  }
  const users = Uint32Array.from(eligible.slice(0, size)).sort();
  const hidden = bucket === 'cold' ? allItems(m, users) : latestItems(events, t, users);
  const reduced = withoutItems(m, users, hidden);
  const batch = new UserBatch(users, data.nItems.length, (d) => (d === t ? reduced : gatherRows(data, users, d, undefined)));
  return { bucket, batch, users, relevant: hidden };
}

function sourceRows(data: ModelData, sources: readonly number[], u: number): number {
  let s = 0;
  for (const d of sources) {
    const x = data.matrices[d];
    if (u < x.nRows) s += x.indptr[u + 1] - x.indptr[u];
  }
  return s;
}

/** Every target item of each user. */
function allItems(m: Csr, users: Uint32Array): Set<number>[] {
  return Array.from(users, (u) => new Set(m.indices.subarray(m.indptr[u], m.indptr[u + 1])));
}

/** The item of each user's latest event in domain t (ties: the later row of the table). */
function latestItems(events: EventTable, t: number, users: Uint32Array): Set<number>[] {
  const slot = new Map<number, number>();
  users.forEach((u, b) => slot.set(u, b));
  const when = new Float64Array(users.length).fill(-Infinity);
  const item = new Int32Array(users.length).fill(-1);
  for (let r = 0; r < events.length; r++) {
    if (events.domain[r] !== t) continue;
    const b = slot.get(events.user[r]);
    if (b === undefined) continue;
    const ts = events.timestamp[r];
    // NaN timestamps (files without them) fall back to row order.
    if (!(ts < when[b])) {
      when[b] = Number.isNaN(ts) ? when[b] : ts;
      item[b] = events.item[r];
    }
  }
  return Array.from(item, (i) => new Set(i >= 0 ? [i] : []));
}

/** Each user's row of m without the items in `hidden`. */
function withoutItems(m: Csr, users: Uint32Array, hidden: readonly Set<number>[]): Csr {
  const indptr = new Uint32Array(users.length + 1);
  let nnz = 0;
  users.forEach((u, b) => {
    for (let e = m.indptr[u]; e < m.indptr[u + 1]; e++) if (!hidden[b].has(m.indices[e])) nnz++;
    indptr[b + 1] = nnz;
  });
  const indices = new Uint32Array(nnz);
  const data = new Float32Array(nnz);
  let o = 0;
  users.forEach((u, b) => {
    for (let e = m.indptr[u]; e < m.indptr[u + 1]; e++) {
      if (hidden[b].has(m.indices[e])) continue;
      indices[o] = m.indices[e];
      data[o++] = m.data[e];
    }
  });
  return { nRows: users.length, nCols: m.nCols, indptr, indices, data };
}

/** The held-out (user, item) pairs of the sets, by target domain: domain -> user -> items. */
export function heldPairs(sets: ReadonlyArray<{ t: number; set: HoldoutSet }>): Map<number, Map<number, Set<number>>> {
  const held = new Map<number, Map<number, Set<number>>>();
  for (const { t, set } of sets) {
    let byUser = held.get(t);
    if (!byUser) held.set(t, (byUser = new Map()));
    set.users.forEach((u, b) => byUser!.set(u, set.relevant[b]));
  }
  return held;
}

/** Rows of `events` outside the held-out sets (each set with its target domain). */
export function keptRows(events: EventTable, sets: ReadonlyArray<{ t: number; set: HoldoutSet }>): Uint32Array {
  return keptEventRows(events, heldPairs(sets));
}
