/**
 * TensorFlow.js's WASM backend in headless Chromium, for the suite's tfjs-wasm peers that Node
 * cannot run: the threaded SIMD build starts its threads as Web Workers from blob URLs, which
 * Node's worker_threads refuse. The tfjs runners (bench/web/wasm-peer-page.ts) are bundled with
 * esbuild and served from 127.0.0.1 with the headers that make the page cross-origin isolated
 * (SharedArrayBuffer, hence threads); each page runs one thread count and times its own runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import type { CaseDescription, PageInfo, WasmPeerApi } from '../web/wasm-peer-api.js';
import { builtinLayers } from './tfjs-models.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WASM_DIR = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** Debian's Chromium (installed by scripts/setup.sh); KDGPU_CHROMIUM overrides it. */
export const CHROMIUM = process.env.KDGPU_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The runners import kdgpu's Node entry, tfjs.ts (Node-only: it also loads the WebGPU backend)
 * and timing.ts (node:v8 for the settle step); the page gets kdgpu's browser entry, tfjs-core,
 * and empty Node built-ins (the runners do not call what needs them).
 */
const browserAliases: Plugin = {
  name: 'wasm-peer-aliases',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
    b.onResolve({ filter: /\/src\/index\.js$/ }, (a) => {
      const p = resolve(a.resolveDir, a.path);
      return p === join(ROOT, 'src', 'index.js') ? { path: join(ROOT, 'src', 'browser.ts') } : undefined;
    });
    b.onResolve({ filter: /^\.\/tfjs\.js$/ }, (a) =>
      resolve(a.resolveDir) === join(ROOT, 'bench', 'lib') ? { path: join(ROOT, 'bench', 'web', 'tfjs-page.ts') } : undefined,
    );
  },
};

async function bundlePage(): Promise<string> {
  const r = await build({
    entryPoints: [join(ROOT, 'bench', 'web', 'wasm-peer-page.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [browserAliases],
  });
  return r.outputFiles[0].text;
}

/** Same-origin isolation: SharedArrayBuffer (the threads' shared memory) exists only then. */
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin', 'cache-control': 'no-store' };
const HTML = '<!doctype html><meta charset="utf-8"><title>tfjs-wasm peer</title><script type="module" src="/page.js"></script>';

/** The page's global, as the functions evaluated in it see it. */
type PageGlobal = { wasmPeer: WasmPeerApi };

/** One page: the WASM backend with a fixed thread count. */
export class WasmPage {
  private constructor(
    private readonly page: Page,
    private readonly cdp: CDPSession,
    /** How the backend initialized, as the page reports it. */
    readonly info: PageInfo,
    /** The .wasm binary the page fetched. */
    readonly wasmFile: string,
    private readonly chromiumVersion: string,
  ) {}

  /** @internal Opens `url` and waits for the backend. */
  static async open(browser: Browser, url: string, threads: number, fetched: () => string[]): Promise<WasmPage> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/?threads=${threads}`);
    await page.waitForFunction(() => 'wasmPeer' in globalThis, undefined, { timeout: 60_000 }).catch(() => {
      throw new Error(`the tfjs-wasm page did not load: ${errors.join('; ') || 'no error reported'}`);
    });
    const info = await page.evaluate(() => (globalThis as unknown as PageGlobal).wasmPeer.ready);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    return new WasmPage(page, cdp, info, fetched().at(-1) ?? 'unknown', browser.version());
  }

  /** The peer's description for the results file. */
  describe(): string {
    const i = this.info;
    const build = `${this.wasmFile.replace(/^tfjs-backend-/, '').replace(/\.wasm$/, '')} build`;
    return `TensorFlow.js ${i.tfjs} WASM backend in headless Chromium ${this.chromiumVersion} (${build}, ${i.threads} thread${i.threads === 1 ? '' : 's'}, SIMD ${i.simd ? 'on' : 'off'}, cross-origin isolated: ${i.crossOriginIsolated}; bench/lib/wasm-browser.ts)`;
  }

  /** Sets up case `id`; steps get their models' layers here, where kdgpu can build the models. */
  async setup(id: string, d: CaseDescription): Promise<void> {
    const x: CaseDescription =
      d.kind === 'step' ? { ...d, layers: builtinLayers(d.model) } : d.kind === 'distill' ? { ...d, teacherLayers: builtinLayers(d.teacher), studentLayers: builtinLayers(d.student) } : d;
    await this.page.evaluate(([i, c]) => (globalThis as unknown as PageGlobal).wasmPeer.setup(i, c), [id, x] as const);
  }

  /**
   * One run: wall-clock ms timed in the page; CPU ms of the page's renderer process, all its
   * threads (the XNNPACK pool's workers included), read around the call in 10 ms steps.
   */
  async run(id: string): Promise<{ wallMs: number; cpuMs: number }> {
    const c0 = await this.processTime();
    const wallMs = await this.page.evaluate((i) => (globalThis as unknown as PageGlobal).wasmPeer.run(i), id);
    const c1 = await this.processTime();
    return { wallMs, cpuMs: (c1 - c0) * 1000 };
  }

  async drop(id: string): Promise<void> {
    await this.page.evaluate((i) => (globalThis as unknown as PageGlobal).wasmPeer.drop(i), id);
  }

  /** CPU seconds of the renderer process (Chromium's ProcessTime metric); NaN when it has none. */
  private async processTime(): Promise<number> {
    const { metrics } = (await this.cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
    return metrics.find((m) => m.name === 'ProcessTime')?.value ?? NaN;
  }
}

/** Chromium and the local server that the tfjs-wasm pages run from. */
export class WasmBrowser {
  private readonly fetched: string[] = [];

  private constructor(
    private readonly server: Server,
    private readonly browser: Browser,
    private readonly url: string,
  ) {}

  /** Bundles the page, serves it on 127.0.0.1 and starts headless Chromium. */
  static async launch(): Promise<WasmBrowser> {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (the tfjs-wasm 2-thread peer runs in it): install it with  sudo apt-get install -y chromium, set KDGPU_CHROMIUM, or pass --no-wasm2`);
    const js = await bundlePage();
    let self: WasmBrowser | null = null;
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const send = (type: string, body: string | Buffer) => (res.writeHead(200, { 'content-type': type, ...ISOLATION }), res.end(body));
      if (path === '/') return send('text/html; charset=utf-8', HTML);
      if (path === '/page.js') return send('text/javascript; charset=utf-8', js);
      const name = path.startsWith('/wasm/') ? path.slice(6) : '';
      if (WASM_FILES.includes(name)) {
        self?.fetched.push(name);
        return send('application/wasm', readFileSync(join(WASM_DIR, name)));
      }
      res.writeHead(404, ISOLATION).end();
    });
    await new Promise<void>((done, fail) => server.once('error', fail).listen(0, '127.0.0.1', () => done()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Root (containers, CI) needs --no-sandbox; --expose-gc: the page collects garbage before each timed run.
    const browser = await chromium
      .launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--headless=new', '--js-flags=--expose-gc'] })
      .catch((e: Error) => (server.close(), Promise.reject(e)));
    self = new WasmBrowser(server, browser, url);
    return self;
  }

  /** A page whose WASM backend runs `threads` threads (1: the one-thread SIMD build). */
  async open(threads: number): Promise<WasmPage> {
    return WasmPage.open(this.browser, this.url, threads, () => this.fetched);
  }

  async close(): Promise<void> {
    await this.browser.close();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
