/**
 * The model file: one file per fitted model.
 *
 * Layout (little-endian):
 *   0   8 bytes  magic "MIGREC\r\n" (the CR LF catches text-mode corruption)
 *   8   u32      format version (FORMAT_VERSION)
 *   12  u32      manifest length M in bytes
 *   16  M bytes  manifest, UTF-8 JSON: { model, meta, sections: [{ name, type, offset, length }] }
 *   ..  padding to a multiple of 8
 *   P   payload: the typed-array sections, each 8-byte aligned, at `offset` from P
 *   end u32      CRC-32 of every byte before it
 *
 * Loading refuses anything but a regular file (a device, FIFO or directory is a `StorageError`
 * before a byte is read), checks the header (magic, version, a manifest of at most
 * MAX_MANIFEST_BYTES) before reading the rest, then the checksum, manifest and every section's
 * bounds before any model is built, so a truncated, corrupted or newer file fails with
 * `ModelFormatError` and never yields a half-built model.
 *
 * Saving refuses a target that exists and is not a regular file, runs the caller's checks on what
 * a load would see (the header, the manifest parsed from its bytes, the sections) before anything
 * is written, streams the file from the sections through one 8 MiB buffer (a model never needs a
 * second copy of itself in memory to be saved) into a temporary file created exclusively under a
 * random name in the target's directory (a planted file or symlink is never followed), fsyncs it,
 * renames it over the target and fsyncs the directory; a failed save never destroys an existing
 * model file. Temporary files a killed save left behind for the same target are removed by the
 * next save to it (src/io/files.ts).
 */
import { crc32 } from './crc32.js';
import { readChecked } from './read-checked.js';
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs, type Stats } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { basename, dirname, join } from 'node:path';
import { ModelFormatError, StorageError } from '../errors.js';
import { checkTarget, inProgress, kindOf, reason, removeStaleTemps, syncDir } from './files.js';

export { STALE_TEMP_MS } from './files.js';

/** The reason a damaged file is refused with. */
const CHECKSUM_MISMATCH = 'checksum mismatch (the file is truncated or corrupted)';

/** Magic bytes at the start of every model file. */
export const MAGIC = Uint8Array.from([0x4d, 0x49, 0x47, 0x52, 0x45, 0x43, 0x0d, 0x0a]);
/** Version of the layout above; files with a higher version are refused. */
export const FORMAT_VERSION = 1;
/** Largest manifest a model file may declare (64 MiB); a larger declared length is refused unread. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** Typed arrays a section may hold. */
export type SectionArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array | Float64Array;
type SectionType = 'u8' | 'u16' | 'u32' | 'i32' | 'f32' | 'f64';

const CTORS: Record<SectionType, { new (buf: ArrayBuffer, off: number, len: number): SectionArray; BYTES_PER_ELEMENT: number }> = {
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f32: Float32Array,
  f64: Float64Array,
};

function typeOf(a: SectionArray): SectionType {
  if (a instanceof Uint8Array) return 'u8';
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Float32Array) return 'f32';
  return 'f64';
}

/** What a model file holds. */
export interface ModelFileContent {
  /** Model type, e.g. `itemknn`; checked on load. */
  model: string;
  /** JSON-serialisable options, sizes and anything else small. */
  meta: Record<string, unknown>;
  /** Named typed arrays. */
  sections: Record<string, SectionArray>;
}

interface SectionEntry {
  name: string;
  type: SectionType;
  offset: number;
  length: number;
}

/** Where everything of a model file goes: the section table, the manifest bytes and the sizes. */
interface FilePlan {
  entries: SectionEntry[];
  manifest: Uint8Array;
  payloadStart: number;
  /** Bytes of the file, the CRC included. */
  total: number;
}

function planFile(content: ModelFileContent): FilePlan {
  const entries: SectionEntry[] = [];
  let offset = 0;
  for (const [name, arr] of Object.entries(content.sections)) {
    const type = typeOf(arr);
    if (type === 'f64' && !(arr instanceof Float64Array)) throw new TypeError(`section ${name}: ${Object.prototype.toString.call(arr)} is not a section type (u8, u16, u32, i32, f32, f64)`);
    entries.push({ name, type, offset, length: arr.length });
    offset = align8(offset + arr.byteLength);
  }
  const manifest = new TextEncoder().encode(JSON.stringify({ model: content.model, meta: content.meta, sections: entries }));
  const payloadStart = align8(16 + manifest.length);
  return { entries, manifest, payloadStart, total: payloadStart + offset + 4 };
}

