/**
 * Gradients of the kernels our models differentiate through, for tfjs-core without the umbrella
 * package (core's Node entry registers none). Each entry is a vector-Jacobian product written
 * from the op's definition: given dy = dL/d(output), return dL/d(input) for every input.
 *
 * Conventions of tfjs-core's `GradConfig`: `saved` holds the inputs named in `inputsToSave` (in
 * that order, or all of them with `saveAllInputs`) followed by the outputs flagged in
 * `outputsToSave`; `gradFunc` returns, per input name, a thunk that builds its gradient. A
 * gradient must have its input's shape and be float32 (inputs that are indices get zeros).
 *
 * Broadcasting: an input of shape s that was broadcast to the output shape o (right-aligned,
 * missing leading axes and size-1 axes stretched) receives dy summed over the stretched axes,
 * reshaped back to s, because every stretched copy of an element contributes to L.
 *
 * Nothing here imports tfjs at run time: `registerGradients(tf)` takes the loaded module.
 */
import type * as TF from '@tensorflow/tfjs-core';

type Tf = typeof TF;
type T = TF.Tensor;
type Attrs = TF.NamedAttrMap;
type Grads = Record<string, () => T>;

/** Kernels whose gradients this module provides, in registration order. */
export const GRADIENT_KERNELS = [
  'Add', 'AddN', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Maximum',
  'Neg', 'Square', 'Relu', 'Tanh', 'Sigmoid', 'Exp', 'Log', 'Cast',
  'Sum', 'Mean', 'Max', 'Softmax',
  'Reshape', 'ExpandDims', 'Transpose', 'Slice', 'Tile', 'Concat',
  'BatchMatMul', 'GatherV2',
] as const;

/** Product of a list of sizes (1 for an empty list). */
function prod(a: readonly number[]): number {
  return a.reduce((p, s) => p * s, 1);
}

/** Axes of `outShape` along which an operand of `shape` was stretched by broadcasting. */
export function broadcastAxes(shape: readonly number[], outShape: readonly number[]): number[] {
  const lead = outShape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    const j = i - lead;
    if (j < 0 || (shape[j] === 1 && outShape[i] !== 1)) axes.push(i);
  }
  return axes;
}

