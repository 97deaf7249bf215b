/**
 * Dense layers of the small networks (EMCDR's maps, the item encoder) through the wasm kernel
 * `denseLayer` (assembly/mlp.ts): the same f32 outputs as the TypeScript loops of models/nn.ts,
 * bit for bit, about three times faster (a map runs once per cold user at query time).
 *
 * Weights and biases are copied into the kernel's memory once per array and kept there, found by
 * identity: they must not change afterwards (the networks' weights never do: training returns
 * fresh copies, and a loaded model's are read-only). The kept arrays are dropped together when
 * they pass `KEPT_BYTES`. One instance per thread; nothing here is shared between threads.
 */
import { allocOrThrow, instantiateKernels, type KernelExports } from './wasm.js';

/** Bytes of weights kept in the kernel's memory before they are all dropped and copied again on use. */
const KEPT_BYTES = 16 << 20;

/** `denseLayer` over one kernel instance. */
export class DenseLayerKernel {
  private readonly x: KernelExports;
  private kept = new WeakMap<Float32Array, number>();
  private keptBytes = 0;
  /** End of the kept arrays: each call's scratch starts here. */
  private top: number;

  constructor(raw: KernelExports = instantiateKernels()) {
    this.x = raw;
    this.top = raw.mark();
  }

  /** Pointers of `arrays` in the kernel's memory, copying the ones not kept yet. */
  private place(arrays: readonly Float32Array[]): number[] {
    const x = this.x;
    const missing = arrays.filter((a) => !this.kept.has(a));
    if (missing.length > 0) {
      const bytes = missing.reduce((s, a) => s + a.byteLength, 0);
      if (this.keptBytes + bytes > KEPT_BYTES) {
        x.reset();
        this.kept = new WeakMap();
        this.keptBytes = 0;
        missing.splice(0, missing.length, ...arrays);
      } else x.release(this.top);
      for (const a of missing) {
        if (this.kept.has(a)) continue;
        const p = allocOrThrow(x, Math.max(a.byteLength, 4));
        new Float32Array(x.memory.buffer, p, a.length).set(a);
        this.kept.set(a, p);
        this.keptBytes += a.byteLength;
      }
      this.top = x.mark();
    }
    return arrays.map((a) => this.kept.get(a)!);
  }

  /**
   * `out[j] = b[j] + sum_i x[i] w[i * nOut + j]` as models/nn.ts computes it (no activation; inputs
   * that are 0 skipped when `skipZero`), into `out` (length nOut).
   */
  layer(w: Float32Array, b: Float32Array, nIn: number, nOut: number, xIn: Float32Array, out: Float32Array, skipZero: boolean): Float32Array {
    const [pw, pb] = this.place([w, b]);
    const x = this.x;
    x.release(this.top);
    const px = allocOrThrow(x, Math.max(nIn, 1) * 4);
    const po = allocOrThrow(x, Math.max(nOut, 1) * 4);
    const mem = x.memory.buffer;
    new Float32Array(mem, px, nIn).set(xIn.subarray(0, nIn));
    x.denseLayer(px, nIn, pw, pb, nOut, po, skipZero ? 1 : 0);
    out.set(new Float32Array(mem, po, nOut));
    x.release(this.top);
    return out;
  }
}
