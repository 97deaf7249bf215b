/**
 * Binding to `build/kernels.wasm` (AssemblyScript, SIMD). The module owns one linear memory laid
 * out as [resident inputs | per-call scratch]: the input arrays of recent jobs stay resident
 * (keyed by identity, or by a dataset id in the pool's workers, within a budget) so repeated calls
 * over the same matrices copy nothing; each call allocates its scratch once after them with the bump allocator
 * and releases it on return. Views are taken only after every allocation of a call (growing memory
 * detaches older views).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { KernelError } from '../errors.js';
import type { CosineJob, DenseScoreJob, Kernels, SparseRows, SparseScoreJob, TopK, TopKRows } from './types.js';
import { isForOneCall } from './per-call.js';

/** Raw exports of the kernel module (see `assembly/index.ts`). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  reset(): void;
  used(): number;
  mark(): number;
  release(to: number): void;
  topk(scores: number, n: number, k: number, outIdx: number, outScore: number, scratch: number): number;
  topkScratchBytes(k: number): number;
  cosineTopK(
    lIndptr: number, lIndices: number, lData: number,
    rIndptr: number, rIndices: number, rData: number, nCols: number,
    normL: number, normR: number, colIds: number,
    start: number, end: number, k: number, shrink: number, positive: number,
    acc: number, touched: number, flags: number, heap: number,
    outCounts: number, outIdx: number, outScore: number,
  ): void;
  scoreSparse(
    xIndptr: number, xIndices: number, xData: number,
    sIndptr: number, sIndices: number, sData: number, nTarget: number,
    users: number, nUsers: number,
    seenIndptr: number, seenIndices: number, allowed: number, n: number,
    acc: number, flags: number, touched: number, heap: number,
    outCounts: number, outIdx: number, outScore: number, unordered: number,
  ): void;
  scoreDense(
    uVec: number, users: number, nUsers: number, items: number, nItems: number, dim: number,
    seenIndptr: number, seenIndices: number, mask: number, n: number,
    scores: number, top: number, work: number, qItems: number, qStats: number,
    outCounts: number, outIdx: number, outScore: number, unordered: number,
  ): void;
  scoreDenseWorkBytes(nItems: number, dim: number, n: number): number;
  quantItems(items: number, nItems: number, dim: number, qItems: number, stats: number): number;
  quantItemsBytes(nItems: number, dim: number): number;
  denseLayer(x: number, nIn: number, w: number, b: number, nOut: number, out: number, skipZero: number): void;
}

/** Path of the compiled kernel module (next to `dist/` and `src/` alike). */
export const KERNELS_WASM_PATH = fileURLToPath(new URL('../../build/kernels.wasm', import.meta.url));

let compiled: WebAssembly.Module | undefined;

/** Compile the kernel module once per thread. @throws {KernelError} if it is missing or invalid. */
export function kernelModule(): WebAssembly.Module {
  if (compiled) return compiled;
  let bytes: Buffer;
  try {
    bytes = readFileSync(KERNELS_WASM_PATH);
  } catch (e) {
    throw new KernelError(`cannot read ${KERNELS_WASM_PATH}: run \`npm run build:wasm\``, { cause: e });
  }
  try {
    // Compile straight to optimised code. The kernels run as a few long calls, and V8 has no
    // on-stack replacement for wasm: a call that starts in the baseline tier (Liftoff) stays there,
    // about 2.5x slower here. The flag is read at compile time only, so it is restored at once
    // (other wasm modules in the process keep their usual tiering). Flags given on the command
    // line are left alone.
    const own = !process.execArgv.some((a) => /liftoff|lazy-compilation/.test(a));
    if (own) setFlagsFromString('--no-liftoff --no-wasm-lazy-compilation');
    try {
      compiled = new WebAssembly.Module(new Uint8Array(bytes));
    } finally {
      if (own) setFlagsFromString('--liftoff --wasm-lazy-compilation');
    }
  } catch (e) {
    throw new KernelError(`cannot compile ${KERNELS_WASM_PATH} (WebAssembly SIMD required): ${(e as Error).message}`, {
      cause: e,
    });
  }
  return compiled;
}

