/**
 * The byte-level CSV/TSV path of `loadEvents`: fields are found and parsed straight from the file's
 * bytes (no string per line, no split), ids are interned from bytes, numbers parsed from bytes,
 * behaviour and domain names looked up from bytes. A line that needs anything more (the header, a
 * quote, a wrong field count, a new domain or behaviour, an unusual number, any error) goes to the
 * string path (`EventReader.line`), which applies every rule and writes every message, so both paths
 * give the same rows and the same errors.
 */
import { isUtf8 } from 'node:buffer';
import { ByteIdTable, decodeBytes, parsePlainNumber, SmallNameCache } from './bytes.js';
import { NO_BEHAVIOR } from './events.js';
import { invalidUtf8, lineTooLong, MAX_LINE_BYTES, parseTimestamp, stripLine, type LineBlockSink } from './lines.js';
import type { EventReader } from './reader.js';

/** A behaviour name's weight and index, cached by its bytes. */
interface BehaviorEntry {
  readonly weight: number;
  readonly index: number;
}

/** Feeds blocks of whole lines (from `streamBlocks`) to an `EventReader`, bytes first. */
export class DelimitedFastPath implements LineBlockSink {
  lineNo = 0;
  gzip = false;
  private readonly users: ByteIdTable;
  private readonly items: ByteIdTable[] = [];
  private readonly domains = new SmallNameCache<number>();
  private readonly behaviors = new SmallNameCache<BehaviorEntry>();
  private fs = new Int32Array(16);
  private fe = new Int32Array(16);
  private readonly delim: number;
  /** Field positions of the canonical columns (-1 when absent), copied from the header once it is read. */
  private cu = -1;
  private ci = -1;
  private cd = -1;
  private cb = -1;
  private cw = -1;
  private cr = -1;
  private ct = -1;
  private ready = false;
  private readonly needTimestamp: boolean;
  private bytesSeen = 0;
  private reserved = false;

  constructor(
    private readonly r: EventReader,
    private readonly label: string,
    /** The file's size in bytes (to reserve rows), 0 when unknown (gzip). */
    private readonly sizeHint = 0,
    private readonly maxLineBytes = MAX_LINE_BYTES,
  ) {
    this.needTimestamp = r.opts.halfLifeDays !== undefined;
    this.users = new ByteIdTable(r.vocab.users);
    this.delim = r.delim === '\t' ? 9 : 44;
  }

  block(buf: Buffer, final: boolean): void {
    if (!isUtf8(buf)) throw invalidUtf8(buf, this.label, this.lineNo);
    const n = buf.length;
    const delim = this.delim;
    if (!this.ready && this.r.col !== undefined) this.start(); // columns given up front: no header line
    let s = 0;
    while (s < n) {
      const fs = this.fs;
      const fe = this.fe;
      const cap = fs.length;
      let nf = 0;
      let fStart = s;
      let quote = false;
      let i = s;
      for (; i < n; i++) {
        const c = buf[i];
        if (c === 10) break;
        if (c === delim) {
          if (nf < cap) {
            fs[nf] = fStart;
            fe[nf] = i;
          }
          nf++;
          fStart = i + 1;
        } else if (c === 34) quote = true;
      }
      if (i === n && !final) break; // never happens: blocks end with LF
      const lineNo = ++this.lineNo;
      if (i < n && i - s > this.maxLineBytes) throw lineTooLong(this.label, lineNo, this.maxLineBytes);
      let e = i;
      if (e > s && buf[e - 1] === 13) e--;
      if (nf < cap) {
        fs[nf] = fStart;
        fe[nf] = e < fStart ? fStart : e;
      }
      nf++;
      const b0 = buf[s];
      if (lineNo === 1 || quote || !this.ready || nf !== this.r.nFields || e === s || ((b0 <= 32 || b0 >= 0x80) && mayBeBlank(buf, s, e)) || !this.row(buf, lineNo)) {
        this.r.line(stripLine(buf.toString('utf8', s, i), lineNo === 1), lineNo);
        if (!this.ready && this.r.col !== undefined) this.start();
      }
      s = i + 1;
    }
    this.bytesSeen += n;
    if (!this.reserved && this.sizeHint > 0 && this.lineNo >= 1000 && !this.gzip) {
      // Rows to come, from the bytes per line so far; spare for longer lines later.
      this.reserved = true;
      this.r.b.reserve(Math.min(2 ** 31, (this.sizeHint / this.bytesSeen) * this.lineNo * 1.02));
    }
  }

