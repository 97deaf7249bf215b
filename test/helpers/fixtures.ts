import { Dataset, parseEvents, type EventTable } from '../../src/index.js';

/**
 * Checkerboard: 40 users in two groups (even / odd user number) and 40 items. A user likes the
 * items of its own parity, except its "diagonal" item (item number = user number), which is held
 * out. Item-item and user-user similarities exist only within a parity, so the held-out item is
 * the only unseen item with a positive kNN score: it must be every user's top-1.
 */
export function checkerboard(): { data: Dataset; events: EventTable; heldOut: (u: number) => string } {
  let text = 'user,item\n';
  for (let u = 0; u < 40; u++) {
    for (let i = u % 2; i < 40; i += 2) if (i !== u) text += `u${u},i${i}\n`;
  }
  const events = parseEvents(text, { label: 'checkerboard.csv', domain: 'shop' });
  return { data: Dataset.fromEvents(events), events, heldOut: (u) => `i${u}` };
}

/**
 * Two domains, `src` and `tgt`. Group A (users a0..a11) likes even source items and the target
 * items t0 (everyone), t2 (two thirds) and t4 (a third); group B (b0..b19, the larger group) likes
 * odd source items and t1 (everyone), t3, t5. Globally t1 is the most popular target item, but a
 * group-A user who is cold in the target (only source rows: `cold-a`) should get t0 from any model
 * that bridges through the source domain; `cold-b` should get t1.
 */
export function twoDomains(): { data: Dataset; events: EventTable } {
  const events = parseEvents(twoDomainCsv(), { label: 'two-domains.csv' });
  return { data: Dataset.fromEvents(events), events };
}

/** The log of {@link twoDomains} as CSV text (user,item,domain). */
export function twoDomainCsv(): string {
  let text = 'user,item,domain\n';
  const add = (u: string, i: string, d: string) => (text += `${u},${i},${d}\n`);
  for (let a = 0; a < 12; a++) {
    for (let s = 0; s < 10; s += 2) if ((s + a) % 3 !== 0) add(`a${a}`, `s${s}`, 'src');
    add(`a${a}`, 't0', 'tgt');
    if (a % 3 !== 0) add(`a${a}`, 't2', 'tgt');
    if (a % 3 === 0) add(`a${a}`, 't4', 'tgt');
  }
  for (let b = 0; b < 20; b++) {
    for (let s = 1; s < 10; s += 2) if ((s + b) % 4 !== 0) add(`b${b}`, `s${s}`, 'src');
    add(`b${b}`, 't1', 'tgt');
    if (b % 2 === 0) add(`b${b}`, 't3', 'tgt');
    if (b % 2 === 1) add(`b${b}`, 't5', 'tgt');
  }
  for (const s of [0, 2, 4, 6]) add('cold-a', `s${s}`, 'src');
  for (const s of [1, 3, 5, 7]) add('cold-b', `s${s}`, 'src');
  return text;
}