/** A fresh instance of the kernel module (compiled here, or the given module) with its own memory. */
export function instantiateKernels(module: WebAssembly.Module = kernelModule()): KernelExports {
  return new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
}

/** Allocate `bytes` in the module. @throws {KernelError} when memory cannot grow. */
export function allocOrThrow(x: KernelExports, bytes: number): number {
  const p = x.alloc(bytes);
  if (p === 0 && bytes > 0) throw new KernelError(`wasm kernel memory cannot grow by ${bytes} bytes`);
  return p;
}

type Typed = Uint32Array | Float32Array | Uint8Array | Int16Array | Float64Array;

/** Resident inputs may always grow to this many bytes before older ones are dropped. */
const RESIDENT_FLOOR = 64 * 1024 * 1024;
/** Inputs smaller than this are copied into each call's scratch instead of staying resident. */
const SCRATCH_INPUT = 256 * 1024;

/** An input array to place in wasm memory. `values`: a data array that is skipped when all ones. */
interface Placement {
  key: unknown;
  array: Typed;
  values?: boolean;
}

/** A resident input: where it is, and (for value arrays) whether every value is 1 / positive. */
interface Resident {
  key: unknown;
  /** Placed as a value array (then `ptr` is 0 when every value is 1). */
  values: boolean;
  ptr: number;
  ones: boolean;
  positive: boolean;
}

/** An item matrix rounded to 16-bit integers for dense scoring (see assembly/dense-quant.ts). */
interface RoundedItems {
  items: Int16Array;
  /** Scale, max |v - v~|, max |v~|, max |v|. */
  stats: Float64Array;
}

/** Rounded item matrices kept per instance under string ids (the oldest is dropped first). */
const ROUNDED_KEPT = 4;

/** Maps an input array to the key its resident copy is found under (identity by default). */
export type KeyOf = (array: Typed) => unknown;
const identity: KeyOf = (a) => a;

function scanValues(a: Float32Array): { ones: boolean; positive: boolean } {
  let ones = true;
  let positive = true;
  for (let e = 0; e < a.length; e++) {
    const v = a[e];
    if (v !== 1) ones = false;
    if (!(v > 0 && v < Infinity)) {
      positive = false;
      break;
    }
  }
  return { ones: ones && positive, positive };
}

function checkRange(what: string, start: number, end: number, n: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > n) {
    throw new KernelError(`${what}: row range [${start}, ${end}) is not inside [0, ${n})`);
  }
}

/** The wasm backend over one instance. Not shared between threads: each worker makes its own. */
export class WasmKernels implements Kernels {
  readonly backend = 'wasm' as const;
  /** The raw exports, for kernels that manage their own buffers. */
  readonly raw: KernelExports;
  private resident: Resident[] = [];
  /**
   * Rounded item matrices by the key of their f32 matrix (null: it cannot be rounded): weakly
   * under an array key (this thread), a few under a dataset id (the pool's workers).
   */
  private roundedByArray = new WeakMap<object, RoundedItems | null>();
  private roundedById = new Map<unknown, RoundedItems | null>();
  private residentBytes = 0;
  private residentTop = 0;

  /**
   * Results of the scoring kernels as views on this instance's memory instead of copies: they stay
   * valid until the next call on this instance. For callers that own the instance and read each
   * result before the next call (the fused model's per-component instances).
   */
  readonly viewOutputs: boolean;
  /** Dense scoring may take the 16-bit path (same lists; false: f32 only, for comparisons). */
  readonly integerDense: boolean;

  constructor(raw: KernelExports = instantiateKernels(), options: { viewOutputs?: boolean; integerDense?: boolean } = {}) {
    this.raw = raw;
    this.viewOutputs = options.viewOutputs ?? false;
    this.integerDense = options.integerDense ?? true;
  }

  /** Drop the resident inputs (call after mutating an array that was passed to a kernel). */
  forget(): void {
    this.resident = [];
    this.roundedByArray = new WeakMap();
    this.roundedById.clear();
    this.residentBytes = 0;
    this.raw.reset();
    this.residentTop = this.raw.mark();
  }

