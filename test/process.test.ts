/**
 * Process lifecycle: a Node process that used the GPU ends by itself, and init() failures are
 * ordinary, catchable Errors that say what to install (no crash, no abort, no hang).
 *
 * Each case runs a small script from test/fixtures in a child `node --import tsx`.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownStderrLines } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const EXIT_LIMIT_MS = 60_000;
const INSTALL = 'apt-get install -y libegl-mesa0 libgl1-mesa-dri libvulkan1 chromium';
/** Points libglvnd at no EGL vendor: Dawn's OpenGL ES backend then finds no adapter, as without Mesa. */
const NO_EGL = { __EGL_VENDOR_LIBRARY_DIRS: '/nonexistent-kdgpu-egl-vendors' };

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a fixture; fails (and kills the child) if it has not exited by itself within the limit. */
function runFixture(script: string, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<ChildResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['KDGPU_ADAPTER', 'KDGPU_SWIFTSHADER_ICD', 'KDGPU_PROFILE', '__EGL_VENDOR_LIBRARY_DIRS']) delete childEnv[k];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(FIXTURES, script), ...args], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${script} ${args.join(' ')} did not exit by itself within ${EXIT_LIMIT_MS / 1000} s\nstdout:\n${stdout}\nstderr:\n${stderr}`),
      );
    }, EXIT_LIMIT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

function describeChild(r: ChildResult): string {
  return `exit code ${r.code}, signal ${r.signal}, ${r.ms} ms\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** The JSON after `tag ` on the one stdout line that starts with it. */
function tagged(r: ChildResult, tag: string): unknown {
  const lines = r.stdout.split('\n').filter((l) => l.startsWith(`${tag} `));
  if (lines.length !== 1) throw new Error(`expected one '${tag}' line, got ${lines.length}\n${describeChild(r)}`);
  return JSON.parse(lines[0].slice(tag.length + 1));
}

function expectCleanExit(r: ChildResult): void {
  expect(r.signal, describeChild(r)).to.equal(null);
  expect(r.code, describeChild(r)).to.equal(0);
  expect(r.stderr, describeChild(r)).not.to.match(/Aborted|Segmentation fault|core dumped|terminate called|Uncaught|UnhandledPromiseRejection/);
}

interface InitOutcome {
  ok: boolean;
  software?: boolean;
  kind?: string;
  backend?: string;
  reason?: string;
  message?: string;
  isError?: boolean;
  name?: string;
}

async function initOutcome(env: Record<string, string | undefined>, args: string[] = []): Promise<InitOutcome> {
  const r = await runFixture('init-error.ts', args, env);
  expectCleanExit(r);
  if (r.stdout.includes('INIT-OK ')) return { ok: true, ...(tagged(r, 'INIT-OK') as object) };
  return { ok: false, ...(tagged(r, 'INIT-ERROR') as object) };
}