/** The header: magic, version and manifest length. */
function header(plan: FilePlan): Uint8Array {
  const head = new Uint8Array(16);
  head.set(MAGIC, 0);
  const view = new DataView(head.buffer);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, plan.manifest.length, true);
  return head;
}

/**
 * Every byte of the file before its CRC, in order, as a sequence of pieces: the header, the
 * manifest, zero padding and each section's bytes (views on the sections, not copies).
 */
function* pieces(plan: FilePlan, content: ModelFileContent): Generator<Uint8Array> {
  const zeros = new Uint8Array(8);
  yield header(plan);
  yield plan.manifest;
  yield zeros.subarray(0, plan.payloadStart - 16 - plan.manifest.length);
  for (const e of plan.entries) {
    const arr = content.sections[e.name];
    yield new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    yield zeros.subarray(0, align8(arr.byteLength) - arr.byteLength);
  }
}

/** Encode a model into the file layout (one buffer; `writeModelFile` streams instead). */
export function encodeModelFile(content: ModelFileContent): Uint8Array {
  const plan = planFile(content);
  const out = new Uint8Array(plan.total);
  let at = 0;
  for (const p of pieces(plan, content)) {
    out.set(p, at);
    at += p.length;
  }
  new DataView(out.buffer).setUint32(plan.total - 4, crc32(out.subarray(0, plan.total - 4)), true);
  return out;
}

/** CRC-32 of the file's bytes before the CRC, read from the sections where they are. */
function fileCrc(plan: FilePlan, content: ModelFileContent): number {
  let crc = 0;
  for (const p of pieces(plan, content)) if (p.length > 0) crc = crc32(p, crc);
  return crc;
}

/**
 * Decode and validate a model file's bytes. The section arrays are views on `bytes` (which must not
 * be changed afterwards) wherever the alignment allows.
 * @param expectedModel when given, a file of another model type is refused.
 * @param options.checksum false skips the CRC-32 check (for bytes just encoded here).
 * @throws {ModelFormatError} for anything but an intact file of a known version.
 */
export function decodeModelFile(bytes: Uint8Array, label: string, expectedModel?: string, options: { checksum?: boolean } = {}): ModelFileContent {
  const fail = (why: string): never => {
    throw new ModelFormatError(`${label}: ${why}`);
  };
  const mlen = checkHeader(bytes, bytes.length, label);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = view.getUint32(bytes.length - 4, true);
  if (options.checksum !== false && crc32(bytes.subarray(0, bytes.length - 4)) !== stored) fail(CHECKSUM_MISMATCH);
  let manifest: { model?: unknown; meta?: unknown; sections?: unknown };
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + mlen)));
  } catch {
    return fail('manifest is not valid JSON');
  }
  if (typeof manifest !== 'object' || manifest === null || typeof manifest.model !== 'string' || typeof manifest.meta !== 'object' || manifest.meta === null || Array.isArray(manifest.meta) || !Array.isArray(manifest.sections)) {
    fail('manifest lacks model, meta or sections');
  }
  if (expectedModel !== undefined && manifest.model !== expectedModel) {
    fail(`holds a ${String(manifest.model)} model, not ${expectedModel}`);
  }
  const payloadStart = align8(16 + mlen);
  const payloadEnd = bytes.length - 4;
  // No prototype: a section named "__proto__" or "constructor" is just a name.
  const sections: Record<string, SectionArray> = Object.create(null) as Record<string, SectionArray>;
  const spans: Array<[number, number, string]> = [];
  for (const raw of manifest.sections as SectionEntry[]) {
    const ctor = typeof raw === 'object' && raw !== null && Object.hasOwn(CTORS, raw.type) ? CTORS[raw.type] : undefined;
    if (!ctor || typeof raw.name !== 'string' || !Number.isSafeInteger(raw.offset) || !Number.isSafeInteger(raw.length) || raw.offset < 0 || raw.length < 0) {
      return fail(`section table entry ${String(JSON.stringify(raw)).slice(0, 200)} is invalid`);
    }
    if (Object.hasOwn(sections, raw.name)) fail(`section ${raw.name} appears twice`);
    const start = payloadStart + raw.offset;
    const end = start + raw.length * ctor.BYTES_PER_ELEMENT;
    if (end > payloadEnd || start % 8 !== payloadStart % 8) fail(`section ${raw.name} lies outside the payload`);
    if (end > start) spans.push([start, end, raw.name]);
    // A view on the file's bytes when aligned (no second copy of the model in memory while it
    // loads or while a save is checked), else a copy in a fresh, aligned buffer.
    const at = bytes.byteOffset + start;
    if (at % ctor.BYTES_PER_ELEMENT === 0) sections[raw.name] = new ctor(bytes.buffer as ArrayBuffer, at, raw.length);
    else {
      const copy = new Uint8Array(raw.length * ctor.BYTES_PER_ELEMENT);
      copy.set(bytes.subarray(start, end));
      sections[raw.name] = new ctor(copy.buffer, 0, raw.length);
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let q = 1; q < spans.length; q++) if (spans[q][0] < spans[q - 1][1]) fail(`sections ${spans[q - 1][2]} and ${spans[q][2]} overlap`);
  return { model: manifest.model as string, meta: manifest.meta as Record<string, unknown>, sections };
}

