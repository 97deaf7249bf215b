/** Behaviour weights and time decay. */
import { OptionRangeError, OptionTypeError } from '../errors.js';

/**
 * Default weight of each behaviour type: a view counts once, a favourite twice, a cart add three
 * times, a purchase four times. Names are matched case-insensitively. Pass `behaviorWeights` to
 * change or extend them; an unknown behaviour is an error, never a silent default.
 */
export const DEFAULT_BEHAVIOR_WEIGHTS: Readonly<Record<string, number>> = Object.freeze({
  pv: 1,
  view: 1,
  click: 1,
  fav: 2,
  like: 2,
  collect: 2,
  cart: 3,
  buy: 4,
  purchase: 4,
  order: 4,
});

/**
 * Merge user weights over the defaults, validating each. Names are keys of a `Map`, never of a
 * plain object, so behaviours called `constructor`, `__proto__` or `toString` are ordinary names.
 * @param custom name -> weight, as an object (own enumerable keys only) or a `Map`.
 * @throws {OptionTypeError|OptionRangeError} when a weight is not a positive finite number that a
 *   float32 can hold (weights are stored as float32).
 */
export function resolveBehaviorWeights(custom?: Readonly<Record<string, number>> | ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(DEFAULT_BEHAVIOR_WEIGHTS)) out.set(k, v);
  if (custom !== undefined) {
    if (typeof custom !== 'object' || custom === null) {
      throw new OptionTypeError('behaviorWeights', `options.behaviorWeights must be an object of name -> weight (got ${typeof custom})`);
    }
    const entries: Iterable<[string, unknown]> = custom instanceof Map ? custom.entries() : Object.entries(custom);
    for (const [k, v] of entries) {
      if (typeof k !== 'string') throw new OptionTypeError('behaviorWeights', `options.behaviorWeights keys must be strings (got ${typeof k})`);
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        throw new OptionRangeError(`behaviorWeights.${k}`, `options.behaviorWeights.${k} must be a positive finite number (got ${String(v)})`);
      }
      if (!Number.isFinite(Math.fround(v)) || Math.fround(v) === 0) {
        throw new OptionRangeError(`behaviorWeights.${k}`, `options.behaviorWeights.${k} must fit a float32, between 1.4e-45 and 3.4e38 (got ${String(v)}); rescale the weights`);
      }
      out.set(k.toLowerCase(), v);
    }
  }
  return out;
}

/** Decay factor 2^(-age / halfLife) for an event `ageSeconds` old (ages below 0 count as 0). */
export function decayFactor(ageSeconds: number, halfLifeDays: number): number {
  const age = ageSeconds > 0 ? ageSeconds : 0;
  return Math.pow(2, -age / (halfLifeDays * 86400));
}
