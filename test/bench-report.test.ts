// The benchmark report generator (bench/report): markdown from a small fixture results file,
// well-formed SVG charts, and one chart rendered to PNG with resvg.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { afterAll, describe, expect, it } from 'vitest';
import { growthGroups, logLogSlope, targets, type BenchResults } from '../bench/report/model.js';
import { renderReport, writeReport } from '../bench/report/write.js';

const fixture = JSON.parse(readFileSync(new URL('../bench/fixtures/results-small.json', import.meta.url), 'utf8')) as BenchResults;
fixture.growth = growthGroups(fixture.datasets, fixture.sweep);
const report = renderReport(fixture, 'bench/results/fixture.json');

/**
 * A small XML well-formedness check: every tag closed in order, attributes quoted, `&` only in
 * entities, one root element `<svg xmlns=...>`. Returns the problems found.
 */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  const tagRe = /<[^>]*>/g;
  let last = 0;
  for (let m = tagRe.exec(xml); m; m = tagRe.exec(xml)) {
    const between = xml.slice(last, m.index);
    last = m.index + m[0].length;
    if (/[<>]/.test(between)) problems.push(`stray bracket near ${between.slice(0, 30)}`);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(between)) problems.push(`bare & in text ${between.slice(0, 30)}`);
    const tag = m[0];
    if (tag.startsWith('<?') || tag.startsWith('<!--')) continue;
    const close = tag.startsWith('</');
    const self = tag.endsWith('/>');
    const name = /^<\/?([A-Za-z][\w:-]*)/.exec(tag)?.[1];
    if (!name) {
      problems.push(`bad tag ${tag.slice(0, 40)}`);
      continue;
    }
    if (!close) {
      const attrs = tag.slice(name.length + 1, self ? -2 : -1);
      const stripped = attrs.replace(/\s+[\w:-]+="[^"]*"/g, '').trim();
      if (stripped !== '') problems.push(`unquoted or malformed attributes in ${tag.slice(0, 60)}`);
      if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(attrs)) problems.push(`bare & in attribute of ${name}`);
      if (stack.length === 0) roots++;
      if (!self) stack.push(name);
    } else if (stack.pop() !== name) problems.push(`</${name}> closes the wrong element`);
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  if (!/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/.test(xml)) problems.push('root is not <svg xmlns=...>');
  return problems;
}

