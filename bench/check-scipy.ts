/**
 * Agreement check with the scipy peer: fits item kNN on a `user,item` CSV, then has
 * /usr/bin/python3 run the peer's own `fit_scipy` (shared/peers/peer_itemknn.py: cosine via
 * normalised columns and a sparse X^T X, item kept in its own list) on the same file and compares,
 * row by row, the top-k score vectors sorted best first (tie order may differ, values may not).
 * Also compares both with the same cosine in float64. Prints {rows, k, rows_with_count_mismatch,
 * max_rel_diff: {migrec_vs_scipy, migrec_vs_float64, scipy_vs_float64}}.
 * usage: npx tsx bench/check-scipy.ts --csv FILE [--k 50]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { itemKnn } from '../src/pool/index.js';
import { readUserItemCsv } from './csv.js';

const { values } = parseArgs({
  options: {
    csv: { type: 'string' },
    k: { type: 'string', default: '50' },
    peers: { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/peers') },
  },
});
if (!values.csv) {
  process.stderr.write('usage: bench/check-scipy.ts --csv FILE [--k 50]\n');
  process.exit(2);
}
const k = Number(values.k);
const nb = await itemKnn(undefined, readUserItemCsv(values.csv), { k });
const dir = mkdtempSync(join(tmpdir(), 'migrec-check-'));
writeFileSync(join(dir, 'indptr.u32'), nb.indptr);
writeFileSync(join(dir, 'data.f32'), nb.data);
const py = `
import sys, json, numpy as np
sys.path.insert(0, ${JSON.stringify(values.peers)})
from peer_itemknn import load, fit_scipy
x, _ = load(${JSON.stringify(resolve(values.csv))})
s = fit_scipy(x, ${k})
ptr = np.fromfile(${JSON.stringify(join(dir, 'indptr.u32'))}, dtype=np.uint32)
val = np.fromfile(${JSON.stringify(join(dir, 'data.f32'))}, dtype=np.float32)
# float64 truth: the same cosine in double precision (top-k values per row)
import scipy.sparse as sp
x64 = x.astype(np.float64)
n64 = np.sqrt(np.asarray(x64.multiply(x64).sum(axis=0)).ravel()); n64[n64 == 0] = 1
xn = x64 @ sp.diags(1 / n64)
t = (xn.T @ xn).tocsr()
def top(m, r):
    v = np.sort(m.data[m.indptr[r]:m.indptr[r+1]])[::-1]
    return v[v != 0][:${k}]
out = {"rows": int(s.shape[0]), "k": ${k}, "rows_with_count_mismatch": 0}
worst = {"migrec_vs_scipy": 0.0, "migrec_vs_float64": 0.0, "scipy_vs_float64": 0.0}
for r in range(s.shape[0]):
    a = top(s, r).astype(np.float64); b = val[ptr[r]:ptr[r+1]].astype(np.float64); c = top(t, r)
    if a.size != b.size or c.size != b.size:
        out["rows_with_count_mismatch"] += 1; continue
    if b.size:
        worst["migrec_vs_scipy"] = max(worst["migrec_vs_scipy"], float((np.abs(a - b) / np.abs(c)).max()))
        worst["migrec_vs_float64"] = max(worst["migrec_vs_float64"], float((np.abs(b - c) / np.abs(c)).max()))
        worst["scipy_vs_float64"] = max(worst["scipy_vs_float64"], float((np.abs(a - c) / np.abs(c)).max()))
out["max_rel_diff"] = worst
print(json.dumps(out))
`;
const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', maxBuffer: 16 << 20 });
rmSync(dir, { recursive: true, force: true });
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(1);
}
process.stdout.write(r.stdout);
