/**
 * The playground in a real browser: builds `apps/playground` (unless `ADAPTERKIT_PLAYGROUND_DIST` names a build),
 * serves it on 127.0.0.1 and drives Debian's Chromium with playwright-core through the whole flow — load, train 30
 * steps in the worker, download, reload the download, classify, swap, stack — with a screenshot of each state in
 * `out/browser/`. Runs when `/usr/bin/chromium` (or `ADAPTERKIT_CHROMIUM`) exists and says it skipped otherwise;
 * `ADAPTERKIT_REQUIRE_BROWSER=1` (CI) makes a missing Chromium a failure.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlayground, CHROMIUM, CHROMIUM_ARGS, serveStatic, type StaticServer } from './serve';

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'out', 'browser');
const present = existsSync(CHROMIUM);

if (!present) {
  const msg = `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set ADAPTERKIT_CHROMIUM)`;
  if (process.env['ADAPTERKIT_REQUIRE_BROWSER'] === '1') throw new Error(`${msg}; ADAPTERKIT_REQUIRE_BROWSER=1 makes them mandatory`);
  console.warn(msg);
}

interface PageState {
  backend?: string;
  adapters: string[];
  active?: string;
  lastSwapMs?: number;
  firstPredictionMs?: number;
  loadMs?: number;
  prediction?: { label: string; probability: number; probabilities: number[] };
  training?: { step: number; totalSteps: number; losses: number[]; accuracy?: number; stepMs: number[]; done: boolean; error?: string };
  downloadBytes?: number;
}

const pageState = (page: Page): Promise<PageState> => page.evaluate(() => (globalThis as unknown as { playground: { state: PageState } }).playground.state);

describe.skipIf(!present)('playground in Chromium', () => {
  let server: StaticServer;
  let browser: Browser;
  beforeAll(async () => {
    const dist = process.env['ADAPTERKIT_PLAYGROUND_DIST'] ?? (await buildPlayground('playground'));
    server = await serveStatic(dist);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    mkdirSync(OUT, { recursive: true });
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const backend of ['wasm', 'webgl'] as const) {
    it(`${backend}: load, train 30 steps in a worker, download, reload the download, classify, swap, stack`, async () => {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1300 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/index.html`);
      await page.selectOption('#backend', backend);
      await page.click('#start');
      await page.waitForFunction(() => (globalThis as unknown as { playground: { state: PageState } }).playground.state.loadMs !== undefined, null, { timeout: 120_000 });
      expect((await pageState(page)).backend).toBe(backend);
      await page.screenshot({ path: join(OUT, `${backend}-1-loaded.png`), fullPage: true });

      await page.fill('#train-steps', '30');
      await page.click('#train');
      await page.waitForFunction(() => ((globalThis as unknown as { playground: { state: PageState } }).playground.state.training?.step ?? 0) >= 10, null, { timeout: 240_000 });
      await page.screenshot({ path: join(OUT, `${backend}-2-training.png`), fullPage: true });
      await page.waitForFunction(
        () => {
          const s = (globalThis as unknown as { playground: { state: PageState } }).playground.state;
          return s.training?.error !== undefined || (s.training?.done === true && s.adapters.includes('mytask') && s.prediction !== undefined);
        },
        null,
        { timeout: 300_000 },
      );
      let s = await pageState(page);
      expect(s.training?.error).toBeUndefined();
      expect(s.training!.step).toBe(30);
      expect(s.training!.losses).toHaveLength(30);
      expect(s.training!.accuracy).toBeGreaterThanOrEqual(0);
      expect(s.downloadBytes).toBeGreaterThan(1000);
      const trainedPrediction = s.prediction!;
      await page.screenshot({ path: join(OUT, `${backend}-3-trained-classified.png`), fullPage: true });

      // Download the zip, load it again under another name from the file input: the same prediction.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      const zipPath = join(OUT, `${backend}-mytask.zip`);
      await download.saveAs(zipPath);
      await page.evaluate(() => {
        const s = (globalThis as unknown as { playground: { state: PageState } }).playground.state;
        s.prediction = undefined;
      });
      await page.fill('#load-as', 'copy');
      await page.setInputFiles('#pick-zip', zipPath);
      await page.waitForFunction(() => (globalThis as unknown as { playground: { state: PageState } }).playground.state.prediction !== undefined, null, { timeout: 60_000 });
      s = await pageState(page);
      expect(s.adapters).toEqual(['mytask', 'copy']);
      expect(s.active).toBe('copy');
      expect(s.prediction!.label).toBe(trainedPrediction.label);
      expect(s.prediction!.probability).toBeCloseTo(trainedPrediction.probability, 4);

      // Classify other text, stack the two adapters, hot-swap back to the first.
      await page.fill('#text', 'Meeting notes from today are attached, see you tomorrow');
      await page.click('#classify');
      const hamPrediction = (await pageState(page)).prediction!;
      expect(hamPrediction.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      await page.screenshot({ path: join(OUT, `${backend}-4-classified.png`), fullPage: true });
      await page.fill('#stack', 'copy,mytask');
      await page.click('#stack-btn');
      await page.click('button[data-activate="mytask"]');
      s = await pageState(page);
      expect(s.active).toBe('mytask');
      expect(s.lastSwapMs).toBeGreaterThan(0);
      await page.screenshot({ path: join(OUT, `${backend}-5-swapped.png`), fullPage: true });
      expect(errors).toEqual([]);
      console.log(
        `[browser ${backend}] load ${s.loadMs!.toFixed(0)} ms, first prediction ${s.firstPredictionMs?.toFixed(0)} ms, swap ${s.lastSwapMs!.toFixed(1)} ms, ` +
          `train step median ${median(s.training!.stepMs).toFixed(0)} ms, held-out accuracy ${s.training!.accuracy}, zip ${s.downloadBytes} B`,
      );
      await page.close();
    }, 600_000);
  }
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
