/**
 * The inspection page in a real browser: Debian's chromium driven by playwright-core (never a
 * downloaded browser). The page is opened on 127.0.0.1, a user is picked, and the items and scores
 * it shows must be the API's; a link with ?user=U shows that user at once; a screenshot is taken
 * into a temporary folder. Without /usr/bin/chromium the test is skipped, except under CI=true,
 * where it fails (.ci/run installs chromium).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Service } from '../src/cli/serve/service.js';
import { tempFiles } from './helpers/data.js';
import { call, fitTwoDomain } from './helpers/serve.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') throw new Error(`CI=true but ${CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)`);

const tmp = tempFiles('migrec-browser-');
const profile = mkdtempSync(join(tmpdir(), 'migrec-chromium-profile-'));
let service: Service;
let context: BrowserContext;

beforeAll(async () => {
  if (!available) return;
  service = await Service.start({ model: await fitTwoDomain(tmp.dir, 'fused.migrec'), port: 0 });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await context?.close();
  await service?.shutdown();
  rmSync(profile, { recursive: true, force: true });
  tmp.remove();
});

/** The recommendations the page shows: item ids and the scores it printed and holds. */
async function shown(page: Page): Promise<Array<{ item: string; text: string; score: number }>> {
  return page.$$eval('#recs tbody tr', (rows) =>
    rows.map((r) => ({ item: (r.querySelector('td.item') as HTMLElement).textContent ?? '', text: (r.querySelector('td.score') as HTMLElement).textContent ?? '', score: Number((r as HTMLElement).dataset.score) })),
  );
}

/** What the page must show for a user: the API's list, with scores printed to 6 significant digits. */
async function expected(user: string): Promise<Array<{ item: string; text: string; score: number }>> {
  const api = (await call(service.url, `/v1/recommend?user=${encodeURIComponent(user)}&k=10`)).body as { items: string[]; scores: number[] };
  expect(api.items.length).toBeGreaterThan(0);
  return api.items.map((item, i) => ({ item, text: api.scores[i].toPrecision(6), score: api.scores[i] }));
}

describe.skipIf(!available)(`inspection page in chromium (${available ? CHROMIUM : `skipped: ${CHROMIUM} is not installed`})`, () => {
  it('picking a user shows the API recommendations, the history, reasons and the model card; screenshot', async () => {
    const page = await context.newPage();
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    await page.goto(`${service.url}/`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.textContent('#model-line')).toContain('migrec model');
    expect(await page.$$eval('#card-domains tbody tr', (rows) => rows.length)).toBe(2);
    // Picking one of the listed users.
    await page.click('#samples button[data-user="a1"]');
    await page.waitForSelector('body[data-shown="a1"]');
    expect(await shown(page)).toEqual(await expected('a1'));
    expect(page.url()).toBe(`${service.url}/?user=a1`);
    // Typing a user id and pressing Show: a user cold in the target.
    await page.fill('#user-input', 'cold-a');
    await page.click('#show');
    await page.waitForSelector('body[data-shown="cold-a"]');
    expect(await shown(page)).toEqual(await expected('cold-a'));
    expect(await page.textContent('#bucket-name')).toBe('cold');
    expect(await page.$$eval('#history .domain-history', (ds) => ds.map((d) => (d as HTMLElement).dataset.domain))).toEqual(['src']);
    const reasons = await page.$$eval('#recs td.why', (cells) => cells.map((c) => c.textContent ?? ''));
    expect(reasons[0]).toMatch(/^because /);
    expect(await page.$$eval('#recs tbody tr:first-child svg rect', (rects) => rects.length)).toBeGreaterThan(0);
    const shot = join(tmp.dir, 'page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    expect(failures).toEqual([]);
    await page.close();
  });

  it('a link with ?user=U shows that user at once; an unknown user shows the error', async () => {
    const page = await context.newPage();
    await page.goto(`${service.url}/?user=a3`);
    await page.waitForSelector('body[data-shown="a3"]');
    expect(await shown(page)).toEqual(await expected('a3'));
    await page.goto(`${service.url}/?user=ghost`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.textContent('#status')).toBe('UNKNOWN_ID: unknown user "ghost": not in the training data');
    expect(await page.isHidden('#user-view')).toBe(true);
    await page.close();
  });
});
