/** Backend choice: wasm SIMD when it loads, the pure-TS reference otherwise (reported once, with why). */
import { referenceKernels } from './reference.js';
import type { BackendName, Kernels } from './types.js';
import { WasmKernels } from './wasm.js';

let cachedWasm: WasmKernels | undefined;
let fallbackReported = false;

/**
 * The kernels of the requested backend. `'auto'` (the default) picks wasm and falls back to the
 * reference, writing one line on stderr the first time it does.
 * @throws {KernelError} when `'wasm'` is requested explicitly and cannot be loaded.
 */
export function getKernels(backend: BackendName | 'auto' = 'auto'): Kernels {
  if (backend === 'js') return referenceKernels;
  try {
    cachedWasm ??= new WasmKernels();
    return cachedWasm;
  } catch (e) {
    if (backend === 'wasm') throw e;
    if (!fallbackReported) {
      fallbackReported = true;
      process.stderr.write(`migrec: wasm kernels unavailable, using the TypeScript reference (${(e as Error).message})\n`);
    }
    return referenceKernels;
  }
}

export type {
  BackendName,
  CosineJob,
  Csr,
  DenseScoreJob,
  Kernels,
  Neighbours,
  SparseRows,
  SparseScoreJob,
  TopK,
  TopKRows,
} from './types.js';
export {
  referenceKernels,
  topkReference,
  cosineTopKReference,
  scoreSparseReference,
  scoreDenseReference,
  dotF32x4Order,
} from './reference.js';
export { WasmKernels, instantiateKernels, kernelModule, KERNELS_WASM_PATH } from './wasm.js';
export type { KernelExports, KeyOf } from './wasm.js';
export { transposeCsr, rowNorms, columnNorms, rowCosts, balancedRanges, slotsToNeighbours, relabelColumns, allOnes } from './csr.js';
