/**
 * The playground in a real browser: builds `apps/playground` (unless `ADAPTERKIT_PLAYGROUND_DIST` names a build),
 * serves it on 127.0.0.1 and drives Debian's Chromium with playwright-core: the backend `initBackend` picks on its
 * own (and what it skipped), then on wasm, WebGL and WebGPU the whole flow — load, the shipped spam example on a spam
 * and a ham e-mail, train 30 steps (WebGPU: 10) in the worker, download, reload the download, stack, hot-swap — with
 * a screenshot of each state in `out/browser/`. Runs when `/usr/bin/chromium` (or `ADAPTERKIT_CHROMIUM`) exists and
 * says it skipped otherwise; `ADAPTERKIT_REQUIRE_BROWSER=1` (CI) makes a missing Chromium a failure.
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
  backendInfo?: { package: string; device?: string; notes: string[]; skipped: Array<{ name: string; reason: string }> };
  adapters: string[];
  active?: string;
  lastSwapMs?: number;
  lastSwapPredictionMs?: number;
  firstPredictionMs?: number;
  loadMs?: number;
  prediction?: { label: string; probability: number; probabilities: number[] };
  training?: { step: number; totalSteps: number; losses: number[]; accuracy?: number; stepMs: number[]; done: boolean; error?: string };
  downloadBytes?: number;
}

type Win = { playground: { state: PageState } };
const pageState = (page: Page): Promise<PageState> => page.evaluate(() => (globalThis as unknown as Win).playground.state);

/** E-mails that are not in the spam dataset ("Subject\n\nbody", as its texts), from `pnpm start`'s predictions. */
const SPAM_EMAIL =
  'Congratulations, you have been selected!\n\nYou are the lucky winner of a FREE $1,000 gift card. Click here now to claim your prize before it expires. No purchase necessary!!!';
const HAM_EMAIL =
  'Re: patch for the config parser\n\nThanks for the patch. I applied it to the 2.4 branch, but the unit tests fail on my machine because the locale is not set. Could you have a look before Friday?';

/** Clears the page's last prediction, runs `action`, and waits for the prediction it produces. */
async function predictionAfter(page: Page, action: () => Promise<unknown>): Promise<NonNullable<PageState['prediction']>> {
  await page.evaluate(() => void ((globalThis as unknown as Win).playground.state.prediction = undefined));
  await action();
  await page.waitForFunction(() => (globalThis as unknown as Win).playground.state.prediction !== undefined, null, { timeout: 120_000 });
  return (await pageState(page)).prediction!;
}