describe('process lifecycle', function () {
  this.timeout(4 * EXIT_LIMIT_MS);

  it('a process that used the GPU exits by itself (code 0) once its work is done', async () => {
    const r = await runFixture('gpu-exit.ts', ['clean']);
    expectCleanExit(r);
    const out = tagged(r, 'RESULT') as { loss: number; grad: number[][]; product: number[][] };
    // x = [[1,2],[3,4]], w = [[0.5,-1],[2,0.25]]: x·w = [[4.5,-0.5],[9.5,-2]], relu-sum = 14,
    // d/dw = xᵀ · [[1,0],[1,0]] = [[4,0],[6,0]].
    expect(out.product).to.deep.equal([[4.5, -0.5], [9.5, -2]]);
    expect(out.loss).to.equal(14);
    expect(out.grad).to.deep.equal([[4, 0], [6, 0]]);
  });

  it('exits by itself even with live tensors and recorded, never-submitted GPU work', async () => {
    const r = await runFixture('gpu-exit.ts', ['pending']);
    expectCleanExit(r);
    expect((tagged(r, 'RESULT') as { loss: number }).loss).to.equal(14);
  });

  it('KDGPU_ADAPTER=hardware without a hardware adapter: init() rejects with the install command', async () => {
    const o = await initOutcome({ KDGPU_ADAPTER: 'hardware' });
    if (o.ok) {
      // A machine with a real GPU: then the adapter must not be a CPU implementation.
      expect(o.software, 'KDGPU_ADAPTER=hardware gave a software adapter').to.equal(false);
      return;
    }
    expect(o.isError).to.equal(true);
    expect(o.name).to.equal('Error');
    expect(o.message).to.contain('no hardware WebGPU adapter');
    expect(o.message).to.contain(INSTALL);
  });

  it('KDGPU_ADAPTER=swiftshader with KDGPU_SWIFTSHADER_ICD naming a missing file: rejects, naming the file and the install command', async () => {
    const missing = join(tmpdir(), `kdgpu-no-such-icd-${process.pid}.json`);
    const o = await initOutcome({ KDGPU_ADAPTER: 'swiftshader', KDGPU_SWIFTSHADER_ICD: missing });
    expect(o.ok, JSON.stringify(o)).to.equal(false);
    expect(o.isError).to.equal(true);
    expect(o.message).to.contain(missing);
    expect(o.message).to.contain('does not exist');
    expect(o.message).to.contain(INSTALL);
  });

  it('KDGPU_ADAPTER=swiftshader with an ICD whose driver library is missing: rejects with the install command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdgpu-icd-'));
    try {
      const icd = join(dir, 'broken_icd.json');
      writeFileSync(
        icd,
        JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: join(dir, 'libvk_missing.so'), api_version: '1.0.5' } }),
      );
      const o = await initOutcome({ KDGPU_ADAPTER: 'swiftshader', KDGPU_SWIFTSHADER_ICD: icd });
      expect(o.ok, JSON.stringify(o)).to.equal(false);
      expect(o.isError).to.equal(true);
      expect(o.message).to.contain(icd);
      expect(o.message).to.contain(INSTALL);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an invalid KDGPU_ADAPTER value (or options.adapter) gets a clear error', async () => {
    const fromEnv = await initOutcome({ KDGPU_ADAPTER: 'gpu-please' });
    expect(fromEnv.ok).to.equal(false);
    expect(fromEnv.isError).to.equal(true);
    expect(fromEnv.message).to.contain("'gpu-please'");
    expect(fromEnv.message).to.contain('KDGPU_ADAPTER');
    expect(fromEnv.message).to.match(/auto, hardware, llvmpipe, swiftshader/);

    const fromOption = await initOutcome({}, ['vulkan']);
    expect(fromOption.ok).to.equal(false);
    expect(fromOption.message).to.contain("'vulkan'");
    expect(fromOption.message).to.match(/auto, hardware, llvmpipe, swiftshader/);
  });

  for (const adapter of ['llvmpipe', 'swiftshader']) {
    it(`a process that used ${adapter} exits by itself, also with live tensors and unsubmitted work`, async () => {
      for (const mode of ['clean', 'pending']) {
        const r = await runFixture('gpu-exit.ts', [mode], { KDGPU_ADAPTER: adapter });
        expectCleanExit(r);
        expect((tagged(r, 'RESULT') as { loss: number }).loss).to.equal(14);
      }
    });
  }

  it('auto takes a hardware adapter or llvmpipe (here: Mesa is installed) and says why', async () => {
    const o = await initOutcome({});
    expect(o.ok, JSON.stringify(o)).to.equal(true);
    expect(['hardware', 'llvmpipe']).to.include(o.kind);
    if (o.kind === 'llvmpipe') {
      expect(o.backend).to.equal('opengles');
      expect(o.software).to.equal(true);
      expect(o.reason).to.match(/^auto: .*llvmpipe through Dawn's OpenGL ES backend$/);
    }
  });

  it("auto without Mesa's EGL goes on to SwiftShader quietly, and says what it tried", async () => {
    const r = await runFixture('init-error.ts', [], NO_EGL);
    expectCleanExit(r);
    const o = tagged(r, 'INIT-OK') as InitOutcome;
    if (o.kind === 'hardware') return; // a machine with a GPU never gets that far
    expect(o.kind).to.equal('swiftshader');
    expect(o.backend).to.equal('vulkan');
    expect(o.reason).to.match(/no OpenGL ES adapter .*SwiftShader/);
    expect(ownStderrLines(r.stderr), r.stderr).to.deep.equal([]);
  });

  it("KDGPU_ADAPTER=llvmpipe without Mesa's EGL: rejects, naming what to install", async () => {
    const o = await initOutcome({ KDGPU_ADAPTER: 'llvmpipe', ...NO_EGL });
    expect(o.ok, JSON.stringify(o)).to.equal(false);
    expect(o.isError).to.equal(true);
    expect(o.message).to.contain("llvmpipe could not be opened through Dawn's OpenGL ES backend");
    expect(o.message).to.contain('libegl-mesa0 libgl1-mesa-dri');
  });

  it('profiling on llvmpipe (no timestamp-query): a clear error that says where profiling works', async () => {
    const o = await initOutcome({ KDGPU_ADAPTER: 'llvmpipe', KDGPU_PROFILE: '1' });
    expect(o.ok, JSON.stringify(o)).to.equal(false);
    expect(o.message).to.contain("'timestamp-query', which llvmpipe (Dawn's OpenGL ES backend) does not offer");
    expect(o.message).to.contain('KDGPU_ADAPTER=swiftshader');
  });

  it('KDGPU_ADAPTER=llvmpipe works and reports llvmpipe', async () => {
    const o = await initOutcome({ KDGPU_ADAPTER: 'llvmpipe' });
    expect(o.ok, JSON.stringify(o)).to.equal(true);
    expect(o.kind).to.equal('llvmpipe');
    expect(o.reason).to.equal("KDGPU_ADAPTER=llvmpipe: llvmpipe through Dawn's OpenGL ES backend");
    expect((o as { check?: number }).check).to.equal(12);
  });

  it('KDGPU_ADAPTER=swiftshader (the default ICD search) works and reports a software adapter', async () => {
    const o = await initOutcome({ KDGPU_ADAPTER: 'swiftshader' });
    expect(o.ok, JSON.stringify(o)).to.equal(true);
    expect(o.software).to.equal(true);
    expect((o as { check?: number }).check).to.equal(12);
  });
});
