import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError, StorageError } from '../src/errors.js';
import { crc32, crc32Table, decodeModelFile, encodeModelFile, packStrings, readModelFile, unpackStrings, writeModelFile } from '../src/io/modelfile.js';
import { Rng } from '../src/random.js';
import { readChecked } from '../src/io/read-checked.js';
import { open } from 'node:fs/promises';

const dir = mkdtempSync(join(tmpdir(), 'migrec-mf-'));
const ids = packStrings(['a', 'ü,x', '', 'i10']);
const content = {
  model: 'itemknn',
  meta: { k: 50, options: { shrink: 0 } },
  sections: {
    indptr: Uint32Array.of(0, 2, 3),
    data: Float32Array.of(0.5, 1, Math.PI),
    flags: Uint8Array.of(1, 2, 3),
    idOffsets: ids.offsets,
    idBytes: ids.bytes,
  },
};

describe('model file', () => {
  it('round-trips every section exactly', async () => {
    const p = join(dir, 'm.migrec');
    await writeModelFile(p, content);
    const back = await readModelFile(p, 'itemknn');
    expect(back.model).toBe('itemknn');
    expect(back.meta).toEqual(content.meta);
    for (const [name, arr] of Object.entries(content.sections)) expect(Array.from(back.sections[name] as ArrayLike<number>)).toEqual(Array.from(arr));
    expect(unpackStrings(back.sections.idOffsets as Uint32Array, back.sections.idBytes as Uint8Array, p)).toEqual(['a', 'ü,x', '', 'i10']);
  });

  it('CRC-32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32Table(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    // The native and the table-driven CRC agree on random bytes of any length.
    let x = 12345;
    // Lengths of a few MiB as well as short ones.
    for (const n of [0, 1, 7, 4096, 100_003, (1 << 20) + 5, 3 << 20]) {
      const b = Uint8Array.from({ length: n }, () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
      expect(crc32(b)).toBe(crc32Table(b));
    }
  });

  it('every truncation and 300 random bit flips give ModelFormatError', () => {
    const bytes = encodeModelFile(content);
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeModelFile(bytes.subarray(0, n), 'm')).toThrow(ModelFormatError);
    }
    const rng = new Rng(9);
    for (let t = 0; t < 300; t++) {
      const b = bytes.slice();
      const pos = rng.int(b.length);
      b[pos] ^= 1 << rng.int(8);
      expect(() => decodeModelFile(b, 'm')).toThrow(ModelFormatError);
    }
  });

  it('exact messages: wrong type, newer version, not a model file, checksum', () => {
    const bytes = encodeModelFile(content);
    expect(() => decodeModelFile(bytes, 'm.migrec', 'userknn')).toThrow('m.migrec: holds a itemknn model, not userknn');
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint32(8, 2, true);
    new DataView(newer.buffer).setUint32(newer.length - 4, crc32(newer.subarray(0, newer.length - 4)), true);
    expect(() => decodeModelFile(newer, 'm.migrec')).toThrow('m.migrec: format version 2 is newer than this migrec reads (1); upgrade migrec');
    expect(() => decodeModelFile(new TextEncoder().encode('user,item\nu1,i1\nu2,i2\n'), 'x.csv')).toThrow('x.csv: not a migrec model file (bad magic bytes)');
    const flipped = bytes.slice();
    flipped[40] ^= 4;
    expect(() => decodeModelFile(flipped, 'm.migrec')).toThrow('m.migrec: checksum mismatch (the file is truncated or corrupted)');
  });

  it('unwritable or unreadable paths give StorageError, and a failed save keeps the old file', async () => {
    await expect(writeModelFile(join(dir, 'no/such/dir/m.migrec'), content)).rejects.toThrow(
      `cannot write model file ${join(dir, 'no/such/dir/m.migrec')}: the directory does not exist`,
    );
    await expect(readModelFile(join(dir, 'absent.migrec'))).rejects.toThrow(`cannot read model file ${join(dir, 'absent.migrec')}: no such file`);
    // Saving over a directory fails at the rename: the directory and its files stay, no temporary file is left.
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, 'x'), 'keep');
    await expect(writeModelFile(sub, content)).rejects.toThrow(StorageError);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(sub)).toEqual(['x']);
  });
});

describe('loadModel on damaged files of a real model', () => {
  it('truncations and bit flips of a fitted item-kNN file always give ModelFormatError', async () => {
    const { ItemKnn, loadModel } = await import('../src/index.js');
    const { checkerboard } = await import('./helpers/fixtures.js');
    const m = new ItemKnn({ neighbors: 10 });
    await m.fit(checkerboard().data);
    const p = join(dir, 'real.migrec');
    await m.save(p);
    const good = readFileSync(p);
    expect((await loadModel(p)).recommend('u3', { k: 1 }).items).toEqual(['i3']);
    const rng = new Rng(11);
    const bad = join(dir, 'bad.migrec');
    for (let t = 0; t < 120; t++) {
      const b = Buffer.from(good);
      if (t % 3 === 0) writeFileSync(bad, b.subarray(0, rng.int(b.length)));
      else {
        b[rng.int(b.length)] ^= 1 << rng.int(8);
        writeFileSync(bad, b);
      }
      await expect(loadModel(bad)).rejects.toThrow(ModelFormatError);
    }
  });
});

