import { describe, expect, it } from 'vitest';
import { averagePrecision, coverage, hitRate, longTailShare, mae, ndcg, precision, recall, reciprocalRank, rmse } from '../src/index.js';

// Ranking [5, 3, 9, 1], relevant {3, 1, 7}: hits at ranks 2 and 4.
const ranked = [5, 3, 9, 1];
const rel = new Set([3, 1, 7]);

describe('ranking metrics, hand-computed', () => {
  it('HR', () => {
    expect(hitRate(ranked, rel, 1)).toBe(0);
    expect(hitRate(ranked, rel, 2)).toBe(1);
  });
  it('Recall = hits / |relevant|', () => {
    expect(recall(ranked, rel, 2)).toBeCloseTo(1 / 3, 12);
    expect(recall(ranked, rel, 4)).toBeCloseTo(2 / 3, 12);
    expect(recall(ranked, new Set(), 4)).toBe(0);
  });
  it('Precision', () => {
    expect(precision(ranked, rel, 4)).toBe(0.5);
  });
  it('NDCG with the ideal over min(K, |relevant|)', () => {
    // DCG@4 = 1/log2(3) + 1/log2(5); IDCG@4 = 1 + 1/log2(3) + 1/2
    expect(ndcg(ranked, rel, 4)).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3) + 0.5), 12);
    // K = 2: DCG = 1/log2(3); IDCG = 1 + 1/log2(3)
    expect(ndcg(ranked, rel, 2)).toBeCloseTo(1 / Math.log2(3) / (1 + 1 / Math.log2(3)), 12);
    expect(ndcg([7], new Set([7]), 10)).toBe(1);
  });
  it('MRR', () => {
    expect(reciprocalRank(ranked, rel, 4)).toBe(0.5);
    expect(reciprocalRank(ranked, rel, 1)).toBe(0);
  });
  it('AP: mean precision at hits over min(K, |relevant|)', () => {
    expect(averagePrecision(ranked, rel, 4)).toBeCloseTo((1 / 2 + 2 / 4) / 3, 12);
  });
  it('an unknown relevant item (negative id) counts in |relevant| but never hits', () => {
    expect(recall([0, 1], new Set([0, -5]), 2)).toBe(0.5);
  });
  it('coverage and long-tail share', () => {
    expect(coverage([[0, 1], [1, 2]], 10, 2)).toBe(0.3);
    expect(coverage([[0, 1], [1, 2]], 10, 1)).toBe(0.2);
    expect(longTailShare([[0, 8], [9, 1]], (i) => i >= 8, 2)).toBe(0.5);
  });
  it('MAE and RMSE', () => {
    expect(mae([1, 2, 3], [2, 2, 5])).toBe(1);
    expect(rmse([1, 2, 3], [2, 2, 5])).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(() => mae([1], [1, 2])).toThrow('predicted and actual differ in length (1 vs 2)');
  });
});
