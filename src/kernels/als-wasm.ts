/**
 * Binding of the ALS kernels (`assembly/als.ts`: `alsGram`, `alsSolve`) on an instance of their
 * own, so ALS inputs and the kNN/scoring kernels' resident inputs never evict each other. Memory
 * is laid out as [resident inputs | per-call scratch]: the inputs of the last call stay resident
 * under the keys the caller gives (stable ids of shared arrays in the pool's workers, per-step
 * tokens in this thread: factors change every half-step, so identity is no key), and each call
 * allocates its scratch after them and releases it on return.
 */
import { KernelError } from '../errors.js';
import { paddedDim, padRows, unpadRows, type AlsInputs } from './als-reference.js';
import { allocOrThrow, instantiateKernels, type KernelExports } from './wasm.js';

/** The raw ALS exports (see `assembly/als.ts`). */
interface AlsExports extends KernelExports {
  alsGram(y: number, n: number, dp: number, d: number, reg: number, g: number, rows: number): void;
  alsSolve(
    x: number, y: number, g: number, indptr: number, indices: number, data: number, dp: number,
    start: number, end: number, alpha: number, steps: number, w: number, has: number, values: number, scratch: number,
  ): void;
}

/** Keys the resident copies of an `AlsInputs` are found under (one per array). */
export interface AlsKeys {
  y: unknown;
  gram: unknown;
  indptr: unknown;
  indices: unknown;
  data: unknown;
  has?: unknown;
  values?: unknown;
}

/** An input to place: its key and how to copy it in (`pad`: a factor matrix to pad to dp). */
interface Placement {
  key: unknown;
  array: Float32Array | Uint32Array | Uint8Array;
  pad?: number;
}

/** The ALS kernels over one wasm instance. Not shared between threads: each worker makes its own. */
export class AlsWasm {
  readonly backend = 'wasm' as const;
  private readonly raw: AlsExports;
  private keys: unknown[] = [];
  private ptrs: number[] = [];
  private top = 0;

  /** @throws {KernelError} when the module cannot be instantiated. */
  constructor(module?: WebAssembly.Module) {
    this.raw = instantiateKernels(module) as AlsExports;
    if (typeof this.raw.alsSolve !== 'function') throw new KernelError('the kernel module has no ALS kernels: run `npm run build:wasm`');
  }

  /** Place the inputs (reusing them when every key is resident) and release older scratch. */
  private place(items: Placement[]): number[] {
    const x = this.raw;
    if (items.length === this.keys.length && items.every((it, i) => it.key === this.keys[i])) {
      x.release(this.top);
      return this.ptrs;
    }
    x.reset();
    const ptrs = items.map((it) => {
      const rows = it.pad ? it.array.length / it.pad : 0;
      const bytes = it.pad ? rows * paddedDim(it.pad) * 4 : it.array.byteLength;
      return { p: allocOrThrow(x, bytes), it, rows };
    });
    for (const { p, it, rows } of ptrs) {
      if (it.pad) padRows(it.array as Float32Array, it.pad, paddedDim(it.pad), 0, rows, new Float32Array(x.memory.buffer, p, rows * paddedDim(it.pad)));
      else new Uint8Array(x.memory.buffer, p, it.array.byteLength).set(new Uint8Array(it.array.buffer, it.array.byteOffset, it.array.byteLength));
    }
    this.keys = items.map((it) => it.key);
    this.ptrs = ptrs.map((q) => q.p);
    this.top = x.mark();
    return this.ptrs;
  }

  /**
   * Y^T Y + reg I of `n x d` factors `y` (all-zero rows skipped), padded to `dp x dp`.
   * `key` names the contents of `y` (kept resident for a following `solve`).
   */
  gram(y: Float32Array, d: number, reg: number, key: unknown): Float32Array {
    const x = this.raw;
    const dp = paddedDim(d);
    const n = d === 0 ? 0 : y.length / d;
    const [py] = this.place([{ key, array: y, pad: d }]);
    const g = allocOrThrow(x, dp * dp * 4);
    const rows = allocOrThrow(x, 64 * 4);
    x.alsGram(py, n, dp, d, reg, g, rows);
    const out = new Float32Array(x.memory.buffer, g, dp * dp).slice();
    x.release(this.top);
    return out;
  }

  /**
   * Solve rows [start, end) of `x` (`nRows x d`, updated in place; may be a shared array) against
   * `inp`; the resident copies of the inputs are found under `keys`.
   * @throws {KernelError} when the row range is outside the matrix.
   */
  solve(inp: AlsInputs, keys: AlsKeys, x: Float32Array, start: number, end: number): void {
    const nRows = inp.indptr.length - 1;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > nRows) {
      throw new KernelError(`alsSolve: row range [${start}, ${end}) is not inside [0, ${nRows})`);
    }
    const { d, prior } = inp;
    const dp = paddedDim(d);
    const items: Placement[] = [
      { key: keys.y, array: inp.y, pad: d },
      { key: keys.gram, array: inp.gram },
      { key: keys.indptr, array: inp.indptr },
      { key: keys.indices, array: inp.indices },
      { key: keys.data, array: inp.data },
    ];
    if (prior) items.push({ key: keys.has, array: prior.has }, { key: keys.values, array: prior.values, pad: d });
    const p = this.place(items);
    const wx = this.raw;
    const rows = end - start;
    const px = allocOrThrow(wx, rows * dp * 4);
    const scratch = allocOrThrow(wx, 16 * dp * 4 + 48);
    const view = () => new Float32Array(wx.memory.buffer, px, rows * dp);
    padRows(x, d, dp, start, end, view());
    wx.alsSolve(px, p[0], p[1], p[2], p[3], p[4], dp, start, end, inp.alpha, inp.cgSteps, prior ? prior.weight : 0, prior ? p[5] : 0, prior ? p[6] : 0, scratch);
    unpadRows(view(), d, dp, x, start, rows);
    wx.release(this.top);
  }
}
