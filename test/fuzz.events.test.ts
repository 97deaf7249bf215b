/**
 * Issue 15 acceptance fuzz (seeded, bounded in time): event files in CSV, TSV and JSON Lines built
 * from valid rows, then mutated at the byte level (random bytes, truncated lines, quotes, huge
 * numbers, NaN/Infinity, empty fields, control characters, invalid UTF-8, very long fields), go
 * through `loadEvents` and `Dataset.fromEvents`. Every case either loads, and then every weight of
 * every matrix is finite and > 0 and distinct ids in the input stay distinct, or throws a
 * `DataError`: never another error class, never a hang.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, Dataset, loadEvents, Rng, type LoadOptions } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'migrec-fuzz-events-'));
type Format = 'csv' | 'tsv' | 'jsonl';
const DOMAINS = ['books', 'music', '__proto__', 'constructor'];
const BEHAVIORS = ['pv', 'fav', 'cart', 'buy', ''];

/** A valid id: plain, with digits, non-ASCII, or a name from Object.prototype. */
function id(rng: Rng, prefix: string): string {
  const n = rng.int(40);
  switch (rng.int(6)) {
    case 0:
      return `${prefix}${n}`;
    case 1:
      return `${prefix}-${n}-é`;
    case 2:
      return `${prefix}𝄞${n}`;
    case 3:
      return ['toString', 'hasOwnProperty', '__proto__', 'constructor'][rng.int(4)] + (rng.int(2) ? '' : String(n));
    default:
      return `${prefix}${n}x`;
  }
}

function validText(rng: Rng, format: Format, rows: number): string {
  const lines: string[] = [];
  const delim = format === 'tsv' ? '\t' : ',';
  if (format !== 'jsonl') lines.push(['user', 'item', 'domain', 'behavior', 'timestamp', 'weight'].join(delim));
  for (let r = 0; r < rows; r++) {
    const user = id(rng, 'u');
    const item = id(rng, 'i');
    const domain = DOMAINS[rng.int(DOMAINS.length)];
    const behavior = BEHAVIORS[rng.int(BEHAVIORS.length)];
    const ts = 1_500_000_000 + rng.int(10_000_000);
    const weight = rng.int(3) === 0 ? '' : String(1 + rng.int(5));
    if (format === 'jsonl') {
      const o: Record<string, unknown> = { user, item, domain, timestamp: ts };
      if (behavior !== '') o.behavior = behavior;
      if (weight !== '') o.weight = Number(weight);
      if (rng.int(4) === 0) o.item = rng.int(1000); // a numeric id
      lines.push(JSON.stringify(o));
    } else {
      const q = (s: string) => (rng.int(5) === 0 ? `"${s}"` : s);
      lines.push([q(user), q(item), domain, behavior, String(ts), weight].join(delim));
    }
  }
  return lines.join('\n') + '\n';
}

const TOKENS = [
  '"', '""', ',', '\t', '\n', '\r\n', '', '{', '}', ':', 'NaN', 'Infinity', '-Infinity', '1e39', '1e400', '1e-50', '-1', '0',
  '9007199254740993', '1e21', '\u0000', '\u001b[31m', '\u009b', '\u007f', '\ufeff', 'null', '[]', 'true', '\\', '\\u0000',
];

/** Byte-level mutations of a valid file. */
function mutate(rng: Rng, text: string): Buffer {
  let b = Buffer.from(text);
  const ops = 1 + rng.int(4);
  for (let o = 0; o < ops; o++) {
    const at = rng.int(b.length + 1);
    const ins = (x: Buffer) => {
      b = Buffer.concat([b.subarray(0, at), x, b.subarray(at)]);
    };
    switch (rng.int(9)) {
      case 0: // random bytes (often invalid UTF-8)
        ins(Buffer.from(Array.from({ length: 1 + rng.int(6) }, () => rng.int(256))));
        break;
      case 1: // invalid UTF-8 sequences: lone continuation, truncated lead, overlong, surrogate
        ins(Buffer.from([[0x80], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff]][rng.int(7)]));
        break;
      case 2: // truncate the file
        b = b.subarray(0, at);
        break;
      case 3: // delete a span
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(12)))]);
        break;
      case 4: // a token: quotes, numbers, NaN/Infinity, control characters, JSON syntax
        ins(Buffer.from(TOKENS[rng.int(TOKENS.length)]));
        break;
      case 5: {
        // replace a field (between separators) by a token or nothing
        const s = b.toString('latin1');
        const sep = s.indexOf(rng.int(2) ? ',' : '\t', at);
        if (sep > 0) {
          const end = s.slice(sep + 1).search(/[,\t\n]/);
          const stop = end < 0 ? b.length : sep + 1 + end;
          b = Buffer.concat([b.subarray(0, sep + 1), Buffer.from(rng.int(3) ? TOKENS[rng.int(TOKENS.length)] : ''), b.subarray(stop)]);
        }
        break;
      }
      case 6: // a long field; now and then longer than the 1 MiB line limit
        ins(Buffer.from('w'.repeat(rng.int(8) === 0 ? (1 << 20) + rng.int(200_000) : 1 + rng.int(50_000))));
        break;
      case 7: // a control character
        ins(Buffer.from([rng.int(32)]));
        break;
      default: {
        // duplicate a line (duplicates then sum)
        const lines = b.toString('latin1').split('\n');
        b = Buffer.concat([b, Buffer.from(lines[rng.int(lines.length)], 'latin1'), Buffer.from('\n')]);
      }
    }
  }
  return b;
}

