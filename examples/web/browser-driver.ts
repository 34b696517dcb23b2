/**
 * Drives the page in Debian's Chromium (headless, through playwright-core; no browser download):
 * used by test/web.test.ts and examples/web/screenshot.ts. WebGPU on Linux needs the flags below
 * (SwiftShader when there is no GPU); without them the page must say that WebGPU is missing.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.KDGPU_CHROMIUM ?? '/usr/bin/chromium';
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan'];

export async function launchChromium(opts: { webgpu: boolean }): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it with  sudo apt-get install -y chromium  (or set KDGPU_CHROMIUM)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...(opts.webgpu ? WEBGPU_FLAGS : []), '--no-sandbox'] });
}

/** What the page reports on window.kdgpuPage (see examples/web/src/main.ts). */
export interface PageReport {
  state: string;
  error: string | null;
  adapter: string | null;
  dataset: string | null;
  teacher: { model: string; accuracy: number; params: number; flops: number } | null;
  run: {
    config: Record<string, number>;
    scratch: { accuracy: number };
    kd: { accuracy: number };
    losses: { student: 'scratch' | 'kd'; step: number; loss: number }[];
    accuracy: { student: 'scratch' | 'kd'; step: number; accuracy: number }[];
    steps: number;
  } | null;
  sweep: { temperature: number; accuracy: number }[] | null;
}

export interface PageRun {
  report: PageReport;
  /** Uncaught errors and console errors seen while the page ran. */
  errors: string[];
}

/**
 * Opens `url` and waits until the page's state matches `until` (or it fails); logs progress
 * lines from the page's status to `log` every few seconds.
 */
export async function runPage(page: Page, url: string, until: (r: PageReport) => boolean, timeoutMs: number, log?: (line: string) => void): Promise<PageRun> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  const t0 = Date.now();
  let last = '';
  for (;;) {
    const report = (await page.evaluate(() => (window as unknown as { kdgpuPage?: unknown }).kdgpuPage ?? null)) as PageReport | null;
    if (report && (until(report) || report.state === 'error' || report.state === 'no-webgpu')) return { report, errors };
    if (Date.now() - t0 > timeoutMs) throw new Error(`the page did not finish in ${timeoutMs / 1000} s (state ${report?.state}, status "${last}")`);
    const status = (await page.textContent('#status')) ?? '';
    if (status !== last && log) log(`${((Date.now() - t0) / 1000).toFixed(0)} s: ${status}`);
    last = status;
    await page.waitForTimeout(2000);
  }
}
