/**
 * kdgpu as its users meet it: `npm pack` of this repository (the prepack script builds dist/),
 * the tarball installed into a new project in a temporary folder (its dependencies from the
 * registry), and there: a Node ESM script that trains, `npx kdgpu summary` and `npx kdgpu demo
 * --quick`, the README's TypeScript blocks type-checked against the installed package (strict, no
 * skipLibCheck, node16 and bundler resolution), and a page importing `kdgpu/browser` bundled by
 * esbuild and by Vite from node_modules and trained in headless Chromium. The consumer's files
 * are in test/package/.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build as esbuild, type Plugin } from 'esbuild';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../examples/web/browser-driver.js';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CONSUMER_FILES = join(ROOT, 'test', 'package');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** The package's budget (issue 18). */
const MAX_PACKED_BYTES = 12 * 1024 * 1024;
const MAX_FILES = 400;

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
function isNodeBuiltin(path: string): boolean {
  return path.startsWith('node:') || NODE_BUILTINS.has(path) || NODE_BUILTINS.has(path.split('/')[0]);
}

interface PackInfo {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

/** Runs a command; on failure the error carries its stdout and stderr. */
async function sh(cmd: string, args: string[], cwd: string, timeoutMs = 10 * 60_000): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KDGPU_CLI_FROM_BUILD: '' } });
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${err.message}\nstdout: ${err.stdout?.slice(-4000)}\nstderr: ${err.stderr?.slice(-4000)}`);
  }
}

/** ```ts blocks of a Markdown text, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/** Declarations for names the README's snippets assume without defining them. */
const PREAMBLE_NAMES: Record<string, string> = {
  bytes: 'declare const bytes: Uint8Array;',
};

/** A snippet as a module: the `kd` import and the assumed names it lacks, then the snippet itself, unedited. */
export function snippetModule(snippet: string): string {
  const lines: string[] = [];
  if (!/import \* as kd from 'kdgpu'/.test(snippet)) lines.push("import * as kd from 'kdgpu';");
  for (const [name, decl] of Object.entries(PREAMBLE_NAMES)) {
    if (new RegExp(`\\b${name}\\b`).test(snippet) && !new RegExp(`\\b(const|let|var)\\s+${name}\\b`).test(snippet)) lines.push(decl);
  }
  return `${lines.join('\n')}\n${snippet}`;
}

function serveDir(dir: string): Promise<{ server: Server; url: string }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const rel = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, rel.endsWith('/') ? `${rel}index.html` : rel);
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address() as { port: number };
    resolve({ server, url: `http://127.0.0.1:${addr.port}/` });
  }));
}

/** Opens a page that runs test/package/train.js and returns its 20 losses. */
async function trainInChromium(browser: Browser, dir: string): Promise<number[]> {
  const { server, url } = await serveDir(dir);
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { kdgpuResult: unknown }).kdgpuResult !== null, undefined, { timeout: 5 * 60_000, polling: 500 });
    const result = (await page.evaluate(() => (window as unknown as { kdgpuResult: unknown }).kdgpuResult)) as { losses: number[]; error: string | null };
    await page.close();
    expect(result.error, 'error in the page').to.equal(null);
    expect(errors, 'uncaught errors in the page').to.deep.equal([]);
    return result.losses;
  } finally {
    server.close();
  }
}

function expectFalls(losses: number[]): void {
  expect(losses).to.have.length(20);
  for (const l of losses) expect(Number.isFinite(l), `loss ${l}`).to.equal(true);
  expect(losses[19]).to.be.lessThan(losses[0] * 0.5);
}

