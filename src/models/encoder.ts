/**
 * Item-side transfer for long-tail and new items: an MLP from item features (genre flags, price
 * buckets, hashed tokens, any numeric vector) to the item factor space, trained on items with
 * enough interactions to have reliable factors, then used for items with few or none:
 * v_i = (n_i / m) v_i^ALS + (1 - n_i / m) f(features_i) for n_i < m interactions.
 */
import { DataError } from '../errors.js';
import { Rng } from '../random.js';
import { mlpForward, trainMlp } from './nn.js';
import type { Tf } from './tf.js';

/** Numeric features of items of one domain: row r of `values` (width `width`) belongs to `items[r]`. */
export interface ItemFeatures {
  /** Domain of the items. @default the model's default domain */
  domain?: string;
  /** Item ids, one per row. */
  items: readonly string[];
  /** Features per item. */
  width: number;
  /** Row-major `items.length x width`, finite numbers. */
  values: Float32Array | readonly number[];
}

/** Options of the item encoder. */
export interface EncoderOptions {
  /** Items with fewer training interactions than this get (partly) encoded factors; items with at least this many train the encoder. @default 5 */
  minInteractions?: number;
  /** Hidden units. @default 64 */
  hidden?: number;
  /** Most epochs (early stopping on a seeded 10% of the training items, patience 5). @default 300 */
  epochs?: number;
  /** Adam learning rate. @default 0.005 */
  learningRate?: number;
  /** L2 penalty on the weights. @default 0.0001 */
  l2?: number;
}

/** Resolved encoder options (checked by the mf schema's `encoder` keys). */
export type EncoderSettings = Required<EncoderOptions>;

/**
 * Check features and align them to a domain's item indices.
 * @returns per training item, its feature row (or undefined), as one `nItems x width` array and a presence mask.
 * @throws {DataError} for a non-finite value or a wrong shape (`<itemFeatures>:row:column`).
 */
export function alignFeatures(f: ItemFeatures, itemIndex: (id: string) => number, nItems: number): { x: Float32Array; has: Uint8Array; width: number } {
  const where = { file: '<itemFeatures>' };
  if (typeof f !== 'object' || f === null || !Array.isArray(f.items)) throw new DataError(where, 'itemFeatures needs items (an array of item ids), width and values');
  if (!Array.isArray(f.values) && !(f.values instanceof Float32Array)) throw new DataError(where, 'itemFeatures.values must be an array or a Float32Array of numbers');
  const bad = f.items.findIndex((id) => typeof id !== 'string');
  if (bad >= 0) throw new DataError({ ...where, line: bad + 1 }, `item ids must be strings (got ${typeof f.items[bad]})`);
  const width = f.width;
  if (!Number.isInteger(width) || width <= 0) throw new DataError(where, `width must be a positive integer (got ${String(width)})`);
  if (f.values.length !== f.items.length * width) throw new DataError(where, `values holds ${f.values.length} numbers, expected ${f.items.length} items x ${width}`);
  const x = new Float32Array(nItems * width);
  const has = new Uint8Array(nItems);
  for (let r = 0; r < f.items.length; r++) {
    for (let c = 0; c < width; c++) {
      const v = f.values[r * width + c];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new DataError({ ...where, line: r + 1, column: c + 1 }, `feature ${c + 1} of item ${JSON.stringify(f.items[r])} must be a finite number (got ${String(v)})`);
      }
    }
    const i = itemIndex(f.items[r]);
    if (i < 0 || i >= nItems) continue; // an item unknown to training cannot be ranked
    has[i] = 1;
    for (let c = 0; c < width; c++) x[i * width + c] = f.values[r * width + c];
  }
  return { x, has, width };
}

/** What the encoder did, for the report. */
export interface EncoderReport {
  trainItems: number;
  encodedItems: number;
  epochs: number;
  heldOutMse: number;
}

/**
 * Train the encoder on items with >= minInteractions interactions and features, and blend its
 * output into the factors of items with fewer. Returns new item factors.
 * @throws {Error} with `nonFinite` when training diverges.
 */
export function encodeTail(
  tf: Tf,
  items: Float32Array,
  d: number,
  counts: Uint32Array,
  feats: { x: Float32Array; has: Uint8Array; width: number },
  s: EncoderSettings,
  seed: number,
  label: string,
): { items: Float32Array; report: EncoderReport } {
  const nItems = counts.length;
  const w = feats.width;
  const train: number[] = [];
  for (let i = 0; i < nItems; i++) if (feats.has[i] && counts[i] >= s.minInteractions) train.push(i);
  const out = items.slice();
  if (train.length < 2) return { items: out, report: { trainItems: train.length, encodedItems: 0, epochs: 0, heldOutMse: NaN } };
  // A seeded 10% of the training items decide when to stop.
  const rng = Rng.derive(seed, `encoder-split:${label}`);
  rng.shuffle(train);
  const nHeld = Math.max(1, Math.floor(train.length * 0.1));
  const held = train.slice(0, nHeld);
  const fit = train.slice(nHeld);
  const pack = (list: number[]) => {
    const x = new Float32Array(list.length * w);
    const y = new Float32Array(list.length * d);
    list.forEach((i, r) => {
      x.set(feats.x.subarray(i * w, (i + 1) * w), r * w);
      y.set(items.subarray(i * d, (i + 1) * d), r * d);
    });
    return { x, y };
  };
  const a = pack(fit);
  let heldOutMse = NaN;
  const r = trainMlp(tf, a.x, a.y, fit.length, w, s.hidden, d, 'relu', {
    epochs: s.epochs,
    batchSize: 64,
    learningRate: s.learningRate,
    l2: s.l2,
    seed,
    label: `encoder:${label}`,
    evalEvery: 5,
    patience: 5,
    evaluate: (m) => {
      let err = 0;
      for (const i of held) {
        const p = mlpForward(m, feats.x.subarray(i * w, (i + 1) * w));
        for (let c = 0; c < d; c++) err += (p[c] - items[i * d + c]) ** 2;
      }
      const mse = err / (held.length * d);
      if (!Number.isFinite(mse)) throw Object.assign(new Error(`encoder:${label}: held-out error became ${mse}`), { nonFinite: true });
      return -mse;
    },
  });
  heldOutMse = -Math.max(...r.curve.map((c) => c.score));
  let encoded = 0;
  for (let i = 0; i < nItems; i++) {
    if (!feats.has[i] || counts[i] >= s.minInteractions) continue;
    const p = mlpForward(r.mlp, feats.x.subarray(i * w, (i + 1) * w));
    const keep = counts[i] / s.minInteractions;
    for (let c = 0; c < d; c++) out[i * d + c] = keep * items[i * d + c] + (1 - keep) * p[c];
    encoded++;
  }
  return { items: out, report: { trainItems: fit.length, encodedItems: encoded, epochs: r.epochs, heldOutMse } };
}