describe('benchmark report generator', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrec-bench-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a generated markdown report with every section, the targets and the charts', () => {
    const md = report.markdown;
    expect(md.startsWith('<!-- GENERATED')).toBe(true);
    for (const heading of ['# migrec benchmarks', '## Headline', '## Targets of issue 3', '## Item-kNN fit against the peers', '## Recommendation throughput', '## Quality', '## Micro-benchmarks', '## Cost growth']) {
      expect(md).toContain(heading);
    }
    expect(md).toContain('bench/results/fixture.json');
    expect(md).toContain('Fixture CPU, 2 cores');
    // Every chart is linked from the markdown.
    expect(report.charts.map((c) => c.file)).toEqual(['bench-fit-time.svg', 'bench-recommend.svg', 'bench-quality.svg']);
    for (const c of report.charts) expect(md).toContain(`](${c.file})`);
    // Figures come from the results: ratio 0.3 / 2.1 and the 2-thread recommendBatch rate.
    expect(md).toContain('0.143x');
    expect(md).toContain('130,253 users/s');
    // Noise: the spread of the repeats, and the ratios next to the previous run's.
    expect(md).toContain('| syn-1m | 22 % | - | - |');
    expect(md).toContain('| syn-1m | threads1 median vs scipy median | 0.200 | 0.214 | +7 % |');
    // The 'all' row equal to its 'cold' row is left out; the cold rows are there.
    expect(md).toMatch(/\| popularity \| toys \| cold \| 5 \| 0\.2000 \|/);
    expect(md).not.toMatch(/\| popularity \| toys \| all \|/);
  });

  it('judges every target of issue 3 from the figures, with the load', () => {
    const v = Object.fromEntries(targets(fixture).map((t) => [t.id, t]));
    expect(Object.keys(v)).toEqual(['fit-vs-scipy', 'fit-vs-c', 'syn10m', 'recommend', 'dense']);
    expect(v['fit-vs-scipy'].status).toBe('met'); // 0.3 / 2.1 = 0.143
    expect(v['fit-vs-scipy'].measured).toMatch(/^0\.143x \(2 threads/);
    expect(v['fit-vs-scipy'].load).toContain('others 0.80 of 2 cores');
    expect(v['fit-vs-c'].status).toBe('met'); // 0.4 / 0.356 = 1.124
    expect(v['fit-vs-c'].measured).toMatch(/^1\.124x/);
    expect(v.syn10m.status).toBe('not measured');
    expect(v.syn10m.measured).toBe('skipped by --quick');
    expect(v.recommend.status).toBe('not measured');
    expect(v.dense.status).toBe('met');
    expect(v.dense.measured).toMatch(/^90\.00x/);
    expect(report.markdown).toContain('| **met** |');
  });

  it('fits log-log slopes', () => {
    expect(logLogSlope([1, 10, 100], [2, 20, 200])).toBeCloseTo(1, 6);
    expect(logLogSlope([1, 10], [1, 100])).toBeCloseTo(2, 6);
    expect(logLogSlope([5], [1])).toBeNull();
    expect(fixture.growth!.map((g) => g.group.split(' ')[0])).toEqual(['syn-1m', 'synthetic', 'all']);
    const fit = fixture.growth![0].series.find((s) => s.name.startsWith('migrec item-kNN fit, 1 thread'))!;
    expect(fit.points.map((p) => p.dataset)).toEqual(['syn-1m-u1of2', 'syn-1m']);
    expect(fit.slope_vs_nnz).toBeCloseTo(Math.log(0.45 / 0.22) / Math.log(2), 2);
    const all = fixture.growth![2].series.find((s) => s.name.startsWith('migrec item-kNN fit, 1 thread'))!;
    expect(all.points.map((p) => p.dataset)).toEqual(['syn-tiny', 'syn-1m']);
    expect(report.markdown).toContain('| migrec item-kNN fit, 1 thread | s | syn-1m-u1of2 0.220, syn-1m 0.450 | 1.03 |');
  });

  it('makes well-formed SVG charts', () => {
    for (const c of report.charts) {
      expect(xmlProblems(c.svg), c.file).toEqual([]);
      expect(c.svg).toContain('<title>');
    }
    // The checker itself catches breakage.
    expect(xmlProblems('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>')).not.toEqual([]);
  });

  it('renders a chart to a PNG of the SVG size with something drawn on it', () => {
    const chart = report.charts[0];
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(chart.svg)![1]);
    const height = Number(/<svg[^>]* height="(\d+)"/.exec(chart.svg)![1]);
    const rendered = new Resvg(chart.svg, { background: '#ffffff' }).render();
    const png = rendered.asPng();
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(width);
    expect(png.readUInt32BE(20)).toBe(height);
    expect(png.length).toBeGreaterThan(5000);
    // Lines, markers and text cover a fair share of the pixels (not a blank page).
    const px = rendered.pixels;
    let inked = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200) inked++;
    expect(inked / (width * height)).toBeGreaterThan(0.01);
  });

  it('writes the markdown and the SVG files', () => {
    const files = writeReport(fixture, dir, 'fixture.json');
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['benchmarks.md', 'bench-fit-time.svg', 'bench-recommend.svg', 'bench-quality.svg']);
    for (const f of files) expect(existsSync(f)).toBe(true);
    expect(readFileSync(join(dir, 'benchmarks.md'), 'utf8')).toBe(report.markdown);
  });
});
