/**
 * The browser page (examples/web), end to end in Debian's headless Chromium on SwiftShader:
 * a short distillation (200 steps of each student) and a two-point T sweep run in the page; its
 * accuracy must rise above 70%, its charts must have points, and its losses after 200 steps
 * must equal what the same recipe gives through the Node API (same kernels, same seed, same
 * subset) within 1e-3. Without the WebGPU flags, or when the GPU process dies, the page must
 * show a readable message.
 * A screenshot goes to $KDGPU_WEB_SCREENSHOT (default: the OS temp folder).
 */
import { expect } from 'chai';
import { readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import * as kd from '../src/index.js';
import { launchChromium, runPage, type PageReport } from '../examples/web/browser-driver.js';
import { loadFashion, loadTeacher, runSideBySide } from '../examples/web/src/recipe.js';
import { startWebServer, TEACHER_FILE, WEB_DIR, type WebServer } from '../examples/web/server.js';

/** 3,200 shipped images at batch 64: 50 steps an epoch, 4 epochs = 200 steps. */
const RECIPE = { trainCount: 3200, batchSize: 64, epochs: 4, temperature: 4, alpha: 0.9, seed: 0, lr: 1e-3 };
const QUERY = `?autorun=1&labelled=${RECIPE.trainCount}&batch=${RECIPE.batchSize}&epochs=${RECIPE.epochs}&T=${RECIPE.temperature}&alpha=${RECIPE.alpha}&seed=${RECIPE.seed}&sweep=1&sweepT=1,4&sweepEpochs=1`;
const SCREENSHOT = process.env.KDGPU_WEB_SCREENSHOT ?? join(tmpdir(), 'kdgpu-web-page.png');

describe('web page (headless Chromium)', function () {
  this.timeout(15 * 60_000);
  let web: WebServer;
  let browser: Browser | null = null;
  let page: PageReport;

  before(async () => {
    web = await startWebServer({ port: 0 });
  });
  after(async () => {
    await browser?.close();
    await web?.close();
  });

  it('distills in the page: accuracy rises above 70%, the charts have points, a screenshot is saved', async () => {
    browser = await launchChromium({ webgpu: true });
    const tab = await browser.newPage({ viewport: { width: 1320, height: 900 } });
    const { report, errors } = await runPage(tab, web.url + QUERY, (r) => r.state === 'done' && r.sweep !== null, 12 * 60_000);
    expect(report.error, 'page error').to.equal(null);
    expect(report.state).to.equal('done');
    expect(errors, 'errors in the page').to.deep.equal([]);
    page = report;
    const run = report.run!;
    expect(report.adapter).to.be.a('string');
    expect(report.teacher!.accuracy).to.be.greaterThan(0.8);
    expect(run.steps).to.equal(200);
    expect(run.kd.accuracy).to.be.greaterThan(0.7);
    expect(run.scratch.accuracy).to.be.greaterThan(0.7);
    // Accuracy rises from the untrained student's (~10%) to the final one.
    const start = run.accuracy.find((p) => p.step === 0 && p.student === 'kd')!.accuracy;
    expect(start).to.be.lessThan(0.3);
    // Charts: one symbol per accuracy point (5 per student), a loss line per student, a point per sweep run.
    const symbols = await tab.locator('#accuracy-chart svg g.mark-symbol.role-mark path').count();
    expect(symbols).to.equal(run.accuracy.length).and.to.equal(10);
    expect(await tab.locator('#loss-chart svg g.mark-line.role-mark path').count()).to.equal(2);
    expect(run.losses.filter((p) => p.student === 'kd')).to.have.length(20);
    expect(report.sweep!.map((s) => s.temperature)).to.deep.equal([1, 4]);
    expect(await tab.locator('#sweep-chart svg g.mark-symbol.role-mark path').count()).to.equal(2);
    // The table lists teacher and both students; the grid shows 24 labelled test images.
    expect(await tab.locator('#summary tbody tr').count()).to.equal(3);
    expect(await tab.locator('#summary tbody').textContent()).to.include('2,395,210');
    expect(await tab.locator('#grid figure').count()).to.equal(24);
    await tab.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = PNG.sync.read(readFileSync(SCREENSHOT));
    expect(png.width).to.equal(1320);
    expect(png.height).to.be.greaterThan(900);
    expect(statSync(SCREENSHOT).size).to.be.greaterThan(20_000);
  });

  it('reports the numbers the Node API gives for the same seed and subset (loss after 200 steps within 1e-3)', async function () {
    if (!page) throw new Error('the page run above failed; nothing to compare');
    await kd.init();
    const data = await loadFashion(async (name) => new Uint8Array(readFileSync(join(WEB_DIR, 'data', name))));
    const teacher = loadTeacher(new Uint8Array(readFileSync(TEACHER_FILE)), TEACHER_FILE);
    const node = await runSideBySide(teacher.model, data, RECIPE);
    try {
      for (const student of ['scratch', 'kd'] as const) {
        const inPage = page.run!.losses.find((p) => p.student === student && p.step === 200)!.loss;
        const inNode = node.losses.find((p) => p.student === student && p.step === 200)!.loss;
        expect(Math.abs(inPage - inNode), `${student} loss at step 200: page ${inPage}, Node ${inNode}`).to.be.at.most(1e-3);
        expect(Math.abs(page.run![student].accuracy - node[student].test.accuracy), `${student} test accuracy`).to.be.at.most(0.005);
      }
      expect(page.teacher!.accuracy).to.be.closeTo((await kd.nn.evaluate(teacher.model, data.test)).accuracy, 1e-9);
    } finally {
      teacher.model.dispose();
      for (const m of Object.values(node.models)) m.dispose();
    }
  });

  it('says so when the GPU device is lost (GPU process crashed through the DevTools protocol)', async () => {
    const b = await launchChromium({ webgpu: true });
    try {
      const tab = await b.newPage();
      const ready = await runPage(tab, web.url, (r) => r.state === 'ready', 120_000);
      expect(ready.report.state).to.equal('ready');
      const cdp = await b.newBrowserCDPSession();
      await cdp.send('Browser.crashGpuProcess' as Parameters<typeof cdp.send>[0]);
      await tab.waitForFunction(() => document.body.dataset.state === 'error', undefined, { timeout: 30_000 });
      const message = await tab.locator('#error').innerText();
      expect(message).to.match(/GPU device was lost/);
      expect(message).to.match(/reload the page/);
      expect(await tab.locator('#run').isDisabled()).to.equal(true);
    } finally {
      await b.close();
    }
  });

  it('says that WebGPU is missing when Chromium runs without the WebGPU flags', async () => {
    const plain = await launchChromium({ webgpu: false });
    try {
      const tab = await plain.newPage();
      const { report, errors } = await runPage(tab, web.url, (r) => r.state !== 'loading', 60_000);
      expect(report.state).to.equal('no-webgpu');
      expect(errors, 'errors in the page').to.deep.equal([]);
      const message = await tab.locator('#error').innerText();
      expect(await tab.locator('#error').isVisible()).to.equal(true);
      expect(message).to.match(/WebGPU/);
      expect(message).to.not.match(/\bat \S+:\d+/); // no stack trace
      expect(await tab.locator('#run').isDisabled()).to.equal(true);
    } finally {
      await plain.close();
    }
  });
});
