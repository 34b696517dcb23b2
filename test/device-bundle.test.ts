/**
 * The real-GPU check's bundle (scripts/device-bundle.ts, README "A real-GPU check"): builds it,
 * checks its contents and its size (< 36 MiB: the device machine takes 64 MiB per call, working
 * tree included), and runs `bash run.sh --small` from a copy in a clean temporary folder (no
 * node_modules, no checkout beside it) on this machine's default adapter (llvmpipe here), then
 * reads the reports it wrote. The first build compresses Node with xz (a minute or two); later
 * builds reuse node_modules/.cache/kdgpu-device-bundle/.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_BUDGET_BYTES, BUNDLE_FIXTURES, buildDeviceBundle, splitDeviceBundle, type BundleManifest } from '../scripts/device-bundle.js';
import { GPU_PLAN_NAMES, PLAN_SIZES_SMALL } from '../bench/device/plans.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function du(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return n;
}

describe('device bundle (npm run device-bundle; run.sh --small on this machine)', function () {
  this.timeout(900_000);
  let tmp: string;
  let bundle: string;
  let manifest: BundleManifest;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kdgpu-device-bundle-test-'));
    bundle = join(tmp, 'build', 'device-bundle');
    manifest = await buildDeviceBundle(bundle, { log: () => {} });
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('holds the script, Dawn, Node, the Vulkan loader, the fixtures, the data and run.sh, under 36 MiB', () => {
    const files = Object.keys(manifest.files);
    const ext = manifest.compression === 'xz' ? 'xz' : 'gz';
    for (const f of ['run.sh', 'kdgpu-device.mjs', `node.${ext}`, `dawn.node.${ext}`, 'node_modules/webgpu/index.js', 'node_modules/webgpu/package.json', 'torch_cuda.py', 'kd_torch.py', 'data/fashion-mnist/train-images-idx3-ubyte.gz', 'data/fashion-mnist/train-labels-idx1-ubyte.gz', ...BUNDLE_FIXTURES.map((x) => `test/fixtures/${x}`)]) {
      expect(files, f).to.include(f);
    }
    expect(files.some((f) => /^libvulkan1_.*_amd64\.deb$/.test(f)), 'libvulkan1 .deb').to.equal(true);
    // Nothing else from node_modules: the webgpu package ships only its loader (no other platform's dawn.node).
    expect(files.filter((f) => f.startsWith('node_modules/')).sort()).to.deep.equal(['node_modules/webgpu/LICENSE.md', 'node_modules/webgpu/index.js', 'node_modules/webgpu/package.json'].filter((f) => files.includes(f)));
    expect(manifest.compression, 'xz (xz-utils) is needed for Node to fit').to.equal('xz');
    const total = du(bundle);
    expect(total, 'bytes on disk').to.be.below(BUNDLE_BUDGET_BYTES);
    expect(manifest.totalBytes).to.be.below(BUNDLE_BUDGET_BYTES);
    console.log(`      bundle: ${(total / 2 ** 20).toFixed(2)} MiB (node.${ext} ${(manifest.files[`node.${ext}`] / 2 ** 20).toFixed(2)} MiB, dawn.node.${ext} ${(manifest.files[`dawn.node.${ext}`] / 2 ** 20).toFixed(2)} MiB, script ${(manifest.files['kdgpu-device.mjs'] / 2 ** 20).toFixed(2)} MiB)`);
  });

  it('bundles every package into the script but webgpu (Node built-ins and optional requires aside)', () => {
    const text = readFileSync(join(bundle, 'kdgpu-device.mjs'), 'utf8');
    const specs = new Set<string>();
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"']+)["']/g)) if (/^[@a-z0-9][\w@./-]*$/i.test(m[1])) specs.add(m[1]);
    const outside = [...specs].filter((s) => !BUILTINS.has(s));
    // canvas: vega's optional renderer, required inside a try.
    expect(outside.sort()).to.deep.equal(['canvas', 'webgpu'].filter((s) => specs.has(s)));
    expect(specs.has('webgpu')).to.equal(true);
    expect(text).to.not.contain('register_all_gradients.js');
  });

  it('splits into parts of at most N MiB that reassemble into the same files', () => {
    const parts = splitDeviceBundle(bundle, join(tmp, 'parts'), 12 * 2 ** 20);
    expect(parts.length).to.equal(Math.ceil(du(join(tmp, 'parts')) / (12 * 2 ** 20)));
    for (const p of parts) expect(du(p)).to.be.at.most(12 * 2 ** 20);
    const back = join(tmp, 'reassembled');
    mkdirSync(back);
    const r = spawnSync('bash', ['-c', 'cat "$1"/part-*/bundle.tar.* | tar -x -C "$2"', 'bash', join(tmp, 'parts'), back], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(du(back)).to.equal(du(bundle));
    expect(readFileSync(join(back, 'run.sh'), 'utf8')).to.equal(readFileSync(join(bundle, 'run.sh'), 'utf8'));
    rmSync(join(tmp, 'parts'), { recursive: true });
  });

  it('run.sh --small runs from a clean folder and writes report.md, report.json and run.log', () => {
    const clean = join(tmp, 'clean');
    mkdirSync(join(clean, 'tmp'), { recursive: true });
    // The reassembled copy when the split test ran, else a plain copy.
    const from = existsSync(join(tmp, 'reassembled', 'run.sh')) ? join(tmp, 'reassembled') : bundle;
    cpSync(from, join(clean, 'b'), { recursive: true });
    rmSync(join(tmp, 'reassembled'), { recursive: true, force: true });
    expect(existsSync(join(clean, 'node_modules'))).to.equal(false);
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: join(clean, 'tmp') };
    for (const k of ['NODE_OPTIONS', 'NODE_PATH', 'OUT', 'npm_config_prefix', 'KDGPU_TORCH_DEVICE']) delete env[k];
    // Where Debian's python3-torch is installed, the PyTorch peer (torch_cuda.py from the bundle) runs on the CPU.
    const torchHere = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
    const args = ['b/run.sh', '--small', 'rep'];
    if (torchHere) {
      args.push('--python', '/usr/bin/python3');
      env.KDGPU_TORCH_DEVICE = 'cpu';
    }
    const t0 = Date.now();
    const r = spawnSync('bash', args, { cwd: clean, env, encoding: 'utf8', timeout: 480_000 });
    const seconds = (Date.now() - t0) / 1000;
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.status, `run.sh exited ${r.status} (${r.signal ?? ''}):\n${output.slice(-4000)}`).to.equal(0);
    console.log(`      run.sh --small: ${seconds.toFixed(0)} s`);

    const log = readFileSync(join(clean, 'rep', 'run.log'), 'utf8');
    expect(log).to.match(/Vulkan loader: .*\/vulkan\/usr\/lib\/[^ ]*libvulkan\.so\.1/);
    expect(log).to.contain(`node ${process.version} (`);
    expect(log, "the bundle's own Node").to.match(/^node v\S+ \(\S*\/kdgpu-device\.\w+\/bin\/node\)/m);
    expect(log).to.match(/^adapter {7}\S/m);
    expect(readdirSync(join(clean, 'tmp')).filter((f) => f.startsWith('kdgpu-device.')), 'run.sh removed its temporary folder').to.deep.equal([]);
    expect(readdirSync(join(clean, 'b')).sort(), 'the bundle folder is unchanged').to.deep.equal(readdirSync(bundle).sort());

    const rep = JSON.parse(readFileSync(join(clean, 'rep', 'report.json'), 'utf8'));
    expect(rep.small).to.equal(true);
    expect(rep.adapter.kind).to.be.oneOf(['llvmpipe', 'swiftshader', 'software', 'hardware']);
    expect(rep.checks.map((c: { name: string }) => c.name).join('\n')).to.match(/matmul[\s\S]*conv2d[\s\S]*softmax cross-entropy[\s\S]*mnist-cnn-small: 50 Adam steps/);
    for (const c of rep.checks) expect(c.ok, `${c.name}: ${c.detail}`).to.equal(true);
    expect(rep.checksPassed).to.equal(true);
    const cases = [...rep.bench.sections.matmul.cases, ...rep.bench.sections.conv.cases, ...rep.bench.sections.steps.cases, ...rep.bench.sections.distill.cases];
    const names = cases.map((c: { name: string }) => c.name);
    expect(names).to.include.members(['matmul 64', 'matmul 128', 'train step mnist-mlp-student', 'train step mnist-cnn-small']);
    // The conv cases (bench/lib: whole layers or their passes, as the suite names them).
    for (const layer of ['conv1', 'conv2']) expect(names.some((n: string) => n.includes(layer)), `a ${layer} case`).to.equal(true);
    expect(names.some((n: string) => n.startsWith('distill step'))).to.equal(true);
    for (const c of cases) expect(c.results.kdgpu, `${c.name}: kdgpu`).to.have.property('medianMs');
    for (const n of ['matmul 64', 'matmul 128']) expect(cases.find((c: { name: string }) => c.name === n).results['tfjs-webgpu'], `${n}: tfjs-webgpu`).to.have.property('medianMs');
    expect(rep.bench.peers).to.have.property('tfjs-webgpu');
    if (torchHere) {
      expect(rep.bench.peers['torch-cuda']).to.contain('KDGPU_TORCH_DEVICE=cpu');
      // Every case with a PyTorch peer ran it (the GEMM companions, the FMA ceiling and the kdgpu-only cases have none).
      for (const c of cases.filter((x: { results: Record<string, unknown> }) => x.results['torch-cuda'] !== undefined)) expect(c.results['torch-cuda'], `${c.name}: PyTorch`).to.have.property('medianMs');
      for (const n of ['matmul 128', 'train step mnist-mlp-student', 'train step mnist-cnn-small']) expect(cases.find((c: { name: string }) => c.name === n).results['torch-cuda'], `${n}: PyTorch`).to.have.property('medianMs');
    } else {
      // No PyTorch here: the peer is skipped with a note, not an error.
      expect(rep.bench.peers).to.not.have.property('torch-cuda');
      expect(rep.benchNotes.join(' ')).to.contain('PyTorch CUDA skipped');
    }

    const md = readFileSync(join(clean, 'rep', 'report.md'), 'utf8');
    expect(md).to.contain('# kdgpu device check (--small)');
    expect(md).to.contain(`${rep.checks.length} of ${rep.checks.length} passed.`);
    expect(md).to.match(/\| case \| kdgpu ms \| kdgpu GFLOP\/s \| tfjs-webgpu ms \|/);
    expect(md).to.match(/\| matmul 128 \| [\d.]+ \|/);
    expect(md).to.match(/^- matmul 128: kdgpu kernel: /m);

    // The GPU matmul plans (bench/device/plans.ts): each forced at each --small size, each agreeing with the first.
    const timings = rep.plans.timings as { plan: string; size: number; gflops: number; relDiff: number }[];
    expect(timings.map((t) => `${t.plan}@${t.size}`).sort()).to.deep.equal(GPU_PLAN_NAMES.flatMap((p) => PLAN_SIZES_SMALL.map((n) => `${p}@${n}`)).sort());
    for (const t of timings) {
      expect(t.gflops, `${t.plan} at ${t.size}`).to.be.above(0);
      expect(t.relDiff, `${t.plan} at ${t.size} against ${GPU_PLAN_NAMES[0]}`).to.be.at.most(1e-4);
    }
    expect(md).to.contain('## Matmul plans');
    expect(md).to.match(/\| matmul \| tiled-gpu \| shared-64x64 \|/);
  });

  it("run.sh without node.xz takes the machine's Node (20 or newer)", () => {
    const clean = join(tmp, 'no-node');
    cpSync(bundle, join(clean, 'b'), { recursive: true });
    rmSync(join(clean, 'b', `node.${manifest.compression === 'xz' ? 'xz' : 'gz'}`));
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmpdir() };
    for (const k of ['NODE_OPTIONS', 'NODE_PATH', 'OUT']) delete env[k];
    const r = spawnSync('bash', ['b/run.sh', '--no-check', '--no-bench', 'rep'], { cwd: clean, env, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`.slice(-3000)).to.equal(0);
    const log = readFileSync(join(clean, 'rep', 'run.log'), 'utf8');
    expect(log).to.match(/^node v\d+\.\S+ \((?!\S*kdgpu-device\.)\S+\)/m);
    expect(JSON.parse(readFileSync(join(clean, 'rep', 'report.json'), 'utf8')).adapter.kind).to.be.a('string');
  });
});
