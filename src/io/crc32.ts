/** CRC-32 of model files: Node's native one where it exists, a table-driven TypeScript one otherwise. */
import * as zlib from 'node:zlib';

let crcTable: Uint32Array | undefined;

/** Node's native CRC-32 (zlib, Node >= 20.15), when this Node has it. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/**
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): zlib's native one, else {@link crc32Table}.
 * `prev` continues a CRC: crc32(b, crc32(a)) is the CRC of a followed by b. (On a buffer just
 * read from a file, the first pass over it may cost ten times more than the CRC itself: that is
 * the first touch of its pages, see read-checked.ts, not the CRC.)
 */
export function crc32(data: Uint8Array, prev = 0): number {
  return nativeCrc32 ? nativeCrc32(data, prev) >>> 0 : crc32Table(data, prev);
}

/** The same CRC-32, table-driven in TypeScript (Node before 20.15, and the tests' reference). */
export function crc32Table(data: Uint8Array, prev = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
