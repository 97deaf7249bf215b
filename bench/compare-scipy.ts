/**
 * Item-kNN neighbour lists against the scipy peer (../shared/peers/peer_itemknn.py: cosine,
 * sparse Xn^T Xn, per-row top-k, the item kept in its own list) on the same file. For every item,
 * the top-k score vectors must agree to 1e-5 and the neighbour sets must be identical apart from
 * ties at the k-th score (where argpartition's pick is arbitrary).
 * Usage: npx tsx bench/compare-scipy.ts [--base ../shared/data/movielens-100k/u1.base | --csv FILE] [--k 50]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Dataset, ItemKnn, loadEvents, loadMovieLens } from '../src/index.js';

const { values } = parseArgs({
  options: { base: { type: 'string', default: '../shared/data/movielens-100k/u1.base' }, csv: { type: 'string' }, k: { type: 'string', default: '50' } },
});
const k = Number(values.k);
const peers = fileURLToPath(new URL('../../shared/peers/', import.meta.url));
const train = values.csv ? await loadEvents(values.csv) : await loadMovieLens(values.base!);
mkdirSync('/tmp/migrec-peers', { recursive: true });
const csv = '/tmp/migrec-peers/compare.csv';
let text = 'user,item\n';
for (let r = 0; r < train.length; r++) text += `${train.vocab.users.id(train.user[r])},${train.vocab.items(train.domain[r]).id(train.item[r])}\n`;
writeFileSync(csv, text);
// Both sides read this one file: user,item pairs only (a domain column would split our catalogue).
const pairs = await loadEvents(csv);

const py = `
import sys, json
sys.path.insert(0, ${JSON.stringify(peers)})
from peer_itemknn import load, fit_scipy
import csv as _csv
x, _ = load(${JSON.stringify(csv)})
# item ids in the peer's order (first appearance)
ids = {}
with open(${JSON.stringify(csv)}) as fh:
    r = _csv.reader(fh); next(r)
    for row in r: ids.setdefault(row[1], len(ids))
names = [None] * len(ids)
for name, i in ids.items(): names[i] = name
s = fit_scipy(x, ${k})
out = {}
for i in range(s.shape[0]):
    a, b = s.indptr[i], s.indptr[i + 1]
    out[names[i]] = [[names[j], float(v)] for j, v in zip(s.indices[a:b], s.data[a:b])]
json.dump(out, sys.stdout)
`;
const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', maxBuffer: 1 << 28 });
if (r.status !== 0) throw new Error(`python peer failed: ${r.stderr}`);
const peer: Record<string, Array<[string, number]>> = JSON.parse(r.stdout);

const model = new ItemKnn({ neighbors: k });
await model.fit(Dataset.fromEvents(pairs));
const nb = model.neighborMatrix();
const items = pairs.vocab.items(0);
let maxDiff = 0;
let setMismatch = 0;
let tieOnly = 0;
for (let i = 0; i < nb.nRows; i++) {
  const ours = Array.from(nb.indices.subarray(nb.indptr[i], nb.indptr[i + 1]), (j, t) => [items.id(j), nb.data[nb.indptr[i] + t]] as [string, number]);
  const theirs = (peer[items.id(i)] ?? []).slice().sort((a, b) => b[1] - a[1]);
  if (ours.length !== theirs.length) {
    setMismatch++;
    continue;
  }
  for (let t = 0; t < ours.length; t++) maxDiff = Math.max(maxDiff, Math.abs(ours[t][1] - theirs[t][1]));
  const kth = ours.length > 0 ? ours[ours.length - 1][1] : 0;
  const a = new Set(ours.filter((e) => e[1] > kth + 1e-6).map((e) => e[0]));
  const b = new Set(theirs.filter((e) => e[1] > kth + 1e-6).map((e) => e[0]));
  const same = a.size === b.size && [...a].every((x) => b.has(x));
  if (!same) setMismatch++;
  else if (ours.some((e, t) => e[0] !== theirs[t][0])) tieOnly++;
}
console.log(JSON.stringify({ file: values.csv ?? values.base, k, items: nb.nRows, max_score_diff: maxDiff, items_with_different_neighbours: setMismatch, items_differing_only_in_tie_order: tieOnly }));