/**
 * Check the first 16 bytes of a file of `size` bytes: magic, version and the declared manifest
 * length (at most MAX_MANIFEST_BYTES, and inside the file). Returns the manifest length.
 * @throws {ModelFormatError}
 */
function checkHeader(head: Uint8Array, size: number, label: string): number {
  const fail = (why: string): never => {
    throw new ModelFormatError(`${label}: ${why}`);
  };
  if (size < 20) fail(`not a migrec model file (${size} bytes, too short)`);
  for (let i = 0; i < MAGIC.length; i++) if (head[i] !== MAGIC[i]) fail('not a migrec model file (bad magic bytes)');
  const view = new DataView(head.buffer, head.byteOffset, 16);
  const version = view.getUint32(8, true);
  if (version > FORMAT_VERSION) fail(`format version ${version} is newer than this migrec reads (${FORMAT_VERSION}); upgrade migrec`);
  if (version === 0) fail('format version 0 is invalid');
  const mlen = view.getUint32(12, true);
  if (mlen > MAX_MANIFEST_BYTES) fail(`the header declares a manifest of ${mlen} bytes, over the maximum of ${MAX_MANIFEST_BYTES} (the file is corrupted)`);
  if (16 + mlen > size - 4) fail('manifest runs past the end of the file');
  return mlen;
}

/** Options of `writeModelFile`. */
export interface WriteOptions {
  /**
   * Checks of the decoded content beyond the file format (e.g. that a model can be restored from
   * it), run before anything is written; when it throws, the save fails with that error and the
   * existing file is left as it was.
   */
  verify?: (decoded: ModelFileContent) => void | Promise<void>;
}

/** Bytes written per call while streaming a model file. */
const WRITE_CHUNK = 8 * 1024 * 1024;

/**
 * Write a model file atomically: verify, exclusive temporary file, fsync, rename, fsync of the
 * directory. The file is streamed from the sections in pieces (no buffer of the whole file), and
 * the check runs on what a load would see: the manifest decoded from its bytes and the sections
 * themselves, which the check must not change (their CRC is taken before it and compared with
 * the CRC of the bytes written; a difference fails the save).
 * @throws {StorageError} when the path cannot be written or is not a regular file; whatever
 * `options.verify` throws when the content does not pass it. The existing file is unchanged on any error.
 */
export async function writeModelFile(path: string, content: ModelFileContent, options: WriteOptions = {}): Promise<void> {
  const plan = planFile(content);
  // What load would see: the header check, the manifest as parsed from its bytes, the sections.
  checkHeader(header(plan), plan.total, path);
  const meta = (JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plan.manifest)) as { meta: Record<string, unknown> }).meta;
  const sections: Record<string, SectionArray> = Object.create(null) as Record<string, SectionArray>;
  for (const e of plan.entries) sections[e.name] = content.sections[e.name];
  const crcBefore = fileCrc(plan, content);
  await options.verify?.({ model: content.model, meta, sections });
  await checkTarget(path);
  await removeStaleTemps(path);
  const dir = dirname(path);
  let tmp = '';
  let handle: fs.FileHandle | undefined;
  try {
    for (let attempt = 0; handle === undefined; attempt++) {
      tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
      try {
        // O_EXCL: never opens an existing file or follows a symlink planted at that name.
        handle = await fs.open(tmp, 'wx', 0o644);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) {
          tmp = '';
          throw e;
        }
      }
    }
    inProgress.add(tmp);
    const crc = await streamPieces(handle, plan, content);
    if (crc !== crcBefore) throw new StorageError(`cannot write model file ${path}: the model changed while it was being saved`);
    const tail = new Uint8Array(4);
    new DataView(tail.buffer).setUint32(0, crc, true);
    await writeAll(handle, tail, tail.length);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await checkTarget(path); // again: the target may have changed while writing
    await fs.rename(tmp, path);
    inProgress.delete(tmp);
    tmp = '';
    await syncDir(dir);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    if (tmp !== '') {
      inProgress.delete(tmp);
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
    if (e instanceof StorageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the directory does not exist' : reason(e);
    throw new StorageError(`cannot write model file ${path}: ${why}`);
  }
}

