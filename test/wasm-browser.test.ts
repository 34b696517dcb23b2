/**
 * The suite's tfjs-wasm peers in headless Chromium (bench/lib/wasm-browser.ts): the page must run
 * the threaded SIMD build with 2 threads when asked (cross-origin isolated), the one-thread SIMD
 * build otherwise (the build is told by the .wasm file the page fetched), and run a matmul and
 * an MLP training step from case descriptions (only that they run: no timing thresholds).
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { WasmBrowser, type WasmPage } from '../bench/lib/wasm-browser.js';

describe('tfjs-wasm in headless Chromium (bench peer)', function () {
  this.timeout(120_000);
  let browser: WasmBrowser;

  before(async () => {
    await kd.init(); // the Node side builds the step's model to send its layers
    browser = await WasmBrowser.launch();
  });

  after(async () => {
    await browser?.close();
  });

  async function runCases(page: WasmPage): Promise<void> {
    await page.setup('mm', { kind: 'matmul', m: 33, k: 65, n: 17 });
    await page.setup('mlp', { kind: 'step', model: 'mnist-mlp-student', batch: 8 });
    for (const id of ['mm', 'mlp']) {
      for (let i = 0; i < 2; i++) {
        const s = await page.run(id);
        expect(s.wallMs, id).to.be.above(0);
      }
      await page.drop(id);
    }
    let err = '';
    await page.setup('x', { kind: 'nope' } as never).catch((e: Error) => (err = e.message));
    expect(err).to.include('unknown case kind nope');
  }

  it('runs the threaded SIMD build with 2 threads, cross-origin isolated', async () => {
    const page = await browser.open(2);
    expect(page.info).to.include({ crossOriginIsolated: true, multithread: true, simd: true, threads: 2 });
    expect(page.wasmFile).to.equal('tfjs-backend-wasm-threaded-simd.wasm');
    expect(page.describe()).to.include('2 threads');
    await runCases(page);
  });

  it('runs the one-thread SIMD build with 1 thread', async () => {
    const page = await browser.open(1);
    expect(page.info).to.include({ multithread: false, simd: true, threads: 1 });
    expect(page.wasmFile).to.equal('tfjs-backend-wasm-simd.wasm');
    await runCases(page);
  });
});
