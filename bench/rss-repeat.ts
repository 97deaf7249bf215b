/**
 * RSS over repeated pooled item-kNN fits and scoring rounds on one CSV: shows whether memory
 * reaches a steady state (buffers of earlier jobs released) or grows.
 * usage: npx tsx bench/rss-repeat.ts FILE [threads] [fits]
 */
import { createPool, itemKnn, scoreSparse } from '../src/pool/index.js';
import { readUserItemCsv } from './csv.js';

const mb = () => Math.round(process.memoryUsage().rss / 1048576);
const peak = () => Math.round(process.resourceUsage().maxRSS / 1024);
const x = readUserItemCsv(process.argv[2] ?? '/tmp/migrec-peers/data/syn-1m.csv');
const threads = Number(process.argv[3] ?? 2);
const fits = Number(process.argv[4] ?? 5);
const pool = createPool({ threads });
const rows: unknown[] = [{ step: 'loaded', rss_mb: mb(), peak_mb: peak() }];
try {
  for (let f = 0; f < fits; f++) {
    const nb = await itemKnn(pool, x, { k: 50 });
    rows.push({ step: `fit ${f + 1}`, rss_mb: mb(), peak_mb: peak() });
    const users = Uint32Array.from({ length: Math.min(100_000, x.nRows) }, (_, i) => i);
    await scoreSparse(pool, x, nb, { n: 10, users });
    rows.push({ step: `score ${f + 1}`, rss_mb: mb(), peak_mb: peak() });
  }
} finally {
  await pool.close();
}
console.table(rows);