/** Reduction axes as non-negative numbers (`null`/`undefined`: all axes), sorted. */
function reductionAxes(axis: unknown, rank: number): number[] {
  if (axis === null || axis === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = (Array.isArray(axis) ? axis : [axis]) as number[];
  return list.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

/** The permutation that swaps the last two axes of a rank-r tensor. */
function swapLastTwo(rank: number): number[] {
  const p = Array.from({ length: rank }, (_, i) => i);
  p[rank - 2] = rank - 1;
  p[rank - 1] = rank - 2;
  return p;
}

/** The configs, made once per tfjs module (they close over its ops). */
function makeConfigs(tf: Tf): TF.GradConfig[] {
  /** dy summed over the axes broadcasting stretched, in the shape of the operand. */
  const unbroadcast = (dy: T, shape: number[]): T => {
    const axes = broadcastAxes(shape, dy.shape);
    return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape);
  };
  /** 1 where cond holds, else 0, as float32. */
  const indicator = (cond: T): T => tf.cast(cond, 'float32');
  /** dy of a reduction over `axes` of x, spread back over x's shape (each element of a reduced group gets the group's dy). */
  const spread = (dy: T, xShape: number[], axes: number[]): T => {
    const kept = xShape.map((s, i) => (axes.includes(i) ? 1 : s));
    return tf.mul(tf.reshape(dy, kept), tf.ones(xShape));
  };
  /** A binary op's gradient: local derivatives da, db (already multiplied by dy), reduced to each operand's shape. */
  const binary = (kernelName: string, local: (dy: T, a: T, b: T) => { da: () => T; db: () => T }): TF.GradConfig => ({
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      const g = local(dy as T, a, b);
      return { a: () => unbroadcast(g.da(), a.shape), b: () => unbroadcast(g.db(), b.shape) };
    },
  });
  /** A unary op y = f(x) with dx = dy * f'(x); `fromOutput` when f' is cheaper from y. */
  const unary = (kernelName: string, fromOutput: boolean, local: (dy: T, v: T) => T): TF.GradConfig => ({
    kernelName,
    ...(fromOutput ? { outputsToSave: [true] } : { inputsToSave: ['x'] }),
    gradFunc: (dy, saved) => ({ x: () => local(dy as T, saved[0]) }),
  });

  return [
    // y = a + b: dy flows to both.
    binary('Add', (dy) => ({ da: () => dy, db: () => dy })),
    // y = x0 + x1 + ...: dy flows to every addend (all have y's shape).
    {
      kernelName: 'AddN',
      saveAllInputs: true,
      gradFunc: (dy, saved) => Object.fromEntries(saved.map((_, i) => [String(i), () => tf.clone(dy as T)])),
    },
    // y = a - b.
    binary('Sub', (dy) => ({ da: () => dy, db: () => tf.neg(dy) })),
    // y = a b: dy/da = b, dy/db = a.
    binary('Multiply', (dy, a, b) => ({ da: () => tf.mul(dy, b), db: () => tf.mul(dy, a) })),
    // y = a / b: dy/da = 1/b, dy/db = -a/b^2.
    binary('RealDiv', (dy, a, b) => ({ da: () => tf.div(dy, b), db: () => tf.neg(tf.div(tf.mul(dy, a), tf.square(b))) })),
    // y = (a - b)^2: dy/da = 2(a - b) = -dy/db.
    binary('SquaredDifference', (dy, a, b) => {
      const twoDiff = () => tf.mul(dy, tf.mul(tf.sub(a, b), 2));
      return { da: twoDiff, db: () => tf.neg(twoDiff()) };
    }),
    // y = max(a, b): the larger operand takes dy; a tie goes to a (a subgradient).
    binary('Maximum', (dy, a, b) => ({ da: () => tf.mul(dy, indicator(tf.greaterEqual(a, b))), db: () => tf.mul(dy, indicator(tf.less(a, b))) })),
    unary('Neg', false, (dy) => tf.neg(dy)),
    // d(x^2)/dx = 2x.
    unary('Square', false, (dy, x) => tf.mul(dy, tf.mul(x, 2))),
    // relu'(x) = 1 for x > 0, else 0 (0 at the kink).
    unary('Relu', false, (dy, x) => tf.mul(dy, indicator(tf.greater(x, 0)))),
    // tanh' = 1 - tanh^2.
    unary('Tanh', true, (dy, y) => tf.mul(dy, tf.sub(1, tf.square(y)))),
    // sigmoid' = s (1 - s).
    unary('Sigmoid', true, (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))),
    // exp' = exp.
    unary('Exp', true, (dy, y) => tf.mul(dy, y)),
    // log' = 1/x.
    unary('Log', false, (dy, x) => tf.div(dy, x)),
    // A change of dtype is the identity on values.
    { kernelName: 'Cast', gradFunc: (dy) => ({ x: () => tf.clone(dy as T) }) },
    // y = sum over axes: every summed element has derivative 1.
    {
      kernelName: 'Sum',
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attrs: Attrs) => ({ x: () => spread(dy as T, x.shape, reductionAxes(attrs.axis, x.rank)) }),
    },
    // y = mean over axes: derivative 1/n, n the number of elements averaged.
    {
      kernelName: 'Mean',
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attrs: Attrs) => {
        const axes = reductionAxes(attrs.axis, x.rank);
        const n = prod(axes.map((a) => x.shape[a]));
        return { x: () => tf.div(spread(dy as T, x.shape, axes), n) };
      },
    },
    // y = max over axes: the maximal element of each group takes dy (every one of them on a tie).
    {
      kernelName: 'Max',
      inputsToSave: ['x'],
      outputsToSave: [true],
      gradFunc: (dy, [x, y], attrs: Attrs) => {
        const axes = reductionAxes(attrs.reductionIndices, x.rank);
        const kept = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
        return { x: () => tf.mul(spread(dy as T, x.shape, axes), indicator(tf.equal(x, tf.reshape(y, kept)))) };
      },
    },
    // y = softmax(x) along dim: dy_j/dx_i = y_j (delta_ij - y_i), so
    // dx_i = sum_j dy_j y_j (delta_ij - y_i) = y_i (dy_i - sum_j dy_j y_j).
    {
      kernelName: 'Softmax',
      outputsToSave: [true],
      gradFunc: (dy, [y], attrs: Attrs) => {
        const dim = reductionAxes(attrs.dim ?? -1, y.rank);
        return { logits: () => tf.mul(y, tf.sub(dy as T, tf.sum(tf.mul(dy as T, y), dim, true))) };
      },
    },
    // Shape-only ops move elements without changing them: dy moved back.
    { kernelName: 'Reshape', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as T, x.shape) }) },
    { kernelName: 'ExpandDims', inputsToSave: ['input'], gradFunc: (dy, [x]) => ({ input: () => tf.reshape(dy as T, x.shape) }) },
    // y = transpose(x, p), y[..i..] = x[..i permuted..]: dx = transpose(dy, p^-1).
    {
      kernelName: 'Transpose',
      gradFunc: (dy, _saved, attrs: Attrs) => {
        const perm = attrs.perm as number[];
        const inverse = new Array<number>(perm.length);
        perm.forEach((p, i) => (inverse[p] = i));
        return { x: () => tf.transpose(dy as T, inverse) };
      },
    },
    // y = x[begin : begin + size]: dx is dy in the sliced window, zeros elsewhere.
    {
      kernelName: 'Slice',
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attrs: Attrs) => {
        const r = x.rank;
        const b = attrs.begin as number | number[];
        const s = attrs.size as number | number[];
        const begin = Array.from({ length: r }, (_, i) => (Array.isArray(b) ? (b[i] ?? 0) : i === 0 ? b : 0));
        const size = Array.from({ length: r }, (_, i) => (Array.isArray(s) ? (s[i] ?? -1) : i === 0 ? s : -1));
        const pads = x.shape.map((n, i): [number, number] => {
          const len = size[i] < 0 ? n - begin[i] : size[i];
          return [begin[i], n - begin[i] - len];
        });
        return { x: () => tf.pad(dy as T, pads) };
      },
    },
    // y = tile(x, reps): along axis i, y[r n_i + j] = x[j] for r < reps_i. Viewing dy as
    // [reps_0, n_0, reps_1, n_1, ...] and summing over the reps axes collects every copy.
    {
      kernelName: 'Tile',
      inputsToSave: ['x'],
      gradFunc: (dy, [x], attrs: Attrs) => {
        const reps = attrs.reps as number[];
        const split = x.shape.flatMap((n, i) => [reps[i], n]);
        const axes = x.shape.map((_, i) => 2 * i);
        return { x: () => tf.reshape(tf.sum(tf.reshape(dy as T, split), axes), x.shape) };
      },
    },
    // y = concat(x0, x1, ...) along axis: each input takes its own stretch of dy.
    {
      kernelName: 'Concat',
      saveAllInputs: true,
      gradFunc: (dy, saved, attrs: Attrs) => {
        const axis = reductionAxes(attrs.axis, saved[0].rank)[0];
        let offset = 0;
        return Object.fromEntries(
          saved.map((t, i) => {
            const begin = t.shape.map((_, j) => (j === axis ? offset : 0));
            offset += t.shape[axis];
            return [String(i), () => tf.slice(dy as T, begin, t.shape)];
          }),
        );
      },
    },
    // C = A' B' with A' = A or A^T (transposeA), B' = B or B^T (transposeB), over (broadcast)
    // batch axes. dL/dA' = dC B'^T and dL/dB' = A'^T dC; transposing back gives dA, dB; batch
    // axes that were broadcast are summed. Products are on explicitly transposed operands (the
    // wasm backend is much slower with a transposed operand inside matMul, see tf.ts).
    {
      kernelName: 'BatchMatMul',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, [a, b], attrs: Attrs) => {
        const ta = Boolean(attrs.transposeA);
        const tb = Boolean(attrs.transposeB);
        const sw = (t: T) => tf.transpose(t, swapLastTwo(t.rank));
        const dc = dy as T;
        const shapeOf = (t: T, transposed: boolean) => (transposed ? swapLastTwo(t.rank).map((i) => t.shape[i]) : t.shape);
        return {
          a: () => {
            const bT = tb ? b : sw(b); // B'^T
            const dA1 = unbroadcast(tf.matMul(dc, bT), shapeOf(a, ta));
            return ta ? sw(dA1) : dA1;
          },
          b: () => {
            const aT = ta ? a : sw(a); // A'^T
            const dB1 = unbroadcast(tf.matMul(aT, dc), shapeOf(b, tb));
            return tb ? sw(dB1) : dB1;
          },
        };
      },
    },
    // y = gather(x, idx, axis): y[o, k, i] = x[o, idx[k], i] (o: axes before `axis`, i: after).
    // Every row x[o, s, i] receives the sum of dy[o, k, i] over the k with idx[k] = s, duplicates
    // included: an unsorted segment sum of dy over the indices.
    {
      kernelName: 'GatherV2',
      inputsToSave: ['x', 'indices'],
      gradFunc: (dy, [x, indices], attrs: Attrs) => {
        if (Number(attrs.batchDims ?? 0) !== 0) throw new Error('GatherV2 gradient: batchDims other than 0 is not supported');
        const axis = reductionAxes(attrs.axis ?? 0, x.rank)[0];
        return {
          x: () => {
            const outer = prod(x.shape.slice(0, axis));
            const inner = prod(x.shape.slice(axis + 1));
            const k = indices.size;
            const ids = tf.reshape(indices, [k]) as TF.Tensor1D;
            // dy as [k, outer * inner]: the gathered axis first.
            let rows = tf.reshape(dy as T, [outer, k, inner]);
            rows = outer === 1 ? tf.reshape(rows, [k, inner]) : tf.reshape(tf.transpose(rows, [1, 0, 2]), [k, outer * inner]);
            const summed = tf.unsortedSegmentSum(rows, ids, x.shape[axis]); // [n, outer * inner]
            if (outer === 1) return tf.reshape(summed, x.shape);
            return tf.reshape(tf.transpose(tf.reshape(summed, [x.shape[axis], outer, inner]), [1, 0, 2]), x.shape);
          },
          indices: () => tf.zeros(indices.shape),
        };
      },
    },
  ];
}

const made = new WeakMap<object, TF.GradConfig[]>();

/**
 * Register our gradient for every kernel in `GRADIENT_KERNELS` that has none yet (a gradient
 * already registered, say by the tfjs umbrella package loaded elsewhere in the process, is kept).
 * Idempotent.
 * @returns the kernels this call registered.
 */
export function registerGradients(tf: Tf): string[] {
  let configs = made.get(tf);
  if (!configs) {
    configs = makeConfigs(tf);
    made.set(tf, configs);
  }
  const added: string[] = [];
  for (const c of configs) {
    if (tf.getGradient(c.kernelName)) continue;
    tf.registerGradient(c);
    added.push(c.kernelName);
  }
  return added;
}
