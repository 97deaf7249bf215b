/**
 * MovieLens 100K with genres standing for scenes: writes /tmp/migrec-data/movielens-scenes.csv
 * (`user,item,scene,rating,timestamp`; never into the repository). A movie belongs to scene
 * `comedy` (Comedy), `action` (Action, Adventure, Sci-Fi, Thriller) or `drama` (Drama, Romance)
 * when it has genres of exactly one of those groups; other movies are left out.
 * Usage: npx tsx bench/prep-movielens-scenes.ts [--data ../shared/data/movielens-100k]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { data: { type: 'string', default: '../shared/data/movielens-100k' } } });
// u.genre order: unknown, Action, Adventure, Animation, Children's, Comedy, Crime, Documentary, Drama,
// Fantasy, Film-Noir, Horror, Musical, Mystery, Romance, Sci-Fi, Thriller, War, Western.
const groups: Record<string, number[]> = { comedy: [5], action: [1, 2, 15, 16], drama: [8, 14] };
const scene = new Map<string, string>();
for (const line of readFileSync(`${values.data}/u.item`, 'latin1').split('\n')) {
  const f = line.split('|');
  if (f.length < 24) continue;
  const flags = f.slice(5, 24).map(Number);
  const hit = Object.entries(groups).filter(([, gs]) => gs.some((g) => flags[g] === 1)).map(([name]) => name);
  if (hit.length === 1) scene.set(f[0], hit[0]);
}
let out = 'user,item,scene,rating,timestamp\n';
let n = 0;
for (const line of readFileSync(`${values.data}/u.data`, 'utf8').split('\n')) {
  const [u, i, r, t] = line.split('\t');
  const s = scene.get(i);
  if (!s) continue;
  out += `${u},${i},${s},${r},${t}\n`;
  n++;
}
mkdirSync('/tmp/migrec-data', { recursive: true });
writeFileSync('/tmp/migrec-data/movielens-scenes.csv', out);
console.log(`wrote /tmp/migrec-data/movielens-scenes.csv (${n} ratings)`);
