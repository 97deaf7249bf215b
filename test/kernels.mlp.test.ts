/**
 * The dense-layer kernel (assembly/mlp.ts) against its TypeScript reference (models/nn.ts): the same
 * f32 bits on random layers, with zero, negative-zero, NaN, huge and subnormal inputs, widths that
 * are not multiples of four, and weights kept in the kernel's memory across calls (and dropped when
 * too many are kept).
 */
import { describe, expect, it } from 'vitest';
import { DenseLayerKernel } from '../src/kernels/dense-layer.js';
import { affine, affineReference, denseForward, denseForwardReference, type Activation, type Dense } from '../src/models/nn.js';
import { Rng } from '../src/random.js';

function values(rng: Rng, n: number, special: boolean): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (special && r < 0.08) a[i] = 0;
    else if (special && r < 0.12) a[i] = -0;
    else if (special && r < 0.14) a[i] = 1e-41 * (rng.next() - 0.5); // subnormal
    else if (special && r < 0.16) a[i] = 3e38 * (rng.next() < 0.5 ? 1 : -1); // sums overflow to Infinity
    else a[i] = (rng.next() - 0.5) * (rng.next() < 0.5 ? 0.2 : 20);
  }
  return a;
}

function layer(rng: Rng, nIn: number, nOut: number, special: boolean): Dense {
  return { nIn, nOut, w: values(rng, nIn * nOut, special), b: values(rng, nOut, special) };
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('denseLayer kernel', () => {
  it('gives the reference bits on 300 random layers (widths 0-70, special values, every activation)', () => {
    const rng = new Rng(5);
    const acts: Activation[] = ['linear', 'tanh', 'relu'];
    for (let c = 0; c < 300; c++) {
      const special = c % 3 === 0;
      const nIn = rng.int(71);
      const nOut = 1 + rng.int(70);
      const l = layer(rng, nIn, nOut, special);
      const x = values(rng, nIn, special);
      if (c % 10 === 0 && nIn > 0) x[rng.int(nIn)] = NaN;
      const act = acts[c % 3];
      const want = denseForwardReference(l, x, act);
      const got = denseForward(l, x, act);
      if (!same(got, want)) throw new Error(`case ${c} (${nIn} -> ${nOut}, ${act}): ${Array.from(got).slice(0, 8)} != ${Array.from(want).slice(0, 8)}`);
    }
  });

  it('affine (every input added, zeros too) gives the reference bits on 200 random maps', () => {
    const rng = new Rng(8);
    for (let c = 0; c < 200; c++) {
      const special = c % 2 === 0;
      const nIn = rng.int(70);
      const nOut = 1 + rng.int(69);
      const w = values(rng, nIn * nOut, special);
      const b = values(rng, nOut, special);
      const x = values(rng, nIn, special);
      // A zero input against an infinite weight: NaN when added (as the reference does), not skipped.
      if (c % 20 === 0 && nIn > 0) {
        x[0] = 0;
        w[0] = Infinity;
      }
      const want = affineReference(w, b, nIn, nOut, x);
      const got = affine(w, b, nIn, nOut, x);
      if (!same(got, want)) throw new Error(`case ${c} (${nIn} -> ${nOut}): ${Array.from(got).slice(0, 8)} != ${Array.from(want).slice(0, 8)}`);
      if (c % 20 === 0 && nIn > 0) expect(Number.isNaN(got[0])).toBe(true);
    }
  });

  it('reads number arrays through the reference (their values are not f32)', () => {
    const l = layer(new Rng(2), 3, 5, false);
    const x = [0.1, 1 / 3, -2.5];
    expect(Array.from(denseForward(l, x, 'linear'))).toEqual(Array.from(denseForwardReference(l, x, 'linear')));
  });

  it('keeps weights across calls and copies them again after dropping them (more than 16 MB kept)', () => {
    const rng = new Rng(9);
    const k = new DenseLayerKernel();
    const layers = Array.from({ length: 40 }, () => layer(rng, 256, 256, false)); // 256 KiB of weights each: 10 MB
    const x = values(rng, 256, true);
    for (let round = 0; round < 3; round++) {
      for (const [q, l] of layers.entries()) {
        // A second set of arrays every round past the first pushes the kept bytes over the limit.
        const use = round === 0 ? l : { ...l, w: l.w.slice(), b: l.b.slice() };
        const got = k.layer(use.w, use.b, 256, 256, x, new Float32Array(256), true);
        if (!same(got, denseForwardReference(use, x, 'linear'))) throw new Error(`round ${round}, layer ${q}`);
      }
    }
    // The first layers again (dropped by now, or still kept): the same bits.
    expect(same(k.layer(layers[0].w, layers[0].b, 256, 256, x, new Float32Array(256), true), denseForwardReference(layers[0], x, 'linear'))).toBe(true);
  });
});
