/**
 * The model file: one file per fitted model.
 *
 * Layout (little-endian):
 *   0   8 bytes  magic "MIGREC\r\n" (the CR LF catches text-mode corruption)
 *   8   u32      format version (FORMAT_VERSION)
 *   12  u32      manifest length M in bytes
 *   16  M bytes  manifest, UTF-8 JSON: { model, created, meta, sections: [{ name, type, offset, length }] }
 *   ..  padding to a multiple of 8
 *   P   payload: the typed-array sections, each 8-byte aligned, at `offset` from P
 *   end u32      CRC-32 of every byte before it
 *
 * Loading checks the size, magic, version, checksum, manifest and every section's bounds before
 * any model is built, so a truncated, corrupted or newer file fails with `ModelFormatError` and
 * never yields a half-built model. Saving writes a temporary file and renames it, so a failed save
 * never destroys an existing model file.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ModelFormatError, StorageError } from '../errors.js';

/** Magic bytes at the start of every model file. */
export const MAGIC = Uint8Array.from([0x4d, 0x49, 0x47, 0x52, 0x45, 0x43, 0x0d, 0x0a]);
/** Version of the layout above; files with a higher version are refused. */
export const FORMAT_VERSION = 1;

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

/** Encode a model into the file layout. */
export function encodeModelFile(content: ModelFileContent): Uint8Array {
  const entries: SectionEntry[] = [];
  let offset = 0;
  for (const [name, arr] of Object.entries(content.sections)) {
    entries.push({ name, type: typeOf(arr), offset, length: arr.length });
    offset = align8(offset + arr.byteLength);
  }
  const manifest = new TextEncoder().encode(JSON.stringify({ model: content.model, meta: content.meta, sections: entries }));
  const payloadStart = align8(16 + manifest.length);
  const total = payloadStart + offset + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, manifest.length, true);
  out.set(manifest, 16);
  for (const e of entries) {
    const arr = content.sections[e.name];
    out.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), payloadStart + e.offset);
  }
  view.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

/**
 * Decode and validate a model file's bytes.
 * @param expectedModel when given, a file of another model type is refused.
 * @throws {ModelFormatError} for anything but an intact file of a known version.
 */
export function decodeModelFile(bytes: Uint8Array, label: string, expectedModel?: string): ModelFileContent {
  const fail = (why: string): never => {
    throw new ModelFormatError(`${label}: ${why}`);
  };
  if (bytes.length < 20) fail(`not a migrec model file (${bytes.length} bytes, too short)`);
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) fail('not a migrec model file (bad magic bytes)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version > FORMAT_VERSION) fail(`format version ${version} is newer than this migrec reads (${FORMAT_VERSION}); upgrade migrec`);
  if (version === 0) fail('format version 0 is invalid');
  const stored = view.getUint32(bytes.length - 4, true);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) fail('checksum mismatch (the file is truncated or corrupted)');
  const mlen = view.getUint32(12, true);
  if (16 + mlen > bytes.length - 4) fail('manifest runs past the end of the file');
  let manifest: { model?: unknown; meta?: unknown; sections?: unknown };
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + mlen)));
  } catch {
    return fail('manifest is not valid JSON');
  }
  if (typeof manifest.model !== 'string' || typeof manifest.meta !== 'object' || manifest.meta === null || !Array.isArray(manifest.sections)) {
    fail('manifest lacks model, meta or sections');
  }
  if (expectedModel !== undefined && manifest.model !== expectedModel) {
    fail(`holds a ${String(manifest.model)} model, not ${expectedModel}`);
  }
  const payloadStart = align8(16 + mlen);
  const payloadEnd = bytes.length - 4;
  const sections: Record<string, SectionArray> = {};
  for (const raw of manifest.sections as SectionEntry[]) {
    const ctor = CTORS[raw?.type];
    if (!ctor || typeof raw.name !== 'string' || !Number.isInteger(raw.offset) || !Number.isInteger(raw.length) || raw.offset < 0 || raw.length < 0) {
      fail(`section table entry ${JSON.stringify(raw)} is invalid`);
    }
    const start = payloadStart + raw.offset;
    const end = start + raw.length * ctor.BYTES_PER_ELEMENT;
    if (end > payloadEnd || start % 8 !== payloadStart % 8) fail(`section ${raw.name} lies outside the payload`);
    // Copy into a fresh, aligned buffer: the model owns its arrays.
    const copy = new Uint8Array(raw.length * ctor.BYTES_PER_ELEMENT);
    copy.set(bytes.subarray(start, end));
    sections[raw.name] = new ctor(copy.buffer, 0, raw.length);
  }
  return { model: manifest.model as string, meta: manifest.meta as Record<string, unknown>, sections };
}

let saveSerial = 0;

/**
 * Write a model file atomically (temporary file + rename).
 * @throws {StorageError} when the path cannot be written.
 */
export async function writeModelFile(path: string, content: ModelFileContent): Promise<void> {
  const bytes = encodeModelFile(content);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++saveSerial}.tmp`);
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'the directory does not exist' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
    throw new StorageError(`cannot write model file ${path}: ${why}`);
  }
}

/**
 * Read and validate a model file.
 * @throws {StorageError} when it cannot be read; {ModelFormatError} when it is not an intact model file.
 */
export async function readModelFile(path: string, expectedModel?: string): Promise<ModelFileContent> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'it is a directory' : err.message;
    throw new StorageError(`cannot read model file ${path}: ${why}`);
  }
  return decodeModelFile(bytes, path, expectedModel);
}

/** Pack strings into (offsets, UTF-8 bytes) sections. */
export function packStrings(ids: readonly string[]): { offsets: Uint32Array; bytes: Uint8Array } {
  const enc = new TextEncoder();
  const parts = ids.map((s) => enc.encode(s));
  const offsets = new Uint32Array(ids.length + 1);
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i] + parts[i].length;
  const bytes = new Uint8Array(offsets[ids.length]);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i], offsets[i]);
  return { offsets, bytes };
}

/** Unpack strings written by `packStrings`. @throws {ModelFormatError} on inconsistent offsets. */
export function unpackStrings(offsets: Uint32Array, bytes: Uint8Array, label: string): string[] {
  const dec = new TextDecoder('utf-8', { fatal: true });
  const out = new Array<string>(Math.max(0, offsets.length - 1));
  for (let i = 0; i + 1 < offsets.length; i++) {
    if (offsets[i] > offsets[i + 1] || offsets[i + 1] > bytes.length) throw new ModelFormatError(`${label}: string table is inconsistent`);
    out[i] = dec.decode(bytes.subarray(offsets[i], offsets[i + 1]));
  }
  return out;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8; // arithmetic, not bitwise: offsets may exceed 2^31
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), table-driven. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
