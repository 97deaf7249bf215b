/**
 * TensorFlow.js set-up for the transfer models: tfjs-core with the WASM backend only (no umbrella
 * package, no tfjs-node, see STACK.md), our own gradients (core's Node entry registers none; see
 * gradients.ts) and the kernel the wasm backend lacks for embedding gradients. Nothing here runs
 * on import: `initTensorflow()` loads tfjs on first call (a dynamic import, so importing migrec
 * never pulls in tfjs), registers the gradients, selects the wasm backend, registers
 * `UnsortedSegmentSum` on it, and returns the module. Idempotent.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { registerGradients } from './gradients.js';

/** The tfjs module type. */
export type Tf = typeof TF;

let ready: Promise<Tf> | undefined;

/**
 * Load tfjs-core, register our gradients, select the wasm backend and register the missing
 * kernel. Safe to call any number of times (one load; later calls return the same module).
 * @returns the tfjs module, with `wasm` as the active backend.
 * @throws {Error} when the wasm backend cannot be initialised.
 * @example const tf = await initTensorflow(); tf.tidy(() => ...);
 */
export function initTensorflow(): Promise<Tf> {
  ready ??= (async () => {
    // The Emscripten glue of the wasm backend installs process-wide 'uncaughtException' and
    // 'unhandledRejection' handlers that rethrow, which would turn an embedding server's own
    // error handling into a crash. Remove whatever it adds.
    type Listener = (...args: unknown[]) => void;
    const events = ['uncaughtException', 'unhandledRejection'];
    const listeners = (e: string) => process.listeners(e as 'uncaughtException') as unknown as Listener[];
    const before = events.map((e) => new Set(listeners(e)));
    try {
      const tf = (await import('@tensorflow/tfjs-core')) as unknown as Tf;
      await import('@tensorflow/tfjs-backend-wasm');
      registerGradients(tf);
      registerUnsortedSegmentSum(tf);
      const ok = await tf.setBackend('wasm');
      if (!ok) throw new Error('tfjs: the wasm backend could not be initialised');
      await tf.ready();
      return tf;
    } finally {
      events.forEach((e, i) => {
        for (const l of listeners(e)) if (!before[i].has(l)) process.removeListener(e, l);
      });
    }
  })();
  ready.catch(() => {
    ready = undefined; // a failed start may be retried
  });
  return ready;
}

type MatMul2d = (a: TF.Tensor, b: TF.Tensor) => TF.Tensor2D;
let plainMatMul: { tf: Tf; f: MatMul2d } | undefined;

/** Options of `matMul2d`. */
export interface MatMul2dOptions {
  /** Multiply by `b` transposed. @default false */
  transposeB?: boolean;
  /** An operand that needs no gradient (data, not weights): its gradient product is skipped. */
  constant?: 'a' | 'b';
}

/**
 * `a x b` (or `a x b^T`) for 2-D tensors, differentiable, with every product of the forward and
 * the backward pass on untransposed operands. On the wasm backend a product with a transposed
 * operand (what tfjs's own gradient of matMul uses) is 7 to 15 times slower than an explicit
 * transpose followed by a plain product (256 x 256 operands, this machine), so training through
 * this helper is several times faster than through `tf.matMul`; values agree to float32 rounding.
 * @throws {RangeError} when an operand is not 2-D.
 */
export function matMul2d(tf: Tf, a: TF.Tensor, b: TF.Tensor, options: MatMul2dOptions = {}): TF.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2) throw new RangeError(`matMul2d needs 2-D operands (got ranks ${a.rank} and ${b.rank})`);
  const right = (options.transposeB ? tf.transpose(b) : b) as TF.Tensor2D;
  const left = a as TF.Tensor2D;
  if (options.constant === 'a') {
    // The constant goes through `save`: a tensor made inside the caller's forward pass is disposed
    // before the backward pass unless saved.
    const f = tf.customGrad((y, save) => {
      (save as TF.GradSaveFunc)([left]);
      return {
        value: tf.matMul(left, y as TF.Tensor2D),
        gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => [tf.matMul(tf.transpose(saved[0] as TF.Tensor2D), dy as TF.Tensor2D)],
      };
    }) as unknown as (y: TF.Tensor) => TF.Tensor2D;
    return f(right);
  }
  if (options.constant === 'b') {
    // d(a b')/da = dy b'^T, and b'^T is b itself when b' = b^T.
    const f = tf.customGrad((x, save) => {
      const rt = (options.transposeB ? b : tf.transpose(right)) as TF.Tensor2D;
      (save as TF.GradSaveFunc)([rt]);
      return {
        value: tf.matMul(x as TF.Tensor2D, right),
        gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => [tf.matMul(dy as TF.Tensor2D, saved[0] as TF.Tensor2D)],
      };
    }) as unknown as (x: TF.Tensor) => TF.Tensor2D;
    return f(left);
  }
  if (plainMatMul?.tf !== tf) {
    const f = tf.customGrad((x, y, save) => {
      const xt = x as TF.Tensor2D;
      const yt = y as TF.Tensor2D;
      (save as TF.GradSaveFunc)([xt, yt]);
      return {
        value: tf.matMul(xt, yt),
        gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => [tf.matMul(dy as TF.Tensor2D, tf.transpose(saved[1] as TF.Tensor2D)), tf.matMul(tf.transpose(saved[0] as TF.Tensor2D), dy as TF.Tensor2D)],
      };
    }) as unknown as MatMul2d;
    plainMatMul = { tf, f };
  }
  return plainMatMul.f(left, right);
}

/** Minimal view of the wasm backend used by the kernel below. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: TF.DataType): TF.TensorInfo;
  typedArrayFromHeap(t: TF.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * `UnsortedSegmentSum` for the wasm backend (the gradient of `gather`, hence of embeddings):
 * out[s, :] = sum of x[r, :] over rows r with segmentIds[r] = s; ids outside [0, numSegments) are
 * dropped, as in TensorFlow. Plain JS over the wasm heap; heap views are taken after `makeOutput`,
 * which may grow (and so detach) the heap.
 */
function registerUnsortedSegmentSum(tf: Tf): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const x = inputs.x as TF.TensorInfo;
      const ids = inputs.segmentIds as TF.TensorInfo;
      const numSegments = Number((attrs as { numSegments: number }).numSegments);
      const b = backend as unknown as WasmBackendLike;
      const rows = ids.shape.reduce((a, s) => a * s, 1);
      const inner = rows === 0 ? 0 : x.shape.reduce((a, s) => a * s, 1) / rows;
      const out = b.makeOutput([numSegments, ...x.shape.slice(ids.shape.length)], x.dtype);
      const xv = b.typedArrayFromHeap(x);
      const iv = b.typedArrayFromHeap(ids);
      const ov = b.typedArrayFromHeap(out);
      ov.fill(0);
      for (let r = 0; r < rows; r++) {
        const s = iv[r];
        if (s < 0 || s >= numSegments) continue;
        const src = r * inner;
        const dst = s * inner;
        for (let c = 0; c < inner; c++) ov[dst + c] += xv[src + c];
      }
      return out;
    },
  });
}
