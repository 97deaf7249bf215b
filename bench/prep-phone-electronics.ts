/**
 * Converts the DisenCDR Amazon Phone <-> Electronics files (../shared/data/amazon-phone-electronics/raw,
 * `user<TAB>item<TAB>1`, one folder per domain, user ids shared) into migrec CSVs under
 * /tmp/migrec-data/phone-electronics (never into the repository: the data's terms forbid it):
 *   all.csv          every training row of both domains (for `migrec eval --split cold-start`)
 *   warm-train.csv   all.csv minus one seeded random row per user and domain
 *   warm-valid.csv   those rows (tuning only)
 *   warm-test.csv    the published leave-one-out test rows (test.txt) of both domains
 * Usage: npx tsx bench/prep-phone-electronics.ts [--seed 1]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Rng } from '../src/random.js';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, raw: { type: 'string', default: '../shared/data/amazon-phone-electronics/raw' } } });
const out = '/tmp/migrec-data/phone-electronics';
mkdirSync(out, { recursive: true });
const domains = [
  ['phone', 'phone_electronic'],
  ['electronic', 'electronic_phone'],
] as const;
const rows = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));
const rng = new Rng(Number(values.seed));
let all = 'user,item,domain\n';
let warmTrain = all;
let warmValid = all;
let warmTest = all;
for (const [name, folder] of domains) {
  const train = rows(`${values.raw}/${folder}/train.txt`);
  const byUser = new Map<string, number[]>();
  train.forEach(([u], i) => byUser.set(u, [...(byUser.get(u) ?? []), i]));
  const held = new Set<number>();
  for (const [, idx] of byUser) if (idx.length >= 2) held.add(idx[rng.int(idx.length)]);
  train.forEach(([u, i], r) => {
    const line = `u${u},${name}:i${i},${name}\n`;
    all += line;
    if (held.has(r)) warmValid += line;
    else warmTrain += line;
  });
  for (const [u, i] of rows(`${values.raw}/${folder}/test.txt`)) warmTest += `u${u},${name}:i${i},${name}\n`;
}
writeFileSync(`${out}/all.csv`, all);
writeFileSync(`${out}/warm-train.csv`, warmTrain);
writeFileSync(`${out}/warm-valid.csv`, warmValid);
writeFileSync(`${out}/warm-test.csv`, warmTest);
console.log(`wrote ${out}/{all,warm-train,warm-valid,warm-test}.csv`);
