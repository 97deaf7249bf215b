/**
 * Text-level reading of event files: lines streamed with 1-based numbers (LF or CRLF, a UTF-8 BOM
 * dropped), RFC 4180 fields, and timestamps.
 */
import { createReadStream } from 'node:fs';
import { DataError } from '../errors.js';

/** Strip a trailing CR and, on the first line, a UTF-8 byte-order mark. */
export function stripLine(text: string, first: boolean): string {
  let t = text;
  if (first && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
  if (t.length > 0 && t.charCodeAt(t.length - 1) === 13) t = t.slice(0, -1);
  return t;
}

/** Stream a file line by line (LF or CRLF), with 1-based line numbers. */
export async function streamLines(path: string, label: string, onLine: (text: string, lineNo: number) => void): Promise<void> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let rest = '';
  let lineNo = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = rest + chunk;
      let start = 0;
      let nl = text.indexOf('\n', start);
      while (nl >= 0) {
        lineNo++;
        onLine(stripLine(text.slice(start, nl), lineNo === 1), lineNo);
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      rest = text.slice(start);
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
  if (rest.length > 0) {
    lineNo++;
    onLine(stripLine(rest, lineNo === 1), lineNo);
  }
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
        throw new DataError({ ...where, column: out.length }, `unexpected character ${JSON.stringify(text[i])} after a closing quote`);
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