describe('the npm package, packed and installed into a new project', function () {
  this.timeout(20 * 60_000);
  let tmp: string;
  let project: string;
  let pack: PackInfo;
  let browser: Browser | null = null;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kdgpu-package-'));
    const { stdout } = await sh(NPM, ['pack', '--json', '--pack-destination', tmp], ROOT);
    pack = (JSON.parse(stdout.slice(stdout.indexOf('['))) as PackInfo[])[0];
    project = join(tmp, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'kdgpu-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2));
    cpSync(CONSUMER_FILES, project, { recursive: true });
    await sh(NPM, ['install', '--no-audit', '--no-fund', join(tmp, pack.filename)], project);
  });
  after(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(`stays within its budget (packed ≤ ${MAX_PACKED_BYTES / 2 ** 20} MiB, ≤ ${MAX_FILES} files) and holds no tests, fixtures, bench results or sources`, () => {
    console.log(`      tarball ${pack.filename}: ${(pack.size / 2 ** 20).toFixed(2)} MiB packed, ${(pack.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked, ${pack.entryCount} files`);
    expect(pack.size).to.be.at.most(MAX_PACKED_BYTES);
    expect(pack.entryCount).to.be.at.most(MAX_FILES);
    const paths = pack.files.map((f) => f.path);
    for (const p of ['package.json', 'README.md', 'bin/kdgpu.mjs', 'dist/index.js', 'dist/index.d.ts', 'dist/browser.js', 'dist/browser.d.ts', 'dist/cli/main.js', 'assets/fashion-teacher.safetensors']) {
      expect(paths, p).to.include(p);
    }
    const unwanted = paths.filter((p) => /^(test|bench|examples|src|scripts|docs)\//.test(p) || /\.map$/.test(p) || p.endsWith('fashion-cnn-teacher.safetensors'));
    expect(unwanted).to.deep.equal([]);
  });

  it('(a) a Node ESM script importing kdgpu trains 20 steps of mnist-mlp-student and the loss falls', async () => {
    const { stdout } = await sh(process.execPath, ['node-train.mjs'], project);
    expectFalls((JSON.parse(stdout.trim().split('\n').pop()!) as { losses: number[] }).losses);
  });

  it('(b) npx kdgpu summary mnist-cnn-teacher --json prints params 1011466', async () => {
    const { stdout } = await sh(NPX, ['--no', 'kdgpu', 'summary', 'mnist-cnn-teacher', '--json'], project);
    expect((JSON.parse(stdout) as { params: number }).params).to.equal(1011466);
  });

  it('(c) npx kdgpu demo --quick runs to its table, from the installed package alone', async () => {
    const { stdout, stderr } = await sh(NPX, ['--no', 'kdgpu', 'demo', '--quick'], project);
    const out = stdout + stderr;
    expect(out).to.match(/teacher \(hinton-mlp-teacher\)\s+\d+\.\d+%/);
    expect(out).to.match(/distilled student .*\d+\.\d+%/);
    expect(existsSync(join(project, 'kdgpu-demo', 'results.json'))).to.equal(true);
  });

  it("(d) every ```ts block of README.md type-checks against the installed package (strict, no skipLibCheck; node16 and bundler)", async () => {
    const blocks = tsBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(blocks.length).to.be.at.least(4);
    const dir = join(project, 'readme');
    mkdirSync(dir, { recursive: true });
    blocks.forEach((b, i) => writeFileSync(join(dir, `snippet-${i + 1}.ts`), snippetModule(b)));
    const base = { strict: true, skipLibCheck: false, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM'] };
    const configs = {
      node16: { ...base, module: 'node16', moduleResolution: 'node16' },
      bundler: { ...base, module: 'esnext', moduleResolution: 'bundler' },
    };
    for (const [name, compilerOptions] of Object.entries(configs)) {
      const file = join(project, `tsconfig.${name}.json`);
      writeFileSync(file, JSON.stringify({ compilerOptions, include: ['readme/*.ts'] }, null, 2));
      await sh(process.execPath, [TSC, '-p', file], project);
    }
  });

  it('(e) a page importing kdgpu/browser: esbuild bundles it with no Node built-in and it trains in headless Chromium; Vite builds it with no externalized module', async () => {
    // esbuild: record every import of a Node built-in (and keep it out of the bundle).
    const flagged: string[] = [];
    const flagger: Plugin = {
      name: 'flag-node-builtins',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          if (args.kind === 'entry-point' || !isNodeBuiltin(args.path)) return undefined;
          flagged.push(`${args.path} (imported by ${args.importer})`);
          return { path: args.path, external: true };
        });
      },
    };
    const esOut = join(project, 'esbuild-out');
    const result = await esbuild({
      entryPoints: [join(project, 'page', 'main.js')],
      absWorkingDir: project,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      outfile: join(esOut, 'main.js'),
      metafile: true,
      logLevel: 'silent',
      plugins: [flagger],
    });
    expect(flagged, 'Node built-ins reached the bundle').to.deep.equal([]);
    expect(Object.keys(result.metafile.inputs).some((p) => p.startsWith('node_modules/kdgpu/dist/'))).to.equal(true);
    writeFileSync(join(esOut, 'index.html'), readFileSync(join(project, 'page', 'index.html'), 'utf8'));

    // Vite: its warnings go through the logger; none may say a module was externalized.
    const vite = await import('vite');
    const warnings: string[] = [];
    const logger = vite.createLogger('warn', { allowClearScreen: false });
    const warn = logger.warn.bind(logger);
    logger.warn = (msg, opts) => {
      warnings.push(msg);
      warn(msg, opts);
    };
    logger.warnOnce = logger.warn;
    const viteOut = join(project, 'vite-out');
    await vite.build({
      configFile: false,
      root: join(project, 'page'),
      logLevel: 'warn',
      customLogger: logger,
      build: { outDir: viteOut, emptyOutDir: true, target: 'es2022' },
    });
    expect(warnings.filter((w) => /externalized for browser compatibility/.test(w)), 'Vite warnings').to.deep.equal([]);
    const viteJs = readdirJs(viteOut).map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(viteJs.length).to.be.greaterThan(1000);
    expect(viteJs).to.not.include('__vite-browser-external');

    browser = await launchChromium({ webgpu: true });
    expectFalls(await trainInChromium(browser, esOut));
    expectFalls(await trainInChromium(browser, viteOut));
  });
});

/** The .js files under a folder, as paths. */
function readdirJs(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.js')).map((f) => join(dir, f));
}