  /**
   * Make `items` resident and release the scratch of the previous call. Items already resident are
   * reused; missing ones are appended after the resident inputs while those stay within a budget
   * (`RESIDENT_FLOOR`, or twice this call's inputs), so jobs that alternate between two sets of
   * matrices (a bridge's user search and its scoring, the components of a fused model) copy
   * nothing after their first calls. Past the budget the resident inputs are dropped and only this
   * call's are placed. Inputs under `SCRATCH_INPUT` bytes (a request's own rows, say) and arrays
   * marked `forOneCall` are copied into the call's scratch each time, so per-call arrays never pile
   * up as resident.
   */
  private place(items: Placement[]): Resident[] {
    const x = this.raw;
    // A value array of ones is resident without its values: it cannot serve a plain request.
    const same = (r: Resident, it: Placement) => r.key === it.key && r.values === (it.values ?? false);
    x.release(this.residentTop);
    const small = (it: Placement) => it.array.byteLength < SCRATCH_INPUT || isForOneCall(it.array);
    let found = items.map((it) => (small(it) ? undefined : this.resident.find((r) => same(r, it))));
    let request = 0;
    let missing = 0;
    items.forEach((it, q) => {
      request += it.array.byteLength;
      if (!found[q] && !small(it)) missing += it.array.byteLength;
    });
    if (missing > 0 && this.residentBytes + missing > Math.max(RESIDENT_FLOOR, 2 * request)) {
      this.resident = [];
      this.residentBytes = 0;
      x.reset();
      found = items.map(() => undefined);
    }
    // Large inputs first (they stay), then this call's small ones in the scratch above them.
    const placed: Resident[] = new Array(items.length);
    for (const pass of [false, true]) {
      items.forEach((it, q) => {
        if (small(it) !== pass) return;
        const have = found[q] ?? (pass ? undefined : this.resident.find((r) => same(r, it)));
        placed[q] = have ?? this.copyIn(it, pass);
        if (!pass && !have) this.resident.push(placed[q]);
      });
      if (!pass) this.residentTop = x.mark();
    }
    return placed;
  }

  /** Copy one input into wasm memory (scanning a value array for all-ones / all-positive). */
  private copyIn(it: Placement, scratch: boolean): Resident {
    let ones = false;
    let positive = false;
    if (it.values) ({ ones, positive } = scanValues(it.array as Float32Array));
    let ptr = 0;
    if (!ones) {
      ptr = scratch ? this.scratchCopy(it.array) : allocOrThrow(this.raw, it.array.byteLength);
      if (!scratch) {
        new Uint8Array(this.raw.memory.buffer, ptr, it.array.byteLength).set(new Uint8Array(it.array.buffer, it.array.byteOffset, it.array.byteLength));
        this.residentBytes += it.array.byteLength;
      }
    }
    return { key: it.key, values: it.values ?? false, ptr, ones, positive };
  }

