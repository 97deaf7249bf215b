/**
 * Binding to `build/kernels.wasm` (AssemblyScript, SIMD). The module owns one linear memory; each
 * call allocates its buffers with the module's bump allocator and resets it afterwards, so views
 * are taken only after every allocation of the call (growing memory detaches older views).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KernelError } from '../errors.js';
import type { Kernels, TopK } from './types.js';

/** Raw exports of the kernel module (see `assembly/index.ts`). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  reset(): void;
  used(): number;
  topk(scores: number, n: number, k: number, outIdx: number, outScore: number): number;
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
    compiled = new WebAssembly.Module(bytes);
  } catch (e) {
    throw new KernelError(`cannot compile ${KERNELS_WASM_PATH} (WebAssembly SIMD required): ${(e as Error).message}`, {
      cause: e,
    });
  }
  return compiled;
}

/** A fresh instance of the kernel module with its own memory. */
export function instantiateKernels(): KernelExports {
  return new WebAssembly.Instance(kernelModule(), {}).exports as unknown as KernelExports;
}

/** Allocate `bytes` in the module. @throws {KernelError} when memory cannot grow. */
export function allocOrThrow(x: KernelExports, bytes: number): number {
  const p = x.alloc(bytes);
  if (p === 0 && bytes > 0) throw new KernelError(`wasm kernel memory cannot grow by ${bytes} bytes`);
  return p;
}

/** The wasm backend over one instance. Not shared between threads: each worker makes its own. */
export class WasmKernels implements Kernels {
  readonly backend = 'wasm' as const;
  /** The raw exports, for kernels that manage their own buffers. */
  readonly raw: KernelExports;

  constructor(raw: KernelExports = instantiateKernels()) {
    this.raw = raw;
  }

  topk(scores: Float32Array, k: number): TopK {
    const x = this.raw;
    const n = scores.length;
    const kk = Math.max(0, Math.min(k, n));
    x.reset();
    const ps = allocOrThrow(x, n * 4);
    const pi = allocOrThrow(x, kk * 4);
    const po = allocOrThrow(x, kk * 4);
    new Float32Array(x.memory.buffer, ps, n).set(scores);
    const m = x.topk(ps, n, kk, pi, po);
    const indices = new Uint32Array(x.memory.buffer, pi, m).slice();
    const out = new Float32Array(x.memory.buffer, po, m).slice();
    x.reset();
    return { indices, scores: out };
  }
}