/** Load one file and check the contract; returns 'loaded' or 'error'. */
async function runCase(path: string, bytes: Buffer, format: Format, options: LoadOptions): Promise<'loaded' | 'error'> {
  let ds: Dataset;
  try {
    const events = await loadEvents(path, { format, ...options });
    ds = Dataset.fromEvents(events);
    for (let d = 0; d < ds.nDomains; d++) ds.matrix(d);
  } catch (e) {
    if (!(e instanceof DataError)) throw new Error(`${path}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    expect(e.message.startsWith(path.split('/').pop()!)).toBe(true);
    expect(e.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/); // no raw control characters
    expect(e.message.length).toBeLessThan(1000); // excerpts, never the input
    return 'error';
  }
  const ev = ds.events;
  for (let r = 0; r < ev.length; r++) {
    if (!(Number.isFinite(ev.weight[r]) && ev.weight[r] > 0)) throw new Error(`${path}: row ${r} weight ${ev.weight[r]}`);
  }
  for (let d = 0; d < ds.nDomains; d++) {
    const m = ds.matrix(d);
    for (let q = 0; q < m.data.length; q++) {
      if (!(Number.isFinite(m.data[q]) && m.data[q] > 0)) throw new Error(`${path}: domain ${d} entry ${q} weight ${m.data[q]}`);
    }
  }
  // Distinct ids stay distinct: every id read is text that is in the file (a U+FFFD from decoding,
  // or a rounded big number, would not be), so two different input ids cannot have merged into one.
  const latin = bytes.toString('latin1');
  const present = (s: string): boolean => latin.includes(Buffer.from(s).toString('latin1'));
  const ids = [...ev.vocab.users.list(), ...Array.from({ length: ds.nDomains }, (_, d) => ev.vocab.items(d).list()).flat(), ...ev.vocab.domains.list()];
  for (const s of ids) {
    if (s.includes('"') || s.includes('\\') || s === 'default') continue; // quoting/escapes change the bytes
    if (!present(s)) throw new Error(`${path}: id ${JSON.stringify(s)} is not in the input`);
  }
  return 'loaded';
}

describe('fuzz: mutated event files load or fail with a DataError', () => {
  it('CSV, TSV and JSON Lines, 1500 seeded cases, under 20 s', async () => {
    const rng = new Rng(15_2026);
    const t0 = performance.now();
    const outcomes = { loaded: 0, error: 0 };
    const formats: Format[] = ['csv', 'tsv', 'jsonl'];
    for (let c = 0; c < 1500; c++) {
      const format = formats[c % 3];
      const bytes = c % 10 === 0 ? Buffer.from(validText(rng, format, 3 + rng.int(30))) : mutate(rng, validText(rng, format, 3 + rng.int(30)));
      const path = join(dir, `case${c}.${format === 'jsonl' ? 'jsonl' : format}`);
      writeFileSync(path, bytes);
      const options: LoadOptions = c % 4 === 1 ? { halfLifeDays: 1 + rng.int(30) } : c % 4 === 2 ? { skipInvalid: true } : {};
      const caseStart = performance.now();
      outcomes[await runCase(path, bytes, format, options)]++;
      expect(performance.now() - caseStart, `case ${c} took too long`).toBeLessThan(5_000);
      if (performance.now() - t0 > 18_000) break; // bounded even on a loaded machine
    }
    console.log(`fuzz.events: ${JSON.stringify(outcomes)} in ${Math.round(performance.now() - t0)} ms`);
    // Both outcomes occur: the fuzz is neither all-valid nor all-rejected.
    expect(outcomes.loaded).toBeGreaterThan(20);
    expect(outcomes.error).toBeGreaterThan(20);
    expect(performance.now() - t0).toBeLessThan(20_000);
  }, 30_000);

  it('valid files (no mutation) always load, with every id kept distinct', async () => {
    const rng = new Rng(7);
    for (let c = 0; c < 30; c++) {
      const format = (['csv', 'tsv', 'jsonl'] as const)[c % 3];
      const text = validText(rng, format, 50);
      const path = join(dir, `valid${c}.${format}`);
      writeFileSync(path, text);
      expect(await runCase(path, Buffer.from(text), format, { halfLifeDays: 30 })).toBe('loaded');
    }
  });
});
