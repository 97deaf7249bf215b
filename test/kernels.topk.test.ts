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
});