/** Write the file's pieces through one reusable buffer (sections may live in shared memory); returns their CRC-32. */
async function streamPieces(h: fs.FileHandle, plan: FilePlan, content: ModelFileContent): Promise<number> {
  const buf = new Uint8Array(Math.min(WRITE_CHUNK, plan.total));
  let fill = 0;
  let crc = 0;
  const flush = async () => {
    crc = crc32(buf.subarray(0, fill), crc);
    await writeAll(h, buf, fill);
    fill = 0;
  };
  for (const p of pieces(plan, content)) {
    for (let at = 0; at < p.length; ) {
      const n = Math.min(p.length - at, buf.length - fill);
      buf.set(p.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === buf.length) await flush();
    }
  }
  if (fill > 0) await flush();
  return crc;
}

/** Write the first `n` bytes of `buf`, however many calls it takes. */
async function writeAll(h: fs.FileHandle, buf: Uint8Array, n: number): Promise<void> {
  for (let at = 0; at < n; ) {
    const { bytesWritten } = await h.write(buf, at, n - at);
    at += bytesWritten;
  }
}

/**
 * Read and validate a model file. Only a regular file (or a symlink to one) is read; the header is
 * checked before the rest is read.
 * @throws {StorageError} when it cannot be read or is not a regular file; {ModelFormatError} when it is not an intact model file.
 */
export async function readModelFile(path: string, expectedModel?: string): Promise<ModelFileContent> {
  const cannot = (why: string): never => {
    throw new StorageError(`cannot read model file ${path}: ${why}`);
  };
  let h: fs.FileHandle | undefined;
  try {
    try {
      // O_NONBLOCK: opening a FIFO does not wait for a writer (it is refused just below).
      h = await fs.open(path, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0) | (fsc.O_NOCTTY ?? 0));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return cannot(code === 'ENOENT' ? 'no such file' : reason(e));
    }
    let st: Stats;
    try {
      st = await h.stat();
    } catch (e) {
      return cannot(reason(e));
    }
    if (!st.isFile()) cannot(`it is ${kindOf(st)}, not a regular file`);
    if (st.size > bufferConstants.MAX_LENGTH) cannot(`it is too large to read (${st.size} bytes)`);
    const head = new Uint8Array(Math.min(16, st.size));
    await readFully(h, head, 0, path);
    checkHeader(head, st.size, path);
    // On shared memory: the section arrays are views on these bytes, so a worker pool shares
    // them as they are instead of copying each one into a SharedArrayBuffer of its own.
    const bytes = new Uint8Array(new SharedArrayBuffer(st.size));
    bytes.set(head, 0);
    // The CRC is taken while the file is read (read-checked.ts); a file that shrank while being
    // read is decoded as what was read, and the checksum check refuses it.
    const { filled, crc } = await readChecked(h, bytes, head.length, bytes.length - 4, path);
    if (crc === undefined) return decodeModelFile(bytes.subarray(0, filled), path, expectedModel);
    if (crc !== new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true)) {
      throw new ModelFormatError(`${path}: ${CHECKSUM_MISMATCH}`);
    }
    return decodeModelFile(bytes, path, expectedModel, { checksum: false });
  } finally {
    await h?.close().catch(() => undefined);
  }
}

/** Bytes asked for per read: Node's fs.read takes a 32-bit signed length (a 2 GiB file in one read aborts the process). */
const READ_CHUNK = 1 << 30;

/** Read into `buf` from `from` until full or end of file; returns the bytes filled. @throws {StorageError} */
async function readFully(h: fs.FileHandle, buf: Uint8Array, from: number, path: string): Promise<number> {
  let at = from;
  try {
    while (at < buf.length) {
      const { bytesRead } = await h.read(buf, at, Math.min(buf.length - at, READ_CHUNK), at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
  } catch (e) {
    throw new StorageError(`cannot read model file ${path}: ${reason(e)}`);
  }
  return at;
}


function align8(n: number): number {
  return Math.ceil(n / 8) * 8; // arithmetic, not bitwise: offsets may exceed 2^31
}

export { crc32, crc32Table } from './crc32.js';
export { packStrings, unpackStrings } from './strings.js';
