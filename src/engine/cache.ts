/**
 * Results shared between fits on the same data, owned by whoever fits: the fused model hands one
 * to its components (EMCDR and PTUPCDR train the same ALS factors once), and `evaluate` hands one
 * to every model of a run. Nothing is cached at module level.
 */
import type { Csr } from '../kernels/types.js';

/** A per-caller memo of computations keyed by an input matrix and a settings key. */
export class FitCache {
  private readonly byMatrix = new WeakMap<Csr, Map<string, Promise<unknown>>>();

  /**
   * The result of `compute()` for (matrix, key), computed once; a computation that fails is not
   * kept, so the next call tries again. Results must not be mutated by callers.
   */
  memo<T>(m: Csr, key: string, compute: () => Promise<T>): Promise<T> {
    let byKey = this.byMatrix.get(m);
    if (!byKey) this.byMatrix.set(m, (byKey = new Map()));
    const hit = byKey.get(key) as Promise<T> | undefined;
    if (hit) return hit;
    const p = Promise.resolve().then(compute);
    byKey.set(key, p);
    p.catch(() => byKey!.delete(key));
    return p;
  }
}
