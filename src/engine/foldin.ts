/**
 * Behaviour folded in after fitting: the events of one `foldIn` call checked as a whole (items,
 * domains, behaviour names, weights, and the per-item sums they make), before anything changes.
 */
import { DEFAULT_BEHAVIOR_WEIGHTS } from '../data/weights.js';
import { DataError } from '../errors.js';
import { domainIndex, itemIndex, type RequestState } from './requests.js';
import type { ModelData } from './rows.js';
import type { FoldInEvent } from './types.js';

/** The largest finite float32 (3.4028234663852886e38): folded-in weights and their sums stay at or below it. */
export const MAX_F32 = 3.4028234663852886e38;

/** The smallest positive float32 (1.401298464324817e-45): a smaller weight would be stored as 0. */
const MIN_F32 = 1.401298464324817e-45;

/** One checked event: domain and item indices, and its weight. */
export interface FoldInEntry {
  d: number;
  i: number;
  w: number;
}

/**
 * Check the events of a `foldIn` call for `userId`: every item known, every behaviour one of
 * `DEFAULT_BEHAVIOR_WEIGHTS` (own keys only: `constructor` or `__proto__` are unknown), every
 * weight positive and finite in float32, and each item's sum (training value, behaviour folded in
 * before, and these events) finite in float32.
 * @throws {DataError} for a bad event, weight, behaviour or sum; {UnknownIdError} for an unknown item or domain.
 */
export function checkFoldIn(s: RequestState, userId: string, events: readonly FoldInEvent[]): FoldInEntry[] {
  const parsed = events.map((e, n) => {
    const where = { file: '<foldIn>', line: n + 1 };
    if (typeof e !== 'object' || e === null || typeof e.item !== 'string') throw new DataError(where, 'each event needs an item id');
    const d = domainIndex(s, e.domain);
    const i = itemIndex(s, d, e.item);
    let w = 1;
    if (e.behavior !== undefined) {
      const name = String(e.behavior).toLowerCase();
      const bw = Object.hasOwn(DEFAULT_BEHAVIOR_WEIGHTS, name) ? DEFAULT_BEHAVIOR_WEIGHTS[name] : undefined;
      if (typeof bw !== 'number') throw new DataError({ ...where, column: 'behavior' }, `unknown behaviour ${JSON.stringify(e.behavior)}`);
      w = bw;
    }
    if (e.weight !== undefined) {
      // Weights are stored as float32: 1e39 would become Infinity, 1e-50 zero.
      const f = typeof e.weight === 'number' ? Math.fround(e.weight) : NaN;
      if (!(f > 0 && f <= MAX_F32)) {
        throw new DataError({ ...where, column: 'weight' }, `weight must be positive and stay finite in float32 (at most ${MAX_F32}, at least ${MIN_F32}; got ${String(e.weight)})`);
      }
      w = e.weight as number;
    }
    return { d, i, w };
  });
  const known = s.data.vocab.users.get(userId);
  const before = known >= 0 ? s.overlay.get(known) : undefined;
  const sums = new Map<string, number>();
  parsed.forEach(({ d, i, w }, n) => {
    const key = `${d}:${i}`;
    const sum = (sums.get(key) ?? trainingValue(s.data, known, d, i) + (before?.get(d)?.get(i) ?? 0)) + w;
    if (!(Math.fround(sum) <= MAX_F32)) {
      throw new DataError({ file: '<foldIn>', line: n + 1, column: 'weight' }, `the sum of the weights of item ${JSON.stringify(events[n].item)} for this user must stay finite in float32 (at most ${MAX_F32}; it would be ${sum})`);
    }
    sums.set(key, sum);
  });
  return parsed;
}

/** The training value of user u (-1: none) for item i of domain d; 0 when there is no such row. */
function trainingValue(data: ModelData, u: number, d: number, i: number): number {
  const m = data.matrices[d];
  if (u < 0 || u >= m.nRows) return 0;
  for (let t = m.indptr[u]; t < m.indptr[u + 1]; t++) if (m.indices[t] === i) return m.data[t];
  return 0;
}
