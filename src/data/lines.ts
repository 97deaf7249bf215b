/**
 * Text-level reading of event files: lines streamed with 1-based numbers (LF or CRLF, a UTF-8 BOM
 * dropped), RFC 4180 fields, and timestamps.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
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
 * Stream a file line by line (LF or CRLF), with 1-based line numbers. Bytes are split at LF
 * before decoding (an LF byte never occurs inside a multi-byte UTF-8 sequence), each block of whole
 * lines is checked to be valid UTF-8 and decoded once, so the work is linear in the file size
 * whatever the line lengths.
 * @throws {DataError} for a missing file, a line over `maxLineBytes`, or bytes that are not UTF-8.
 */
export async function streamLines(
  path: string,
  label: string,
  onLine: (text: string, lineNo: number) => void,
  maxLineBytes = MAX_LINE_BYTES,
): Promise<void> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  // The partial line carried from earlier chunks: never more than maxLineBytes bytes.
  let carry: Buffer[] = [];
  let carryLen = 0;
  let lineNo = 0;
  /** Decode and emit the whole lines in `buf` (ends with LF, or is the file's last line). */
  const emitBlock = (buf: Buffer, final: boolean): void => {
    if (!isUtf8(buf)) throw invalidUtf8(buf, label, lineNo);
    const text = buf.toString('utf8');
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      lineNo++;
      const line = text.slice(start, nl);
      if (nl - start > maxLineBytes / 3 && overLimit(line, maxLineBytes)) throw lineTooLong(label, lineNo, maxLineBytes);
      onLine(stripLine(line, lineNo === 1), lineNo);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (final && start < text.length) {
      lineNo++;
      onLine(stripLine(text.slice(start), lineNo === 1), lineNo);
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const first = chunk.indexOf(10);
      if (first < 0) {
        carryLen += chunk.length;
        if (carryLen > maxLineBytes) throw lineTooLong(label, lineNo + 1, maxLineBytes);
        carry.push(chunk);
        continue;
      }
      let from = 0;
      if (carryLen > 0) {
        // The carried line ends in this chunk.
        if (carryLen + first > maxLineBytes) throw lineTooLong(label, lineNo + 1, maxLineBytes);
        carry.push(chunk.subarray(0, first + 1));
        emitBlock(Buffer.concat(carry), false);
        carry = [];
        carryLen = 0;
        from = first + 1;
      }
      const last = chunk.lastIndexOf(10);
      if (last >= from) emitBlock(chunk.subarray(from, last + 1), false);
      if (last + 1 < chunk.length) {
        const tail = chunk.subarray(last + 1);
        if (tail.length > maxLineBytes) throw lineTooLong(label, lineNo + 1, maxLineBytes);
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
    throw e;
  } finally {
    stream.destroy();
  }
  if (carryLen > 0) emitBlock(Buffer.concat(carry), true);
}

/** The `DataError` for the first byte sequence in `buf` (lines after `linesBefore`) that is not UTF-8. */
function invalidUtf8(buf: Buffer, file: string, linesBefore: number): DataError {
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

