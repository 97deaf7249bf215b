import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError, StorageError } from '../src/errors.js';
import { crc32, crc32Table, decodeModelFile, encodeModelFile, packStrings, readModelFile, unpackStrings, writeModelFile } from '../src/io/modelfile.js';
import { Rng } from '../src/random.js';

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
    for (const n of [0, 1, 7, 4096, 100_003]) {
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
