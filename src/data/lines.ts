/**
 * Text-level reading of event files: lines streamed with 1-based numbers (LF or CRLF, a UTF-8 BOM
 * dropped), RFC 4180 fields, and timestamps.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { DataError, quoteInput } from '../errors.js';

/** Strip a trailing CR and, on the first line, a UTF-8 byte-order mark. */
export function stripLine(text: string, first: boolean): string {
  let t = text;
  if (first && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
  if (t.length > 0 && t.charCodeAt(t.length - 1) === 13) t = t.slice(0, -1);
  return t;
}

/**
 * Longest input line accepted, in bytes (without its line terminator): 1 MiB. A longer line is a
 * `DataError` naming file:line, raised as soon as the reader has seen that many bytes of it, so a
 * file without newlines never makes the reader hold more than this.
 */
export const MAX_LINE_BYTES = 1 << 20;

/** The `DataError` for a line over `MAX_LINE_BYTES`. */
export function lineTooLong(file: string, lineNo: number, max = MAX_LINE_BYTES): DataError {
  return new DataError(
    { file, line: lineNo },
    `line longer than ${max} bytes (${formatBytes(max)}): lines are limited to ${formatBytes(max)}; is this the right file, or a file without line breaks?`,
  );
}

function formatBytes(n: number): string {
  return n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`;
}

/** True when `s` is over `max` bytes in UTF-8 (cheap for short strings). */
export function overLimit(s: string, max = MAX_LINE_BYTES): boolean {
  return s.length > max || (s.length * 3 > max && Buffer.byteLength(s, 'utf8') > max);
}

/**
 * Consumer of `streamBlocks`: receives blocks of whole lines (each ends with LF, except the file's
 * last line) and counts the lines it has consumed, so errors raised while carrying a partial line
 * can name the right line.
 */
export interface LineBlockSink {
  /** Lines consumed so far. */
  readonly lineNo: number;
  /** Set by `streamBlocks` when the file is gzip data (its size then says little about its lines). */
  gzip?: boolean;
  /** Consume whole lines (`final`: the last block, whose last line may lack its LF). */
  block(buf: Buffer, final: boolean): void;
}

/**
 * Stream a file line by line (LF or CRLF), with 1-based line numbers. Bytes are split at LF
 * before decoding (an LF byte never occurs inside a multi-byte UTF-8 sequence), each block of whole
 * lines is checked to be valid UTF-8 and decoded once, so the work is linear in the file size
 * whatever the line lengths. Gzip input (a `.gz` name or the gzip magic bytes) is decompressed on
 * the way.
 * @throws {DataError} for a missing file, a line over `maxLineBytes`, bytes that are not UTF-8, or
 *   corrupt or truncated gzip data.
 */
export async function streamLines(
  path: string,
  label: string,
  onLine: (text: string, lineNo: number) => void,
  maxLineBytes = MAX_LINE_BYTES,
): Promise<void> {
  const sink = {
    lineNo: 0,
    /** Decode and emit the whole lines in `buf` (ends with LF, or is the file's last line). */
    block(buf: Buffer, final: boolean): void {
      if (!isUtf8(buf)) throw invalidUtf8(buf, label, sink.lineNo);
      const text = buf.toString('utf8');
      let start = 0;
      let nl = text.indexOf('\n');
      while (nl >= 0) {
        const lineNo = ++sink.lineNo;
        const line = text.slice(start, nl);
        if (nl - start > maxLineBytes / 3 && overLimit(line, maxLineBytes)) throw lineTooLong(label, lineNo, maxLineBytes);
        onLine(stripLine(line, lineNo === 1), lineNo);
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      if (final && start < text.length) {
        const lineNo = ++sink.lineNo;
        onLine(stripLine(text.slice(start), lineNo === 1), lineNo);
      }
    },
  };
  await streamBlocks(path, label, sink, maxLineBytes);
}

/**
 * Stream the bytes of a file (gunzipped when it is gzip data) to `sink` in blocks of whole lines.
 * A partial line is carried between chunks, never more than `maxLineBytes` of it.
 * @throws {DataError} as `streamLines`.
 */
export async function streamBlocks(path: string, label: string, sink: LineBlockSink, maxLineBytes = MAX_LINE_BYTES): Promise<void> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  let gunzip: Gunzip | undefined;
  // The partial line carried from earlier chunks: never more than maxLineBytes bytes.
  let carry: Buffer[] = [];
  let carryLen = 0;
  try {
    // Gzip by name or by its magic bytes, seen in the first chunk (no second open: pipes work too).
    const raw = (file as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const head = await raw.next();
    const rest = async function* (): AsyncGenerator<Buffer> {
      if (!head.done) yield head.value;
      for (let r = await raw.next(); !r.done; r = await raw.next()) yield r.value;
    };
    let chunks: AsyncIterable<Buffer> = rest();
    if (path.toLowerCase().endsWith('.gz') || (!head.done && head.value[0] === 0x1f && head.value[1] === 0x8b)) {
      const gz = createGunzip({ chunkSize: 1 << 18 });
      const src = Readable.from(chunks);
      src.on('error', (e) => gz.destroy(e)); // a read error ends the gunzip stream with it
      chunks = src.pipe(gz);
      gunzip = gz;
      sink.gzip = true;
    }
    for await (const chunk of chunks) {
      const first = chunk.indexOf(10);
      if (first < 0) {
        carryLen += chunk.length;
        if (carryLen > maxLineBytes) throw lineTooLong(label, sink.lineNo + 1, maxLineBytes);
        carry.push(Buffer.from(chunk));
        continue;
      }
      let from = 0;
      if (carryLen > 0) {
        // The carried line ends in this chunk.
        if (carryLen + first > maxLineBytes) throw lineTooLong(label, sink.lineNo + 1, maxLineBytes);
        carry.push(chunk.subarray(0, first + 1));
        sink.block(Buffer.concat(carry), false);
        carry = [];
        carryLen = 0;
        from = first + 1;
      }
      const last = chunk.lastIndexOf(10);
      if (last >= from) sink.block(chunk.subarray(from, last + 1), false);
      if (last + 1 < chunk.length) {
        const tail = chunk.subarray(last + 1);
        if (tail.length > maxLineBytes) throw lineTooLong(label, sink.lineNo + 1, maxLineBytes);
        carry.push(Buffer.from(tail)); // a copy: the stream may reuse its buffer
        carryLen = tail.length;
      }
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DataError({ file: label }, `file not found: ${path}`);
    if (err.code === 'EISDIR') throw new DataError({ file: label }, `is a directory, not a file: ${path}`);
    if (err.code === 'EACCES') throw new DataError({ file: label }, `permission denied: ${path}`);
    if (gunzip && typeof err.code === 'string' && err.code.startsWith('Z_')) {
      throw new DataError(
        { file: label, line: sink.lineNo + 1 },
        `corrupt or truncated gzip data (${err.message}) after ${sink.lineNo} complete lines: is the file complete and really gzip?`,
      );
    }
    throw e;
  } finally {
    gunzip?.destroy();
    file.destroy();
  }
  if (carryLen > 0) sink.block(Buffer.concat(carry), true);
}

/** The `DataError` for the first byte sequence in `buf` (lines after `linesBefore`) that is not UTF-8. */
export function invalidUtf8(buf: Buffer, file: string, linesBefore: number): DataError {
  let line = linesBefore + 1;
  let lineStart = 0;
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i];
    if (b === 10) {
      line++;
      lineStart = i + 1;
      i++;
      continue;
    }
    if (b < 0x80) {
      i++;
      continue;
    }
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) if ((buf[i + k] & 0xc0) !== 0x80) ok = false;
    if (ok && len === 3) {
      const b1 = buf[i + 1];
      if ((b === 0xe0 && b1 < 0xa0) || (b === 0xed && b1 > 0x9f)) ok = false; // overlong, surrogate
    }
    if (ok && len === 4) {
      const b1 = buf[i + 1];
      if ((b === 0xf0 && b1 < 0x90) || (b === 0xf4 && b1 > 0x8f)) ok = false; // overlong, > U+10FFFF
    }
    if (!ok) {
      return new DataError(
        { file, line },
        `invalid UTF-8 (byte 0x${b.toString(16).padStart(2, '0')} at byte ${i - lineStart + 1} of the line): ` +
          'the file must be UTF-8 (distinct ids would otherwise merge into one); convert it, e.g. with iconv',
      );
    }
    i += len;
  }
  return new DataError({ file, line }, 'invalid UTF-8: the file must be UTF-8; convert it, e.g. with iconv');
}

/** Split one CSV/TSV line into fields (RFC 4180 quoting; a field may not span lines). */
export function splitFields(text: string, delim: string, where: { file: string; line: number }): string[] {
  if (text.indexOf('"') < 0) return text.split(delim);
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (i < n && text[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) throw new DataError({ ...where, column: out.length + 1 }, 'unterminated quoted field (fields cannot span lines)');
        value += text.slice(j, q);
        if (text[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(value);
      if (i === n) return out;
      if (text[i] !== delim) {
        throw new DataError({ ...where, column: out.length }, `unexpected character ${quoteInput(text[i])} after a closing quote`);
      }
      i++;
    } else {
      const d = text.indexOf(delim, i);
      const end = d < 0 ? n : d;
      const field = text.slice(i, end);
      if (field.indexOf('"') >= 0) throw new DataError({ ...where, column: out.length + 1 }, 'a quote inside an unquoted field');
      out.push(field);
      if (d < 0) return out;
      i = d + 1;
    }
  }
}

/** Parse a timestamp: unix seconds (integer or decimal) or ISO-8601. NaN when unparseable. */
export function parseTimestamp(s: string): number {
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const ms = Date.parse(s);
    return Number.isFinite(ms) ? ms / 1000 : NaN;
  }
  return NaN;
}