  /** The header is known: copy its field positions. */
  private start(): void {
    const c = this.r.col!;
    this.cu = c.user;
    this.ci = c.item;
    this.cd = this.r.domainCol;
    this.cb = c.behavior;
    this.cw = c.weight;
    this.cr = c.rating;
    this.ct = c.timestamp;
    this.ready = true;
    if (this.fs.length < this.r.nFields) {
      this.fs = new Int32Array(this.r.nFields);
      this.fe = new Int32Array(this.r.nFields);
    }
  }

  /** Add the row whose fields are in `fs`/`fe`; false (nothing changed) when the string path must take it. */
  private row(buf: Buffer, lineNo: number): boolean {
    const r = this.r;
    const fs = this.fs;
    const fe = this.fe;
    const us = fs[this.cu];
    const ue = fe[this.cu];
    const is = fs[this.ci];
    const ie = fe[this.ci];
    if (us === ue || is === ie) return false;
    let d = r.defaultDomainIndex;
    const dc = this.cd;
    if (dc >= 0) {
      const ds = fs[dc];
      const de = fe[dc];
      if (ds === de) return false;
      let known = this.domains.get(buf, ds, de);
      if (known === undefined) {
        known = r.vocab.domains.get(decodeBytes(buf, ds, de));
        if (known < 0) return false; // a new domain: the string path interns it
        this.domains.set(buf, ds, de, known);
      }
      d = known;
    } else if (d < 0) return false;
    let weight = 1;
    let bIndex = NO_BEHAVIOR;
    const cb = this.cb;
    if (cb >= 0 && fs[cb] !== fe[cb]) {
      let entry = this.behaviors.get(buf, fs[cb], fe[cb]);
      if (entry === undefined) {
        const key = decodeBytes(buf, fs[cb], fe[cb]).toLowerCase();
        const w = r.weights.get(key);
        const index = r.vocab.behaviors.get(key);
        if (w === undefined || index < 0 || index >= NO_BEHAVIOR) return false; // unknown, or first use
        entry = { weight: w, index };
        this.behaviors.set(buf, fs[cb], fe[cb], entry);
      }
      weight = entry.weight;
      bIndex = entry.index;
    }
    const cw = this.cw;
    if (cw >= 0 && fs[cw] !== fe[cw]) {
      weight = parsePlainNumber(buf, fs[cw], fe[cw]);
      if (!(weight > 0)) return false; // at most 15 digits: a positive one is a nonzero finite float32
    }
    let rating = NaN;
    const cr = this.cr;
    if (cr >= 0 && fs[cr] !== fe[cr]) {
      rating = parsePlainNumber(buf, fs[cr], fe[cr]);
      if (Number.isNaN(rating)) return false;
    }
    let ts = NaN;
    const ct = this.ct;
    if (ct >= 0 && fs[ct] !== fe[ct]) {
      ts = parsePlainNumber(buf, fs[ct], fe[ct]);
      if (Number.isNaN(ts)) ts = parseTimestamp(decodeBytes(buf, fs[ct], fe[ct]));
      if (Number.isNaN(ts)) return false;
    }
    if (this.needTimestamp && Number.isNaN(ts)) return false;
    const u = this.users.intern(buf, us, ue);
    const table = (this.items[d] ??= new ByteIdTable(r.vocab.items(d)));
    r.b.push(u, table.intern(buf, is, ie), d, bIndex, weight, rating, ts, lineNo);
    return true;
  }
}

/** True when `buf[s, e)` holds only ASCII whitespace and non-ASCII bytes (decode it to know if it is blank). */
function mayBeBlank(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c < 0x80 && c !== 32 && (c < 9 || c > 13)) return false;
  }
  return true;
}