  /** Copy a per-call array into scratch. */
  private scratchCopy(a: Typed): number {
    const p = allocOrThrow(this.raw, a.byteLength);
    new Uint8Array(this.raw.memory.buffer, p, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return p;
  }

  /** Copy the output slots out of wasm memory (or view them, see `viewOutputs`) and release the scratch. */
  private takeRows(rows: number, k: number, pc: number, pi: number, ps: number): TopKRows {
    const buf = this.raw.memory.buffer;
    const counts = new Uint32Array(buf, pc, rows);
    const indices = new Uint32Array(buf, pi, rows * k);
    const scores = new Float32Array(buf, ps, rows * k);
    const out: TopKRows = this.viewOutputs ? { k, counts, indices, scores } : { k, counts: counts.slice(), indices: indices.slice(), scores: scores.slice() };
    // Slots past each row's count hold stale scratch: clear them so the output is canonical.
    for (let r = 0; r < rows; r++) {
      for (let t = r * k + out.counts[r]; t < (r + 1) * k; t++) {
        out.indices[t] = 0;
        out.scores[t] = 0;
      }
    }
    this.raw.release(this.residentTop);
    return out;
  }

  topk(scores: Float32Array, k: number): TopK {
    const x = this.raw;
    const n = scores.length;
    const kk = Math.max(0, Math.min(k, n));
    this.place([]);
    const ps = this.scratchCopy(scores);
    const pi = allocOrThrow(x, kk * 4);
    const po = allocOrThrow(x, kk * 4);
    const top = allocOrThrow(x, x.topkScratchBytes(kk));
    const m = x.topk(ps, n, kk, pi, po, top);
    const indices = new Uint32Array(x.memory.buffer, pi, m).slice();
    const out = new Float32Array(x.memory.buffer, po, m).slice();
    x.release(this.residentTop);
    return { indices, scores: out };
  }

  cosineTopK(job: CosineJob, start: number, end: number, keyOf: KeyOf = identity): TopKRows {
    const { left, right, normsLeft, normsRight, k } = job;
    checkRange('cosineTopK', start, end, left.nRows);
    const x = this.raw;
    const ids = job.rightColumnIds;
    const [lp, li, ld, rp, ri, rd, nl, nr, ci] = this.place([
      { key: keyOf(left.indptr), array: left.indptr },
      { key: keyOf(left.indices), array: left.indices },
      { key: keyOf(left.data), array: left.data, values: true },
      { key: keyOf(right.indptr), array: right.indptr },
      { key: keyOf(right.indices), array: right.indices },
      { key: keyOf(right.data), array: right.data, values: true },
      { key: keyOf(normsLeft), array: normsLeft },
      { key: keyOf(normsRight), array: normsRight },
      ...(ids ? [{ key: keyOf(ids), array: ids }] : []),
    ]);
    const nCols = right.nCols;
    const rows = end - start;
    const acc = allocOrThrow(x, nCols * 4);
    const touched = allocOrThrow(x, (nCols + 1) * 4);
    const flags = allocOrThrow(x, nCols);
    const heap = allocOrThrow(x, (k + 1) * 8);
    const pc = allocOrThrow(x, rows * 4);
    const pi = allocOrThrow(x, rows * k * 4);
    const ps = allocOrThrow(x, rows * k * 4);
    const positive = ld.positive && rd.positive ? 1 : 0;
    x.cosineTopK(
      lp.ptr, li.ptr, ld.ptr, rp.ptr, ri.ptr, rd.ptr, nCols, nl.ptr, nr.ptr, ci ? ci.ptr : 0,
      start, end, k, job.shrink, positive, acc, touched, flags, heap, pc, pi, ps,
    );
    return this.takeRows(rows, k, pc, pi, ps);
  }

  scoreSparse(job: SparseScoreJob, users: Uint32Array, keyOf: KeyOf = identity): TopKRows {
    const { userRows: xm, sim, seen, allowed, n } = job;
    const x = this.raw;
    const items: Placement[] = [
      { key: keyOf(xm.indptr), array: xm.indptr },
      { key: keyOf(xm.indices), array: xm.indices },
      { key: keyOf(xm.data), array: xm.data, values: true },
      { key: keyOf(sim.indptr), array: sim.indptr },
      { key: keyOf(sim.indices), array: sim.indices },
      { key: keyOf(sim.data), array: sim.data },
    ];
    if (seen) items.push({ key: keyOf(seen.indptr), array: seen.indptr }, { key: keyOf(seen.indices), array: seen.indices });
    const r = this.place(items);
    const nTarget = sim.nCols;
    const pu = this.scratchCopy(users);
    const pa = allowed ? this.scratchCopy(allowed) : 0;
    const acc = allocOrThrow(x, nTarget * 4);
    const flags = allocOrThrow(x, nTarget);
    const touched = allocOrThrow(x, (nTarget + 1) * 4);
    const heap = allocOrThrow(x, (n + 1) * 8);
    const rows = users.length;
    const pc = allocOrThrow(x, rows * 4);
    const pi = allocOrThrow(x, rows * n * 4);
    const ps = allocOrThrow(x, rows * n * 4);
    x.scoreSparse(
      r[0].ptr, r[1].ptr, r[2].ptr, r[3].ptr, r[4].ptr, r[5].ptr, nTarget, pu, rows,
      seen ? r[6].ptr : 0, seen ? r[7].ptr : 0, pa, n, acc, flags, touched, heap, pc, pi, ps, job.unordered ? 1 : 0,
    );
    return this.takeRows(rows, n, pc, pi, ps);
  }

  /**
   * The item matrix under `key` rounded to 16-bit integers (made once, then resident like an
   * input); null when it cannot be (all zero, non-finite, huge values).
   */
  private roundedItems(items: Float32Array, dim: number, key: unknown): RoundedItems | null {
    const weak = typeof key === 'object' && key !== null;
    const hit = weak ? this.roundedByArray.get(key) : this.roundedById.get(key);
    if (hit !== undefined) return hit;
    const x = this.raw;
    const nItems = items.length / dim;
    const [r] = this.place([{ key, array: items }]);
    const bytes = x.quantItemsBytes(nItems, dim);
    const q = allocOrThrow(x, bytes);
    const st = allocOrThrow(x, 32);
    const ok = x.quantItems(r.ptr, nItems, dim, q, st) !== 0;
    const buf = x.memory.buffer;
    const out = ok ? { items: new Int16Array(buf, q, bytes / 2).slice(), stats: new Float64Array(buf, st, 4).slice() } : null;
    x.release(this.residentTop);
    if (weak) this.roundedByArray.set(key, out);
    else {
      if (this.roundedById.size >= ROUNDED_KEPT) this.roundedById.delete(this.roundedById.keys().next().value);
      this.roundedById.set(key, out);
    }
    return out;
  }

  scoreDense(job: DenseScoreJob, users: Uint32Array, userVectors: Float32Array, keyOf: KeyOf = identity): TopKRows {
    const { items, dim, seen, allowed, n } = job;
    const x = this.raw;
    const nItems = dim === 0 ? 0 : items.length / dim;
    // The 16-bit path (same results, fewer instructions) where the catalogue is long against n.
    const rounded = this.integerDense && n > 0 && nItems >= 4 * n ? this.roundedItems(items, dim, keyOf(items)) : null;
    const placements: Placement[] = [{ key: keyOf(items), array: items }];
    if (seen) placements.push({ key: keyOf(seen.indptr), array: seen.indptr }, { key: keyOf(seen.indices), array: seen.indices });
    if (rounded) placements.push({ key: rounded.items, array: rounded.items });
    const r = this.place(placements);
    const pu = this.scratchCopy(users);
    const pv = this.scratchCopy(userVectors);
    let pm = 0;
    if (allowed) {
      const mask = new Uint32Array(nItems);
      for (let i = 0; i < nItems; i++) mask[i] = allowed[i] ? 0 : 0xffffffff;
      pm = this.scratchCopy(mask);
    }
    const pq = rounded ? r[r.length - 1].ptr : 0;
    const pst = rounded ? this.scratchCopy(rounded.stats) : 0;
    const rows = users.length;
    const sc = allocOrThrow(x, 4 * ((nItems + 3) & ~3) * 4);
    const top = allocOrThrow(x, x.topkScratchBytes(n));
    const work = allocOrThrow(x, x.scoreDenseWorkBytes(nItems, dim, n));
    const pc = allocOrThrow(x, rows * 4);
    const pi = allocOrThrow(x, rows * n * 4);
    const ps = allocOrThrow(x, rows * n * 4);
    x.scoreDense(pv, pu, rows, r[0].ptr, nItems, dim, seen ? r[1].ptr : 0, seen ? r[2].ptr : 0, pm, n, sc, top, work, pq, pst, pc, pi, ps, job.unordered ? 1 : 0);
    return this.takeRows(rows, n, pc, pi, ps);
  }
}

/** Is `m` a plausible sparse matrix (lengths agree)? Used by the validators of the pool API. */
export function sparseShapeOk(m: SparseRows): boolean {
  return m.indptr.length === m.nRows + 1 && m.indices.length >= m.indptr[m.nRows] && m.data.length >= m.indptr[m.nRows];
}
