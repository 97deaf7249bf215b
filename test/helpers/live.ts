import { Rng, type EventTable, type Recommender } from '../../src/index.js';

/** Rows of a table as CSV text (user, item, domain, weight), ids as strings. */
export function tableCsv(t: EventTable, rows: ArrayLike<number>): string {
  const v = t.vocab;
  let s = 'user,item,domain,weight\n';
  for (let q = 0; q < rows.length; q++) {
    const r = rows[q];
    s += `${v.users.id(t.user[r])},${v.items(t.domain[r]).id(t.item[r])},${v.domains.id(t.domain[r])},${t.weight[r]}\n`;
  }
  return s;
}

/** A seeded split of row indices: `fraction` of them held out. */
export function splitRows(n: number, fraction: number, seed: number): { keep: number[]; held: number[] } {
  const rng = new Rng(seed);
  const keep: number[] = [];
  const held: number[] = [];
  for (let r = 0; r < n; r++) (rng.next() < fraction ? held : keep).push(r);
  return { keep, held };
}

/**
 * Top-k lists of two models for the same users in one domain, compared item for item and score for
 * score: the number of users whose lists differ, and the first such user.
 */
export async function compareLists(a: Recommender, b: Recommender, users: readonly string[], domain: string, k = 10): Promise<{ users: number; differ: number; first?: string }> {
  const la = await a.recommendBatch(users, { k, domain });
  const lb = await b.recommendBatch(users, { k, domain });
  let differ = 0;
  let first: string | undefined;
  for (let i = 0; i < users.length; i++) {
    const x = la.get(i);
    const y = lb.get(i);
    const same = x.items.length === y.items.length && x.items.every((it, t) => it === y.items[t] && x.scores[t] === y.scores[t]);
    if (!same) {
      differ++;
      first ??= `${users[i]}: ${x.items.join(' ')} [${Array.from(x.scores).join(' ')}] vs ${y.items.join(' ')} [${Array.from(y.scores).join(' ')}]`;
    }
  }
  return { users: users.length, differ, first };
}