describe('model file: checked read', () => {
  const rng = new Rng(6);
  const bytes = Uint8Array.from({ length: 9 * (1 << 20) + 13 }, () => rng.int(256));
  const p = join(dir, 'pieces.bin');
  writeFileSync(p, bytes);

  it('reads a file of several pieces and gives the CRC of the asked prefix', async () => {
    for (const [from, crcEnd] of [[0, bytes.length], [16, bytes.length - 4], [16, 5 << 20], [3, 10]]) {
      const buf = new Uint8Array(bytes.length);
      buf.set(bytes.subarray(0, from));
      const h = await open(p, 'r');
      try {
        const r = await readChecked(h, buf, from, crcEnd, p);
        expect(r.filled).toBe(bytes.length);
        expect(r.crc).toBe(crc32Table(bytes.subarray(0, crcEnd)));
        expect(Buffer.compare(buf, bytes)).toBe(0);
      } finally {
        await h.close();
      }
    }
  });

  it('says where a file that is shorter than expected ends, with no CRC', async () => {
    for (const extra of [1, 5 << 20]) {
      const buf = new Uint8Array(bytes.length + extra);
      const h = await open(p, 'r');
      try {
        const r = await readChecked(h, buf, 0, buf.length - 4, p);
        expect(r).toEqual({ filled: bytes.length, crc: undefined });
        expect(Buffer.compare(buf.subarray(0, bytes.length), bytes)).toBe(0);
      } finally {
        await h.close();
      }
    }
  });

  it('refuses a large model file with one flipped byte in its middle', async () => {
    const big = { model: 'itemknn', meta: {}, sections: { data: Float32Array.from({ length: 3 << 20 }, (_, i) => i) } };
    const good = join(dir, 'big.migrec');
    await writeModelFile(good, big);
    expect((await readModelFile(good)).sections.data.length).toBe(3 << 20);
    const b = readFileSync(good);
    b[b.length >> 1] ^= 0x10;
    const bad = join(dir, 'big-bad.migrec');
    writeFileSync(bad, b);
    await expect(readModelFile(bad)).rejects.toThrow(/checksum mismatch/);
  });
});

describe('model file: streamed save', () => {
  it('CRC-32 continues across pieces, native and table-driven alike', () => {
    const rng = new Rng(5);
    const a = Uint8Array.from({ length: 1000 }, () => rng.int(256));
    const b = Uint8Array.from({ length: 777 }, () => rng.int(256));
    const ab = new Uint8Array(1777);
    ab.set(a);
    ab.set(b, 1000);
    expect(crc32(b, crc32(a))).toBe(crc32(ab));
    expect(crc32Table(b, crc32Table(a))).toBe(crc32Table(ab));
    expect(crc32(new Uint8Array(0), 12345)).toBe(12345);
  });

  it('writes the bytes encodeModelFile makes, for a file larger than its write buffer, sections in shared memory too', async () => {
    const rng = new Rng(6);
    const shared = new Float32Array(new SharedArrayBuffer(4 * 3_000_001));
    for (let i = 0; i < shared.length; i++) shared[i] = rng.next();
    const odd = Uint8Array.from({ length: 13 }, (_, i) => i);
    const big = { model: 'mf', meta: { note: 'big' }, sections: { odd, shared, tail: Float64Array.of(1.5, -2) } };
    const p = join(dir, 'big.migrec');
    await writeModelFile(p, big);
    const bytes = new Uint8Array(readFileSync(p));
    expect(bytes.length).toBeGreaterThan(8 * 1024 * 1024);
    expect(Buffer.from(bytes).equals(Buffer.from(encodeModelFile(big)))).toBe(true);
    const back = await readModelFile(p, 'mf');
    expect(Buffer.from((back.sections.shared as Float32Array).buffer, (back.sections.shared as Float32Array).byteOffset, 4 * shared.length).equals(Buffer.from(new Uint8Array(shared.buffer)))).toBe(true);
    expect(Array.from(back.sections.tail)).toEqual([1.5, -2]);
  });

  it('runs the check on the sections themselves, and fails the save when the check changes one', async () => {
    const p = join(dir, 'changed.migrec');
    const sections = { data: Float32Array.of(1, 2, 3) };
    let seen: unknown;
    await writeModelFile(p, { model: 'x', meta: { a: [1, { b: 'ü' }] }, sections }, { verify: (d) => void (seen = d) });
    const d = seen as { meta: unknown; sections: Record<string, unknown> };
    expect(d.meta).toEqual({ a: [1, { b: 'ü' }] });
    expect(d.sections.data).toBe(sections.data);
    const before = readFileSync(p);
    await expect(writeModelFile(p, { model: 'x', meta: {}, sections }, { verify: (x) => void ((x.sections.data as Float32Array)[0] = 9) })).rejects.toThrow(/changed while it was being saved/);
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses an array that is no section type before anything is written', async () => {
    const p = join(dir, 'int16.migrec');
    await expect(writeModelFile(p, { model: 'x', meta: {}, sections: { bad: Int16Array.of(1) as unknown as Uint16Array } })).rejects.toThrow(TypeError);
    expect(readdirSync(dir).includes('int16.migrec')).toBe(false);
  });
});
