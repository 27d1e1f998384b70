/// <reference lib="dom" />
/** Driving the playground page in headless Chromium (Debian's /usr/bin/chromium via puppeteer-core). */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Where the tests save their screenshots (git-ignored). */
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'browser');

export function launch(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

/** Open the page and wait until it is ready (or failed: then throw its status line). */
export async function open(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push((e as Error).message));
  await page.setViewport({ width: 1200, height: 1000 });
  await page.goto(url);
  await settled(page);
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
  return page;
}

/** Wait for the page's state to leave loading/running; returns [state, status line]. */
export async function settled(page: Page): Promise<[string, string]> {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), { timeout: 120_000 });
  return page.evaluate(() => [document.body.dataset.state ?? '', document.getElementById('status')?.textContent ?? ''] as [string, string]);
}

/** Set form fields (by id) and fire their input/change events. */
export async function fill(page: Page, values: Record<string, string | number>): Promise<void> {
  for (const [id, value] of Object.entries(values)) {
    await page.$eval(
      `#${id}`,
      (el, v) => {
        (el as HTMLInputElement).value = v;
        el.dispatchEvent(new Event('input', { bubbles: true }));
        el.dispatchEvent(new Event('change', { bubbles: true }));
      },
      String(value),
    );
  }
}

/** Choose files in the page's file input (as a user dropping them) and wait until the model is loaded or refused. */
export async function upload(page: Page, paths: string[]): Promise<[string, string]> {
  const input = await page.$('#files');
  if (!input) throw new Error('no file input');
  await page.evaluate(() => {
    document.body.dataset.state = 'loading';
  });
  await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(...paths);
  return settled(page);
}

/** The `.onnx` files of an export directory. */
export function onnxFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => join(dir, f));
}

/** Click a button and wait for the action to finish; throws the status line when it failed. */
export async function act(page: Page, button: string): Promise<string> {
  await page.evaluate(() => {
    document.body.dataset.state = 'running';
  });
  await page.click(`#${button}`);
  const [state, status] = await settled(page);
  if (state !== 'ready') throw new Error(`#${button}: ${status}`);
  return status;
}

/** The page's last result as plain arrays. */
export function last(page: Page): Promise<{
  action: string;
  samples: number[];
  sources: number[] | null;
  logp: number[] | null;
  points: number[] | null;
  steps: number | null;
}> {
  return page.evaluate(() => {
    const l = (window as unknown as { nfdmPlayground: { last: Record<string, unknown> } }).nfdmPlayground.last;
    const arr = (v: unknown) => (v ? Array.from(v as ArrayLike<number>) : null);
    return {
      action: l.action as string,
      samples: arr(l.samples) ?? [],
      sources: arr(l.sources),
      logp: arr(l.logp),
      points: arr(l.points),
      steps: l.trajectory ? (l.trajectory as { times: number[] }).times.length - 1 : null,
    };
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * max |a − b| / (1 + |b|): onnxruntime-web's wasm kernels and onnxruntime-node's native ones
 * round float32 differently (summation order, FMA), and a solve carries those ulps along.
 */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}
