// One dense layer of a small network (EMCDR's map, the item encoder), in the arithmetic of the
// TypeScript reference.
//
// models/nn.ts `denseForward` sets out[j] = b[j], then for every input i with x[i] != 0 (in
// increasing i) does `out[j] += x[i] * w[i][j]` on a Float32Array: the product of two f32 is exact
// in f64, the sum is rounded to f64, and the store rounds that to f32. The same steps run here two
// lanes at a time in f64x2 (promote, multiply, add, demote), so every output is the same bit for
// bit. With `skipZero`, inputs that are 0 (or -0) are skipped and NaN is not, as there; without
// it every input is added, as EMCDR's linear map does (0 x Infinity is NaN there too). The
// activation stays with the caller (JavaScript's Math.tanh has no bit-identical wasm twin).
//
// Cost: nIn x nOut multiply-adds, four per loop step (two f64x2 of each); `npx tsx bench/kernels.ts`
// times it against the Float32Array loop (3.8x for EMCDR's 64 -> 128 -> 64 map on 2026-12-01).

/** out[0, nOut) = b, then out[j] = f32(out[j] + x[i] * w[i * nOut + j]) for each i (with x[i] != 0 when `skipZero`). */
export function denseLayer(x: usize, nIn: i32, w: usize, b: usize, nOut: i32, out: usize, skipZero: i32): void {
  memory.copy(out, b, <usize>nOut << 2);
  const n4 = nOut & ~3;
  const rowBytes = <usize>nOut << 2;
  for (let i = 0; i < nIn; i++) {
    const xi = <f64>load<f32>(x + (<usize>i << 2));
    if (skipZero != 0 && xi == 0) continue;
    const xv = f64x2.splat(xi);
    const row = w + <usize>i * rowBytes;
    let j = 0;
    for (; j < n4; j += 4) {
      const off = <usize>j << 2;
      const o = v128.load(out + off);
      const v = v128.load(row + off);
      const lo = f64x2.add(f64x2.promote_low_f32x4(o), f64x2.mul(xv, f64x2.promote_low_f32x4(v)));
      const hi = f64x2.add(f64x2.promote_low_f32x4(i32x4.shuffle(o, o, 2, 3, 2, 3)), f64x2.mul(xv, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3))));
      v128.store(out + off, i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
    for (; j < nOut; j++) {
      const at = out + (<usize>j << 2);
      store<f32>(at, <f32>(<f64>load<f32>(at) + xi * <f64>load<f32>(row + (<usize>j << 2))));
    }
  }
}
