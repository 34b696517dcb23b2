/**
 * The browser build imports an ONNX teacher from bytes: src/browser.ts bundled by esbuild, served
 * from 127.0.0.1 to Debian's headless Chromium (WebGPU on SwiftShader without a GPU), loads
 * onnx_resnet8_bn.onnx with `loadOnnx(bytes)` and evaluates a batch; the page's logits equal
 * the Node build's and ONNX Runtime's within 1e-4·max|ref|.
 */
import { expect } from 'chai';
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../examples/web/browser-driver.js';
import * as kd from '../src/index.js';
import { randomValues, setup } from './helpers.js';
import { expectWithin, ortRun } from './onnx-helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = join(ROOT, 'test', 'fixtures', 'onnx_resnet8_bn.onnx');

/** The page's script: fetches the model's bytes and runs it on the data it is given. */
const ENTRY = `
import * as kd from './src/browser.ts';
window.runOnnx = async (data, shape) => {
  await kd.init();
  const bytes = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
  const model = kd.loadOnnx(bytes, { source: 'onnx_resnet8_bn.onnx' }).eval();
  const y = kd.noGrad(() => model.call(kd.tensor(Float32Array.from(data), shape)));
  const out = Array.from(await y.data());
  return { out };
};
window.ready = true;
`;

describe('ONNX import in the browser (headless Chromium)', function () {
  this.timeout(5 * 60_000);
  let server: Server;
  let url = '';
  let browser: Browser | null = null;

  before(async () => {
    await setup();
    const bundle = await build({ stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts' }, bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent' });
    const files: Record<string, [string, Uint8Array]> = {
      '/': ['text/html', new TextEncoder().encode('<!doctype html><title>onnx</title><script type="module" src="/page.js"></script>')],
      '/page.js': ['text/javascript', bundle.outputFiles[0].contents],
      '/model.onnx': ['application/octet-stream', new Uint8Array(readFileSync(MODEL))],
    };
    server = createServer((req, res) => {
      const f = files[req.url ?? ''];
      if (!f) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  it('loads a teacher from bytes and evaluates it to the Node figure and ONNX Runtime\'s', async () => {
    browser = await launchChromium({ webgpu: true });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 60_000 });
    const shape = [3, 3, 32, 32];
    const data = Float32Array.from(randomValues(3 * 3 * 32 * 32, 21, -1.5, 1.5));
    const result = await page.evaluate(
      ([d, s]) => (window as unknown as { runOnnx(d: number[], s: number[]): Promise<{ out: number[] }> }).runOnnx(d, s),
      [Array.from(data), shape] as const,
    );
    expect(errors, 'page errors').to.deep.equal([]);
    const model = kd.loadOnnxFile(MODEL).eval();
    const node = await kd.noGrad(() => model.call(kd.tensor(data, shape))).data();
    model.dispose();
    expectWithin(result.out, node, 'page vs Node');
    expectWithin(result.out, await ortRun(MODEL, data, shape), 'page vs ONNX Runtime');
  });
});
