import { describe, expect, it } from 'vitest';
import { WasmKernels, topkReference } from '../src/kernels/index.js';
import { Rng } from '../src/random.js';

const wasm = new WasmKernels();

function randomScores(rng: Rng, n: number): Float32Array {
  const s = new Float32Array(n);
  const mode = rng.int(4);
  for (let i = 0; i < n; i++) {
    if (mode === 0) s[i] = rng.next();
    else if (mode === 1) s[i] = rng.int(5); // many ties
    else if (mode === 2) s[i] = rng.int(3) === 0 ? -Infinity : rng.int(10) / 10; // masked entries
    else s[i] = rng.int(7) === 0 ? NaN : rng.normal();
  }
  return s;
}

describe('topk kernel: wasm vs reference', () => {
  it('agrees on hand-made cases', () => {
    const s = new Float32Array([0.5, 0.9, 0.9, -Infinity, 0.1, NaN, 0.9]);
    const r = wasm.topk(s, 3);
    expect(Array.from(r.indices)).toEqual([1, 2, 6]);
    expect(Array.from(wasm.topk(s, 10).indices)).toEqual([1, 2, 6, 0, 4]);
    expect(wasm.topk(new Float32Array(0), 5).indices.length).toBe(0);
    expect(wasm.topk(s, 0).indices.length).toBe(0);
  });

  it('matches the reference on 500 random vectors (ties, masks, NaN, k > n)', () => {
    const rng = new Rng(42);
    for (let t = 0; t < 500; t++) {
      const n = rng.int(300);
      const k = rng.int(40) + 1;
      const s = randomScores(rng, n);
      const a = wasm.topk(s, k);
      const b = topkReference(s, k);
      expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
      expect(Array.from(a.scores)).toEqual(Array.from(b.scores));
    }
  });

  it('matches the reference on long vectors, where the block-maximum threshold path runs', () => {
    const rng = new Rng(43);
    const orders = ['random', 'ascending', 'descending', 'constant', 'few-selectable', 'zeros'] as const;
    for (let t = 0; t < 240; t++) {
      const order = orders[t % orders.length];
      const k = [1, 2, 10, 100, 150][rng.int(5)];
      const n = 32 * k + rng.int(6000);
      let s = randomScores(rng, n);
      if (order === 'ascending') s = Float32Array.from(s).sort();
      if (order === 'descending') s = Float32Array.from(s).sort().reverse();
      if (order === 'constant') s.fill(rng.int(2) === 0 ? 0.25 : -0);
      if (order === 'few-selectable') for (let i = 0; i < n; i++) if (rng.int(n) >= 3 * k) s[i] = rng.int(2) === 0 ? -Infinity : NaN;
      if (order === 'zeros') for (let i = 0; i < n; i++) s[i] = rng.int(2) === 0 ? 0 : -0;
      const a = wasm.topk(s, k);
      const b = topkReference(s, k);
      expect(Array.from(a.indices), `${order} n=${n} k=${k}`).toEqual(Array.from(b.indices));
      // Bit patterns: a -0 stays -0.
      expect(Array.from(new Uint32Array(a.scores.buffer, a.scores.byteOffset, a.scores.length))).toEqual(Array.from(new Uint32Array(b.scores.buffer, b.scores.byteOffset, b.scores.length)));
    }
  });
});
