/**
 * Model files under attack (issue 15): saves that load would refuse, symlinks at temporary names,
 * targets and model paths that are not regular files, hand-crafted files with a recomputed CRC,
 * and temporary files a killed save left behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, promises as fsp, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Bridge, ItemKnn, loadModel, ModelFitError, ModelFormatError, Popularity, StorageError } from '../src/index.js';
import { MAGIC, packStrings, readModelFile, unpackStrings, writeModelFile, type ModelFileContent } from '../src/io/modelfile.js';
import { checkerboard, twoDomains } from './helpers/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'migrec-rel-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let serial = 0;
function freshDir(): string {
  const d = join(root, `d${++serial}`);
  mkdirSync(d);
  return d;
}

async function fittedItemKnn(): Promise<ItemKnn> {
  const m = new ItemKnn({ neighbors: 10 });
  await m.fit(checkerboard().data);
  return m;
}

/** A pid that is not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid as number;
}

describe('defect 2: save() never writes what load() would refuse', () => {
  it('a weight that is Infinity in float32 makes save throw ModelFitError and leaves the old file byte-identical', async () => {
    const dir = freshDir();
    const p = join(dir, 'm.migrec');
    const m = await fittedItemKnn();
    await m.save(p);
    const good = readFileSync(p);
    // 1e39 does not fit in float32: the stored weight becomes Infinity, which load refuses.
    (m as any).state.data.matrices[0].data[0] = 1e39;
    const err = await m.save(p).then(
      () => undefined,
      (e: unknown) => e,
    );
    console.log('defect 2 (Infinity weight): save gave', err === undefined ? 'success (file replaced)' : `${(err as Error).name}: ${(err as Error).message}`);
    expect(err).toBeInstanceOf(ModelFitError);
    expect((err as Error).message).toMatch(/not storable.*non-finite value Infinity/);
    expect(readFileSync(p).equals(good)).toBe(true);
    expect(readdirSync(dir)).toEqual(['m.migrec']);
    expect((await loadModel(p)).recommend('u3', { k: 1 }).items).toEqual(['i3']);
  });

  it('a scorer state that restore() refuses makes save throw ModelFitError and writes nothing', async () => {
    const dir = freshDir();
    const p = join(dir, 'pop.migrec');
    const m = new Popularity();
    await m.fit(checkerboard().data);
    await m.save(p);
    const good = readFileSync(p);
    (m as any).state.scorer.pop[0] = new Float32Array(1); // wrong size for the domain's items
    const err = await m.save(p).then(
      () => undefined,
      (e: unknown) => e,
    );
    console.log('defect 2 (unrestorable state): save gave', err === undefined ? 'success (file replaced)' : `${(err as Error).name}: ${(err as Error).message}`);
    expect(err).toBeInstanceOf(ModelFitError);
    expect((err as Error).message).toMatch(/popularity of domain 0 is missing or has the wrong size/);
    expect(readFileSync(p).equals(good)).toBe(true);
    expect(readdirSync(dir)).toEqual(['pop.migrec']);
  });
});

describe('defect 4: temporary names and targets that are not regular files', () => {
  it('symlinks planted at the old predictable temporary names are never followed', async () => {
    const dir = freshDir();
    const victimDir = freshDir();
    const victim = join(victimDir, 'victim.txt');
    writeFileSync(victim, 'victim');
    const p = join(dir, 'm.migrec');
    for (let n = 0; n <= 300; n++) symlinkSync(victim, join(dir, `.m.migrec.${process.pid}.${n}.tmp`));
    const m = await fittedItemKnn();
    for (let t = 0; t < 3; t++) await m.save(p);
    const content = readFileSync(victim, 'utf8');
    console.log('defect 4 (planted symlinks): victim now', JSON.stringify(content.slice(0, 8)), 'target is', lstatSync(p).isSymbolicLink() ? 'a symlink' : 'a regular file');
    expect(content).toBe('victim');
    expect(lstatSync(p).isFile()).toBe(true);
    for (let n = 0; n <= 300; n++) expect(readlinkSync(join(dir, `.m.migrec.${process.pid}.${n}.tmp`))).toBe(victim);
    expect((await loadModel(p)).recommend('u3', { k: 1 }).items).toEqual(['i3']);
  });

  it('saving to a directory, a FIFO or a symlink to /dev/null gives StorageError and touches nothing', async () => {
    const dir = freshDir();
    const m = await fittedItemKnn();
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, 'x'), 'keep');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const link = join(dir, 'null.migrec');
    symlinkSync('/dev/null', link);
    const cases = [
      [sub, /it is a directory, not a regular file/],
      [fifo, /it is a FIFO \(named pipe\), not a regular file/],
      [link, /it is a symbolic link to a character device, not a regular file/],
    ] as const;
    const errors: unknown[] = [];
    for (const [target] of cases) errors.push(await m.save(target).then(() => undefined, (e: unknown) => e));
    const outcomes = cases.map(([target], q) => `${target.slice(dir.length + 1)}: ${errors[q] === undefined ? 'saved' : `${(errors[q] as Error).name}: ${(errors[q] as Error).message}`}`);
    console.log('defect 4 (non-regular targets):', outcomes.join(' | '), '| now:', readdirSync(dir).sort().join(','), lstatSync(fifo).isFIFO() ? 'fifo still a FIFO' : 'fifo replaced', lstatSync(link).isSymbolicLink() ? 'link still a link' : 'link replaced');
    cases.forEach(([target, kind], q) => {
      expect(errors[q]).toBeInstanceOf(StorageError);
      expect((errors[q] as Error).message).toContain(target);
      expect((errors[q] as Error).message).toMatch(kind);
    });
    expect(readdirSync(sub)).toEqual(['x']);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readlinkSync(link)).toBe('/dev/null');
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['fifo', 'null.migrec', 'sub']);
  });
});

describe('defect 5: model paths that are not regular files, and a huge declared manifest', () => {
  it('/dev/zero, a FIFO and a directory are refused with StorageError naming them, at once', { timeout: 5000 }, async () => {
    const dir = freshDir();
    const fifo = join(dir, 'model.fifo');
    execFileSync('mkfifo', [fifo]);
    const cases = [
      [dir, /it is a directory, not a regular file/],
      [fifo, /it is a FIFO \(named pipe\), not a regular file/],
      ['/dev/zero', /cannot read model file \/dev\/zero: it is a character device, not a regular file/],
    ] as const;
    const errors: unknown[] = [];
    const outcomes: string[] = [];
    for (const [p] of cases) {
      const t0 = performance.now();
      // Bounded: before the fix a FIFO blocked forever and /dev/zero was read until memory ran out.
      const err = await Promise.race([readModelFile(p).then(() => undefined, (e: unknown) => e), new Promise((r) => setTimeout(() => r(new Error('still reading after 1 s')), 1000))]);
      errors.push(err);
      outcomes.push(`${p}: ${err === undefined ? 'read' : `${(err as Error).name}: ${(err as Error).message}`} (${Math.round(performance.now() - t0)} ms)`);
    }
    console.log('defect 5 (non-regular model files):', outcomes.join(' | '));
    for (const [q, [p, kind]] of cases.entries()) {
      expect(errors[q]).toBeInstanceOf(StorageError);
      expect((errors[q] as Error).message).toContain(p);
      expect((errors[q] as Error).message).toMatch(kind);
      await expect(loadModel(p)).rejects.toThrow(StorageError);
    }
  });

  it('a header declaring a manifest over 64 MiB is a ModelFormatError before anything else is read', async () => {
    const dir = freshDir();
    const p = join(dir, 'huge.migrec');
    // The header field is a u32, so 2^32 - 1 is the largest length a file can declare (2^40 cannot be written).
    const head = new Uint8Array(64);
    head.set(MAGIC, 0);
    new DataView(head.buffer).setUint32(8, 1, true);
    new DataView(head.buffer).setUint32(12, 0xffffffff, true);
    writeFileSync(p, head);
    const err = await readModelFile(p).then(
      () => undefined,
      (e: unknown) => e,
    );
    console.log('defect 5 (huge manifest):', err === undefined ? 'read' : `${(err as Error).name}: ${(err as Error).message}`);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect((err as Error).message).toBe(`${p}: the header declares a manifest of 4294967295 bytes, over the maximum of 67108864 (the file is corrupted)`);
  });
});

describe('defect 8: hand-crafted files with a recomputed CRC', () => {
  async function bridgeFile(): Promise<{ dir: string; content: ModelFileContent }> {
    const dir = freshDir();
    const m = new Bridge();
    await m.fit(twoDomains().data);
    const p = join(dir, 'bridge.migrec');
    await m.save(p);
    return { dir, content: await readModelFile(p) };
  }

  async function outcome(dir: string, name: string, content: ModelFileContent): Promise<unknown> {
    const p = join(dir, name);
    await writeModelFile(p, content); // recomputes the CRC
    return loadModel(p).then(
      (m) => m,
      (e: unknown) => e,
    );
  }

  const describeOutcome = (r: unknown): string => (r instanceof Error ? `${r.name}: ${r.message}` : 'loaded');

  it('duplicate domain names, duplicate ids and invalid UTF-8 in id tables are ModelFormatErrors naming the section', async () => {
    const { dir, content } = await bridgeFile();
    const meta = content.meta as Record<string, unknown>;
    expect(meta.domains).toEqual(['src', 'tgt']);
    const cases: Array<[string, ModelFileContent, RegExp]> = [];
    cases.push(['duplicate domain', { ...content, meta: { ...meta, domains: ['src', 'src'] } }, /manifest meta\.domains: duplicate domain name "src"/]);
    cases.push(['numeric domain name', { ...content, meta: { ...meta, domains: ['src', 7] } }, /manifest meta\.domains: domain name 7 is not a string/]);
    const items0 = packStrings(['s0', 's0', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9']);
    cases.push([
      'duplicate item id',
      { ...content, sections: { ...content.sections, 'vocab.items.0.offsets': items0.offsets, 'vocab.items.0.bytes': items0.bytes } },
      /section vocab\.items\.0: duplicate id "s0"/,
    ]);
    const users = unpackStrings(content.sections['vocab.users.offsets'] as Uint32Array, content.sections['vocab.users.bytes'] as Uint8Array, 'x');
    const dupUsers = packStrings([users[1], ...users.slice(1)]);
    cases.push(['duplicate user id', { ...content, sections: { ...content.sections, 'vocab.users.offsets': dupUsers.offsets, 'vocab.users.bytes': dupUsers.bytes } }, /section vocab\.users: duplicate id/]);
    const badUtf8 = (content.sections['vocab.users.bytes'] as Uint8Array).slice();
    badUtf8[0] = 0xff;
    cases.push(['bad UTF-8 in users', { ...content, sections: { ...content.sections, 'vocab.users.bytes': badUtf8 } }, /section vocab\.users: id 0 is not valid UTF-8/]);
    const badItems = (content.sections['vocab.items.1.bytes'] as Uint8Array).slice();
    badItems[1] = 0xc0;
    cases.push(['bad UTF-8 in items', { ...content, sections: { ...content.sections, 'vocab.items.1.bytes': badItems } }, /section vocab\.items\.1: id 0 is not valid UTF-8/]);
    const shortOffsets = (content.sections['vocab.items.1.offsets'] as Uint32Array).slice(0, -1);
    cases.push(['string table that leaves bytes over', { ...content, sections: { ...content.sections, 'vocab.items.1.offsets': shortOffsets } }, /section vocab\.items\.1: string table is inconsistent/]);
    const lines: string[] = [];
    let failures = 0;
    for (const [name, c, message] of cases) {
      const r = await outcome(dir, `${name.replace(/ /g, '-')}.migrec`, c);
      lines.push(`${name}: ${describeOutcome(r)}`);
      if (!(r instanceof ModelFormatError) || !message.test(r.message)) failures++;
    }
    console.log(`defect 8:\n  ${lines.join('\n  ')}`);
    expect(failures, lines.join('\n')).toBe(0);
  });
});

describe('defect 15: temporary files of killed saves', () => {
  it('the temporary file is fsynced before the rename, and the directory after it', async () => {
    const dir = freshDir();
    const p = join(dir, 'm.migrec');
    const m = await fittedItemKnn();
    const events: string[] = [];
    const probe = await fsp.open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const realSync = proto.sync;
    const sync = vi.spyOn(proto, 'sync').mockImplementation(async function (this: { fd: number }) {
      events.push(`sync ${lstatSync(`/proc/self/fd/${this.fd}`).isSymbolicLink() ? readlinkSync(`/proc/self/fd/${this.fd}`).replace(dir, '<dir>') : '?'}`);
      return realSync.call(this);
    });
    const realRename = fsp.rename;
    const rename = vi.spyOn(fsp, 'rename').mockImplementation(async (from, to) => {
      events.push(`rename ${String(from).replace(dir, '<dir>').replace(/\.\d+\.[0-9a-f]{16}\.tmp$/, '.<tmp>')} -> ${String(to).replace(dir, '<dir>')}`);
      return realRename(from, to);
    });
    try {
      await m.save(p);
    } finally {
      sync.mockRestore();
      rename.mockRestore();
    }
    console.log('defect 15 (fsync order):', JSON.stringify(events));
    expect(events.map((e) => e.replace(/\.\d+\.[0-9a-f]{16}\.tmp$/, '.<tmp>'))).toEqual(['sync <dir>/.m.migrec.<tmp>', 'rename <dir>/.m.migrec.<tmp> -> <dir>/m.migrec', 'sync <dir>']);
  });

  it('a stale temporary file of a save to the same target is removed by the next save; a fresh one of a live process is kept', async () => {
    const dir = freshDir();
    const p = join(dir, 'm.migrec');
    const dead = deadPid();
    const hex = (n: number) => n.toString(16).padStart(16, '0');
    const deadOwner = join(dir, `.m.migrec.${dead}.${hex(1)}.tmp`);
    const oldLive = join(dir, `.m.migrec.${process.pid}.${hex(2)}.tmp`);
    const freshLive = join(dir, `.m.migrec.${process.pid}.${hex(3)}.tmp`);
    const otherTarget = join(dir, `.other.migrec.${dead}.${hex(4)}.tmp`);
    for (const f of [deadOwner, oldLive, freshLive, otherTarget]) writeFileSync(f, 'partial');
    const past = new Date(Date.now() - 20 * 60 * 1000);
    utimesSync(oldLive, past, past);
    const victim = join(freshDir(), 'victim');
    writeFileSync(victim, 'victim');
    const linkAtPattern = join(dir, `.m.migrec.${dead}.${hex(5)}.tmp`);
    symlinkSync(victim, linkAtPattern);
    const m = await fittedItemKnn();
    await m.save(p);
    const state = { deadOwner: existsSync(deadOwner), oldLive: existsSync(oldLive), freshLive: existsSync(freshLive), otherTarget: existsSync(otherTarget) };
    console.log('defect 15 (after a save, still there?):', JSON.stringify(state));
    expect(state).toEqual({ deadOwner: false, oldLive: false, freshLive: true, otherTarget: true });
    expect(readFileSync(victim, 'utf8')).toBe('victim');
    expect(lstatSync(linkAtPattern).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') && !f.startsWith('.other') && f !== `.m.migrec.${process.pid}.${hex(3)}.tmp` && f !== `.m.migrec.${dead}.${hex(5)}.tmp`)).toEqual([]);
  });
});
