/**
 * Two small SVG chart kinds for the benchmark report, written as plain strings (no DOM, no
 * dependency): a log-log line chart and a grouped bar chart. Output is deterministic for the same
 * input (numbers printed with fixed precision), self-contained (no external fonts or scripts) and
 * readable at 100 % zoom.
 */

/** Okabe-Ito colours: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Escape text for SVG content and attributes. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const p = (x: number) => (Math.round(x * 10) / 10).toString();

/** Compact number: 1.2k, 3.4M, 0.05. */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a === 0) return '0';
  return `${+v.toPrecision(2)}`;
}

function text(x: number, y: number, s: string, o: { size?: number; anchor?: 'start' | 'middle' | 'end'; weight?: string; fill?: string; rotate?: number } = {}): string {
  const rot = o.rotate ? ` transform="rotate(${o.rotate} ${p(x)} ${p(y)})"` : '';
  return `<text x="${p(x)}" y="${p(y)}" font-size="${o.size ?? 12}" text-anchor="${o.anchor ?? 'start'}"${o.weight ? ` font-weight="${o.weight}"` : ''} fill="${o.fill ?? '#222'}"${rot}>${esc(s)}</text>`;
}

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    text(width / 2, 24, title, { size: 16, anchor: 'middle', weight: 'bold' }),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Legend entries in rows under the title. */
function legend(x0: number, y: number, width: number, names: string[], marker: (i: number, x: number, y: number) => string): { svg: string[]; height: number } {
  const out: string[] = [];
  let x = x0;
  let row = 0;
  for (let i = 0; i < names.length; i++) {
    const w = 26 + names[i].length * 7.4;
    if (x + w > x0 + width && x > x0) {
      x = x0;
      row++;
    }
    const yy = y + row * 18;
    out.push(marker(i, x, yy), text(x + 20, yy + 4, names[i], { size: 12 }));
    x += w + 12;
  }
  return { svg: out, height: (row + 1) * 18 };
}

/** A series of a line chart. */
export interface LineSeries {
  name: string;
  points: Array<{ x: number; y: number; label?: string }>;
  dashed?: boolean;
}

/** Decade ticks (1, 2, 5 per decade when the range is short) between lo and hi. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  const steps = e1 - e0 <= 2 ? [1, 2, 5] : [1];
  for (let e = e0; e <= e1; e++) for (const m of steps) {
    const v = m * 10 ** e;
    if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
  }
  return out;
}

/** Log-log line chart with markers and optional point labels on the x axis. */
export function logLogChart(o: { title: string; xLabel: string; yLabel: string; series: LineSeries[]; width?: number; height?: number; yFormat?: (v: number) => string }): string {
  const width = o.width ?? 760;
  const height = o.height ?? 460;
  const series = o.series.filter((s) => s.points.length > 0);
  const names = series.map((s) => s.name);
  const leg = legend(70, 44, width - 100, names, (i, x, y) => `<line x1="${p(x)}" y1="${p(y)}" x2="${p(x + 16)}" y2="${p(y)}" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="3"${series[i].dashed ? ' stroke-dasharray="5 3"' : ''}/><circle cx="${p(x + 8)}" cy="${p(y)}" r="3.5" fill="${PALETTE[i % PALETTE.length]}"/>`);
  const left = 78;
  const right = width - 24;
  const top = 44 + leg.height + 14;
  const bottom = height - 62;
  const xs = series.flatMap((s) => s.points.map((q) => q.x));
  const ys = series.flatMap((s) => s.points.map((q) => q.y));
  const body: string[] = [...leg.svg];
  if (xs.length === 0) return frame(width, height, o.title, [...body, text(width / 2, height / 2, 'no data', { anchor: 'middle' })]);
  const xlo = Math.min(...xs) / 1.6;
  const xhi = Math.max(...xs) * 1.6;
  const ylo = 10 ** Math.floor(Math.log10(Math.min(...ys)));
  const yhi = 10 ** Math.ceil(Math.log10(Math.max(...ys) * 1.05));
  const X = (v: number) => left + ((Math.log(v) - Math.log(xlo)) / (Math.log(xhi) - Math.log(xlo))) * (right - left);
  const Y = (v: number) => bottom - ((Math.log(v) - Math.log(ylo)) / (Math.log(yhi) - Math.log(ylo))) * (bottom - top);
  const fmt = o.yFormat ?? compact;
  for (const t of logTicks(ylo, yhi)) {
    body.push(`<line x1="${left}" y1="${p(Y(t))}" x2="${right}" y2="${p(Y(t))}" stroke="#e2e2e2"/>`, text(left - 6, Y(t) + 4, fmt(t), { size: 11, anchor: 'end' }));
  }
  for (const t of logTicks(xlo, xhi)) {
    body.push(`<line x1="${p(X(t))}" y1="${top}" x2="${p(X(t))}" y2="${bottom}" stroke="#efefef"/>`, text(X(t), bottom + 16, compact(t), { size: 11, anchor: 'middle' }));
  }
  body.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#888"/>`);
  // Point labels (data set names) once per distinct x, under the tick labels.
  const labelled = new Map<number, string>();
  for (const s of series) for (const q of s.points) if (q.label && !labelled.has(q.x)) labelled.set(q.x, q.label);
  for (const [x, label] of labelled) {
    body.push(`<line x1="${p(X(x))}" y1="${bottom}" x2="${p(X(x))}" y2="${bottom + 4}" stroke="#444"/>`, text(X(x), bottom + 30, label, { size: 10, anchor: 'middle', fill: '#555' }));
  }
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    body.push(`<polyline fill="none" stroke="${c}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.map((q) => `${p(X(q.x))},${p(Y(q.y))}`).join(' ')}"/>`);
    for (const q of pts) body.push(`<circle cx="${p(X(q.x))}" cy="${p(Y(q.y))}" r="4" fill="${c}"><title>${esc(`${s.name}: ${q.label ?? compact(q.x)} ${fmt(q.y)}`)}</title></circle>`);
  });
  body.push(text((left + right) / 2, height - 12, o.xLabel, { size: 12, anchor: 'middle' }), text(18, (top + bottom) / 2, o.yLabel, { size: 12, anchor: 'middle', rotate: -90 }));
  return frame(width, height, o.title, body);
}

