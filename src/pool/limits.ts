/** Limits of the pool: worker threads per core, and the widest top-k / top-n a call may ask for. */
import { availableParallelism } from 'node:os';
import { OptionRangeError } from '../errors.js';

/** Worker threads allowed per available core (`os.availableParallelism()`). */
export const THREADS_PER_CORE = 4;

/** The most worker threads a pool may have: {@link THREADS_PER_CORE} x the available cores. */
export function maxThreads(): number {
  return THREADS_PER_CORE * availableParallelism();
}

/**
 * The largest `k` / `n` (slots per row) the kNN and scoring functions accept: 2^24. Below it a `k`
 * beyond the number of columns is taken as that number (every column); above it the call is
 * refused, as slot tables of that width cannot be allocated in wasm memory.
 */
export const MAX_TOP_K = 2 ** 24;

/**
 * Check a thread count against {@link maxThreads}.
 * @throws {OptionRangeError} unless it is an integer in [min, maxThreads()].
 */
export function checkThreads(threads: unknown, min = 1, option = 'threads'): number {
  const max = maxThreads();
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < min) {
    throw new OptionRangeError(option, `options.${option} must be ${min === 0 ? 'an integer >= 0' : 'a positive integer'} (got ${String(threads)})`);
  }
  if (threads > max) throw new OptionRangeError(option, `options.${option} must be at most ${max} (${THREADS_PER_CORE} x the ${availableParallelism()} available cores; got ${threads})`);
  return threads;
}

/**
 * A slot count (`k` or `n`) of a kNN or scoring call: refused above {@link MAX_TOP_K}, and taken
 * as `columns` (every column, at least 1) when it is larger.
 * @throws {OptionRangeError}
 */
export function slotCount(name: string, v: number, columns: number): number {
  if (!Number.isInteger(v) || v < 1) throw new OptionRangeError(name, `options.${name} must be a positive integer (got ${v})`);
  if (v > MAX_TOP_K) throw new OptionRangeError(name, `options.${name} must be at most ${MAX_TOP_K} (got ${v})`);
  return Math.max(1, Math.min(v, columns));
}