/** Activates `setup` with the page's button and waits until the swap and the prediction after it are done. */
async function swapTo(page: Page, button: string, head: string): Promise<PageState> {
  await page.evaluate(() => {
    const s = (globalThis as unknown as Win).playground.state;
    s.active = undefined;
    s.lastSwapPredictionMs = undefined;
  });
  await page.click(button);
  await page.waitForFunction((h) => {
    const s = (globalThis as unknown as Win).playground.state;
    return s.active === h && s.lastSwapPredictionMs !== undefined;
  }, head, { timeout: 120_000 });
  return pageState(page);
}

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

  it('auto: initBackend picks the first backend that starts and the page shows what it skipped and why', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/index.html`);
    await page.click('#start');
    await page.waitForFunction(() => (globalThis as unknown as Win).playground.state.loadMs !== undefined, null, { timeout: 120_000 });
    const s = await pageState(page);
    const order = ['webgpu', 'webgl', 'wasm', 'cpu'];
    expect(order).toContain(s.backend);
    // everything before the chosen backend was tried and skipped, with a reason
    expect(s.backendInfo!.skipped.map((x) => x.name)).toEqual(order.slice(0, order.indexOf(s.backend!)));
    for (const x of s.backendInfo!.skipped) expect(x.reason.length).toBeGreaterThan(10);
    // this machine's only WebGPU adapter is SwiftShader's fallback: auto skips it (asked by name, it is used)
    const adapter = await page.evaluate(async () => {
      const a = await (globalThis as unknown as { navigator: { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean } } | null> } } }).navigator.gpu?.requestAdapter();
      return a ? { fallback: a.info?.isFallbackAdapter === true } : null;
    });
    if (adapter?.fallback) expect(s.backendInfo!.skipped[0]).toMatchObject({ name: 'webgpu', reason: expect.stringMatching(/only a fallback WebGPU adapter/) });
    const text = await page.textContent('#backend-info');
    expect(text).toContain(`initBackend() chose ${s.backend}`);
    for (const x of s.backendInfo!.skipped) expect(text).toContain(`skipped ${x.name}: ${x.reason}`);
    await page.screenshot({ path: join(OUT, 'auto-backend.png'), fullPage: true });
    console.log(`[browser auto] chose ${s.backend} (${s.backendInfo!.package}); skipped ${s.backendInfo!.skipped.map((x) => `${x.name}: ${x.reason}`).join('; ') || 'nothing'}`);
    await page.close();
  }, 300_000);

  /**
   * Training steps per backend. 30 on wasm and WebGL (the flow the issue asks for); 10 on WebGPU, whose only adapter
   * here is SwiftShader's CPU emulation: a step there takes 10-40 s on this loaded 2-core machine (apps/playground/README.md),
   * so 30 steps would take the test past 15 minutes without checking anything more.
   */
  const STEPS = { wasm: 30, webgl: 30, webgpu: 10 } as const;

  for (const backend of ['wasm', 'webgl', 'webgpu'] as const) {
    const steps = STEPS[backend];
    it(`${backend}: load, the shipped spam example on a spam and a ham e-mail, train ${steps} steps in a worker, download, reload, swap, stack`, async () => {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/index.html`);
      await page.selectOption('#backend', backend);
      await page.click('#start');
      await page.waitForFunction(() => (globalThis as unknown as Win).playground.state.loadMs !== undefined, null, { timeout: 120_000 });
      expect((await pageState(page)).backend).toBe(backend);
      expect(await page.textContent('#backend-info')).toContain(`initBackend('${backend}') chose ${backend}`);
      await page.screenshot({ path: join(OUT, `${backend}-1-loaded.png`), fullPage: true });

      // The spam adapter `pnpm start` trains, shipped as a static AdapterHub folder: one click loads and activates it.
      await page.fill('#text', SPAM_EMAIL);
      const first = await predictionAfter(page, () => page.click('button[data-example="spam"]'));
      let s = await pageState(page);
      expect(s.adapters).toEqual(['spam']);
      expect(s.active).toBe('spam');
      expect(first.label).toBe('spam');
      await page.screenshot({ path: join(OUT, `${backend}-2-example-spam.png`), fullPage: true });
      const firstPredictionMs = s.firstPredictionMs!;
      await page.fill('#text', HAM_EMAIL);
      const ham = await predictionAfter(page, () => page.click('#classify'));
      expect(ham.label).toBe('ham');
      await page.screenshot({ path: join(OUT, `${backend}-3-example-ham.png`), fullPage: true });

      await page.fill('#train-steps', String(steps));
      await page.click('#train');
      // a screenshot mid-way: progress bar part-filled, loss curve of the steps so far
      await page.waitForFunction((n) => ((globalThis as unknown as Win).playground.state.training?.step ?? 0) >= n, Math.ceil(steps / 3), { timeout: 600_000 });
      await page.screenshot({ path: join(OUT, `${backend}-4-training.png`), fullPage: true });
      await page.waitForFunction(
        () => {
          const st = (globalThis as unknown as Win).playground.state;
          return st.training?.error !== undefined || (st.training?.done === true && st.active === 'mytask' && st.lastSwapPredictionMs !== undefined);
        },
        null,
        { timeout: 900_000 },
      );
      s = await pageState(page);
      expect(s.training?.error).toBeUndefined();
      expect(s.training!.step).toBe(steps);
      expect(s.training!.losses).toHaveLength(steps);
      expect(s.training!.losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
      expect(s.training!.accuracy).toBeGreaterThanOrEqual(0);
      expect(s.downloadBytes).toBeGreaterThan(1000);
      const trainedPrediction = s.prediction!;
      await page.screenshot({ path: join(OUT, `${backend}-5-trained.png`), fullPage: true });

      // Download the zip, load it again under another name from the file input: the same prediction.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      const zipPath = join(OUT, `${backend}-mytask.zip`);
      await download.saveAs(zipPath);
      await page.fill('#load-as', 'copy');
      const reloaded = await predictionAfter(page, () => page.setInputFiles('#pick-zip', zipPath));
      s = await pageState(page);
      expect(s.adapters).toEqual(['spam', 'mytask', 'copy']);
      expect(s.active).toBe('copy');
      expect(reloaded.label).toBe(trainedPrediction.label);
      expect(reloaded.probability).toBeCloseTo(trainedPrediction.probability, 4);

      // Stack the two trained adapters, then hot-swap back to the spam example: its prediction is back.
      await page.fill('#stack', 'copy,mytask');
      s = await swapTo(page, '#stack-btn', 'mytask');
      expect(s.prediction!.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      s = await swapTo(page, 'button[data-activate="spam"]', 'spam');
      expect(s.prediction!.label).toBe('ham');
      expect(s.prediction!.probability).toBeCloseTo(ham.probability, 4);
      await page.screenshot({ path: join(OUT, `${backend}-6-swapped.png`), fullPage: true });
      // swap timings: mytask → spam → mytask, the last one reported
      s = await swapTo(page, 'button[data-activate="mytask"]', 'mytask');
      expect(s.lastSwapMs).toBeGreaterThan(0);
      expect(s.lastSwapPredictionMs).toBeGreaterThanOrEqual(s.lastSwapMs!);
      expect(errors).toEqual([]);
      console.log(
        `[browser ${backend}] load ${s.loadMs!.toFixed(0)} ms, first prediction (load + example + classify) ${firstPredictionMs.toFixed(0)} ms, ` +
          `swap ${s.lastSwapMs!.toFixed(1)} ms (+ prediction ${s.lastSwapPredictionMs!.toFixed(1)} ms), ` +
          `train step median ${median(s.training!.stepMs).toFixed(0)} ms, held-out accuracy ${s.training!.accuracy}, zip ${s.downloadBytes} B`,
      );
      await page.close();
    }, 1_500_000);
  }
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