/** Grouped vertical bar chart; `values[g][s]` is series s in group g (undefined: no bar). */
export function groupedBarChart(o: {
  title: string;
  groups: string[];
  series: string[];
  values: Array<Array<number | undefined>>;
  yLabel: string;
  width?: number;
  height?: number;
  /** A horizontal reference line (a target), with its label. */
  reference?: { value: number; label: string };
  format?: (v: number) => string;
}): string {
  const width = o.width ?? 760;
  const height = o.height ?? 440;
  const fmt = o.format ?? compact;
  const names = o.reference ? [...o.series, o.reference.label] : o.series;
  const leg = legend(70, 44, width - 100, names, (i, x, y) =>
    i < o.series.length
      ? `<rect x="${p(x)}" y="${p(y - 6)}" width="14" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`
      : `<line x1="${p(x)}" y1="${p(y)}" x2="${p(x + 16)}" y2="${p(y)}" stroke="#b00020" stroke-width="2" stroke-dasharray="5 3"/>`,
  );
  const left = 78;
  const right = width - 20;
  const top = 44 + leg.height + 14;
  const bottom = height - 56;
  const all = o.values.flat().filter((v): v is number => v !== undefined && Number.isFinite(v));
  const body: string[] = [...leg.svg];
  const bw0 = Math.min(42, (((right - left) / Math.max(1, o.groups.length)) * 0.8) / Math.max(1, o.series.length));
  const maxV = Math.max(o.reference?.value ?? 0, ...all, 0);
  if (maxV <= 0) return frame(width, height, o.title, [...body, text(width / 2, height / 2, 'no data', { anchor: 'middle' })]);
  // A "nice" axis maximum: 1, 2, 2.5 or 5 times a power of ten, with 4-6 ticks.
  const raw = maxV * (bw0 >= 34 ? 1.12 : 1.3);
  const mag = 10 ** Math.floor(Math.log10(raw / 5));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => raw / s <= 6)!;
  const yMax = Math.ceil(raw / step) * step;
  const Y = (v: number) => bottom - (v / yMax) * (bottom - top);
  for (let t = 0; t <= yMax + step / 2; t += step) {
    body.push(`<line x1="${left}" y1="${p(Y(t))}" x2="${right}" y2="${p(Y(t))}" stroke="#e6e6e6"/>`, text(left - 6, Y(t) + 4, fmt(t), { size: 11, anchor: 'end' }));
  }
  const gw = (right - left) / Math.max(1, o.groups.length);
  const bw = bw0;
  o.groups.forEach((g, gi) => {
    const x0 = left + gi * gw + (gw - bw * o.series.length) / 2;
    o.series.forEach((s, si) => {
      const v = o.values[gi]?.[si];
      if (v === undefined || !Number.isFinite(v)) return;
      const x = x0 + si * bw;
      const h = Math.max(0.5, bottom - Y(v));
      body.push(`<rect x="${p(x + 1)}" y="${p(bottom - h)}" width="${p(bw - 2)}" height="${p(h)}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${g} / ${s}: ${fmt(v)}`)}</title></rect>`);
      // Value labels above the bars; turned upright when the bars are too narrow for them.
      if (bw >= 34) body.push(text(x + bw / 2, bottom - h - 4, fmt(v), { size: 10, anchor: 'middle', fill: '#333' }));
      else if (bw >= 10) body.push(text(x + bw / 2 + 3.5, bottom - h - 4, fmt(v), { size: 10, anchor: 'start', fill: '#333', rotate: -90 }));
    });
    body.push(text(left + gi * gw + gw / 2, bottom + 18, g, { size: 12, anchor: 'middle' }));
  });
  if (o.reference) {
    const y = Y(o.reference.value);
    // Labelled in the legend, so that no text sits on the bars.
    body.push(`<line x1="${left}" y1="${p(y)}" x2="${right}" y2="${p(y)}" stroke="#b00020" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  }
  body.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#666"/>`, text(18, (top + bottom) / 2, o.yLabel, { size: 12, anchor: 'middle', rotate: -90 }));
  return frame(width, height, o.title, body);
}
