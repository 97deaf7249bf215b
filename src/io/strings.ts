/** String tables of model files: ids packed as (offsets, UTF-8 bytes) sections. */
import { isAscii } from 'node:buffer';
import { ModelFormatError } from '../errors.js';

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

/**
 * Unpack strings written by `packStrings`.
 * @param what names the table in messages (e.g. the section). @param unique refuse a repeated string.
 * @throws {ModelFormatError} on inconsistent offsets, invalid UTF-8 or (with `unique`) a duplicate.
 */
export function unpackStrings(offsets: Uint32Array, bytes: Uint8Array, label: string, what = 'string table', unique = false): string[] {
  const fail = (why: string): never => {
    throw new ModelFormatError(`${label}: ${what}: ${why}`);
  };
  if (offsets.length === 0 || offsets[0] !== 0 || offsets[offsets.length - 1] !== bytes.length) fail('string table is inconsistent');
  const dec = new TextDecoder('utf-8', { fatal: true });
  const out = new Array<string>(offsets.length - 1);
  const seen = unique ? new Set<string>() : undefined;
  // All ASCII (the usual ids): one decode of the table, then slices (offsets are then characters).
  const ascii = isAscii(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1') : undefined;
  for (let i = 0; i + 1 < offsets.length; i++) {
    if (offsets[i] > offsets[i + 1] || offsets[i + 1] > bytes.length) fail('string table is inconsistent');
    if (ascii !== undefined) out[i] = ascii.slice(offsets[i], offsets[i + 1]);
    else {
      try {
        out[i] = dec.decode(bytes.subarray(offsets[i], offsets[i + 1]));
      } catch {
        fail(`id ${i} is not valid UTF-8`);
      }
    }
    if (seen) {
      if (seen.has(out[i])) fail(`duplicate id ${JSON.stringify(out[i]).slice(0, 100)}`);
      seen.add(out[i]);
    }
  }
  return out;
}
