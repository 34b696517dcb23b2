/**
 * `npm run device-bundle [-- OUT_DIR] [--split-mib N]`: writes a self-contained folder (default
 * device-bundle/, git-ignored) that runs kdgpu's correctness subset and bench on a machine with nothing but bash,
 * a GPU driver and (optionally) python3 with PyTorch — no Node.js, no network:
 *
 *   run.sh                        unpacks Node, Dawn and the Vulkan loader into a temp dir and runs
 *                                 kdgpu-device.mjs (scripts/device-run.sh)
 *   kdgpu-device.mjs              bench/device/main.ts with kdgpu, the bench, tfjs-core and
 *                                 tfjs-backend-webgpu bundled in by esbuild (`webgpu` left external)
 *   node_modules/webgpu/          the `webgpu` package's loader (index.js, package.json)
 *   dawn.node.xz                  its linux-x64 dawn.node, compressed
 *   node.xz                       this machine's Node.js binary (process.execPath), compressed
 *   libvulkan1_*.deb              the Vulkan loader (`apt-get download libvulkan1`)
 *   test/fixtures/                softmax_ce.safetensors, parity-mnist-cnn-small.safetensors
 *   data/fashion-mnist/           the first 1,600 Fashion-MNIST training images (the parity run's batches)
 *   torch_cuda.py, kd_torch.py    PyTorch on CUDA for the bench
 *   manifest.json                 what is inside and how big
 *
 * Compression: xz (-9, Debian's xz-utils) when `xz` is on the PATH, else gzip through node:zlib
 * (Node alone then does not fit the 36 MiB budget). The compressed Node and dawn.node and the
 * .deb are cached in node_modules/.cache/kdgpu-device-bundle/ (keyed by path, size and mtime);
 * KDGPU_LIBVULKAN_DEB names a .deb to use instead of downloading one. --split-mib N also writes
 * OUT_DIR-parts/part-01 … part-NN, the bundle as one tar in pieces of at most N MiB, for device calls
 * whose working tree leaves less room than the whole bundle (splitDeviceBundle).
 */
import { build, type Plugin } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fashionMnistDirs } from '../src/data/node-files.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The bundle must stay under this (the device machine takes 64 MiB per call, working tree included). */
export const BUNDLE_BUDGET_BYTES = 36 * 2 ** 20;
/** Training images the parity check needs: 50 steps of batch 32. */
export const PARITY_IMAGES = 1600;
export const BUNDLE_FIXTURES = ['softmax_ce.safetensors', 'parity-mnist-cnn-small.safetensors'];

export interface BundleManifest {
  created: string;
  node: string;
  compression: 'xz' | 'gzip';
  files: Record<string, number>;
  totalBytes: number;
}

export interface BundleOptions {
  /** Where the cached compressed binaries and the .deb live. */
  cacheDir?: string;
  log?: (line: string) => void;
}

function hasXz(): boolean {
  const r = spawnSync('xz', ['--version'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

/** `src` compressed into the cache (xz -9 or gzip -9), reused while path, size and mtime match. */
function compressed(src: string, cacheDir: string, xz: boolean, log: (l: string) => void): string {
  const st = statSync(src);
  const key = createHash('sha256').update(`${src}:${st.size}:${st.mtimeMs}`).digest('hex').slice(0, 16);
  const dst = join(cacheDir, `${key}.${xz ? 'xz' : 'gz'}`);
  if (existsSync(dst)) return dst;
  log(`compressing ${src} (${(st.size / 2 ** 20).toFixed(1)} MiB) with ${xz ? 'xz -9' : 'gzip -9'}…`);
  const tmp = `${dst}.tmp`;
  if (xz) {
    const r = spawnSync('sh', ['-c', 'xz -9 -T0 -c "$1" > "$2"', 'sh', src, tmp], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`xz failed on ${src}`);
  } else {
    writeFileSync(tmp, gzipSync(readFileSync(src), { level: 9 }));
  }
  copyFileSync(tmp, dst);
  rmSync(tmp);
  return dst;
}

/** libvulkan1's .deb: KDGPU_LIBVULKAN_DEB, else a cached one, else `apt-get download`, else apt's archive cache. */
function libvulkanDeb(cacheDir: string, log: (l: string) => void): string {
  const fromEnv = process.env.KDGPU_LIBVULKAN_DEB;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`KDGPU_LIBVULKAN_DEB is '${fromEnv}', which does not exist`);
    return fromEnv;
  }
  const find = (dir: string) => (existsSync(dir) ? readdirSync(dir).find((f) => /^libvulkan1_.*_amd64\.deb$/.test(f)) : undefined);
  let f = find(cacheDir);
  if (f) return join(cacheDir, f);
  log('apt-get download libvulkan1 (amd64)…');
  const r = spawnSync('apt-get', ['download', 'libvulkan1'], { cwd: cacheDir, encoding: 'utf8' });
  f = find(cacheDir);
  if (f) return join(cacheDir, f);
  f = find('/var/cache/apt/archives');
  if (f) return join('/var/cache/apt/archives', f);
  throw new Error(`could not get libvulkan1's .deb (apt-get download: ${(r.stderr || r.error?.message || '').trim()}); set KDGPU_LIBVULKAN_DEB to one`);
}

/** An IDX file's first `count` items, gzipped (the header's count set to `count`). */
function idxHead(file: string, count: number): Buffer {
  const raw = file.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file);
  const dims = raw[3];
  const header = 4 + 4 * dims;
  let itemBytes = 1;
  for (let d = 1; d < dims; d++) itemBytes *= raw.readUInt32BE(4 + 4 * d);
  if (raw.readUInt32BE(4) < count) throw new Error(`${file} holds fewer than ${count} items`);
  const out = Buffer.from(raw.subarray(0, header + count * itemBytes));
  out.writeUInt32BE(count, 4);
  return gzipSync(out, { level: 9 });
}

function fashionSubset(dst: string): void {
  for (const dir of fashionMnistDirs()) {
    const pick = (base: string) => [`${base}.gz`, base].map((n) => join(dir, n)).find((p) => existsSync(p));
    const img = pick('train-images-idx3-ubyte');
    const lbl = pick('train-labels-idx1-ubyte');
    if (!img || !lbl) continue;
    mkdirSync(dst, { recursive: true });
    writeFileSync(join(dst, 'train-images-idx3-ubyte.gz'), idxHead(img, PARITY_IMAGES));
    writeFileSync(join(dst, 'train-labels-idx1-ubyte.gz'), idxHead(lbl, PARITY_IMAGES));
    return;
  }
  throw new Error(`Fashion-MNIST's training split was not found (looked in ${fashionMnistDirs().join(', ')}); install dataset-fashion-mnist`);
}

/**
 * esbuild's plugin for the bundle: the native PNG renderer (@resvg/resvg-js, used only by sweep
 * reports) becomes a stub, and bench/lib/tfjs.ts's runtime `createRequire(import.meta.url)(…)`
 * of tfjs-core's gradients becomes a plain require that esbuild bundles.
 */
const bundlePlugin: Plugin = {
  name: 'kdgpu-device-bundle',
  setup(b) {
    b.onResolve({ filter: /^@resvg\/resvg-js$/ }, () => ({ path: 'resvg-stub', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: "export class Resvg { constructor() { throw new Error('kdgpu device bundle: no PNG renderer (@resvg/resvg-js) in the bundle'); } }",
      loader: 'js',
    }));
    b.onLoad({ filter: /bench[\\/]lib[\\/]tfjs\.ts$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const from = "createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients.js')";
      if (!src.includes(from)) throw new Error(`${args.path}: the gradients' require changed; update scripts/device-bundle.ts`);
      return { contents: src.replace(from, "require('@tensorflow/tfjs-core/dist/register_all_gradients.js')"), loader: 'ts' };
    });
  },
};

function sizes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = statSync(p).size;
    }
  };
  walk(dir);
  return out;
}

/** Builds the bundle into `outDir` (emptied first) and returns its manifest. */
export async function buildDeviceBundle(outDir: string, o: BundleOptions = {}): Promise<BundleManifest> {
  const log = o.log ?? ((l: string) => console.log(l));
  const cacheDir = resolve(o.cacheDir ?? join(ROOT, 'node_modules', '.cache', 'kdgpu-device-bundle'));
  mkdirSync(cacheDir, { recursive: true });
  const out = resolve(outDir);
  if (existsSync(join(out, '.git')) || out === ROOT) throw new Error(`refusing to empty ${out}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const xz = hasXz();
  const ext = xz ? 'xz' : 'gz';

  log('esbuild: bench/device/main.ts → kdgpu-device.mjs');
  const r = await build({
    entryPoints: [join(ROOT, 'bench', 'device', 'main.ts')],
    absWorkingDir: ROOT,
    outfile: join(out, 'kdgpu-device.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    external: ['webgpu', '@tensorflow/tfjs-backend-wasm'],
    plugins: [bundlePlugin],
    // CommonJS packages inside an ES module bundle need require/__filename/__dirname.
    banner: {
      js: "import { createRequire as __kdCreateRequire } from 'node:module'; import { fileURLToPath as __kdToPath } from 'node:url'; import { dirname as __kdDirname } from 'node:path'; const require = __kdCreateRequire(import.meta.url); const __filename = __kdToPath(import.meta.url); const __dirname = __kdDirname(__filename);",
    },
    logLevel: 'warning',
  });
  if (r.errors.length) throw new Error(`esbuild: ${r.errors.map((e) => e.text).join('; ')}`);

  const webgpu = join(ROOT, 'node_modules', 'webgpu');
  const webgpuOut = join(out, 'node_modules', 'webgpu');
  mkdirSync(webgpuOut, { recursive: true });
  for (const f of ['index.js', 'package.json', 'LICENSE.md']) if (existsSync(join(webgpu, f))) copyFileSync(join(webgpu, f), join(webgpuOut, f));
  copyFileSync(compressed(join(webgpu, 'dist', 'linux-x64', 'dawn.node'), cacheDir, xz, log), join(out, `dawn.node.${ext}`));
  copyFileSync(compressed(process.execPath, cacheDir, xz, log), join(out, `node.${ext}`));

  const deb = libvulkanDeb(cacheDir, log);
  copyFileSync(deb, join(out, deb.split('/').pop()!));

  mkdirSync(join(out, 'test', 'fixtures'), { recursive: true });
  for (const f of BUNDLE_FIXTURES) copyFileSync(join(ROOT, 'test', 'fixtures', f), join(out, 'test', 'fixtures', f));
  fashionSubset(join(out, 'data', 'fashion-mnist'));
  copyFileSync(join(ROOT, 'bench', 'device', 'torch_cuda.py'), join(out, 'torch_cuda.py'));
  copyFileSync(join(ROOT, 'bench', 'kd_torch.py'), join(out, 'kd_torch.py'));
  copyFileSync(join(ROOT, 'scripts', 'device-run.sh'), join(out, 'run.sh'));
  chmodSync(join(out, 'run.sh'), 0o755);

  const files = sizes(out);
  const totalBytes = Object.values(files).reduce((s, n) => s + n, 0);
  const manifest: BundleManifest = { created: new Date().toISOString(), node: process.version, compression: xz ? 'xz' : 'gzip', files, totalBytes };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
  for (const [f, n] of Object.entries(files).sort((a, b) => b[1] - a[1])) log(`  ${mib(n).padStart(10)}  ${f}`);
  log(`${out}: ${mib(totalBytes)} in all (budget ${mib(BUNDLE_BUDGET_BYTES)})`);
  if (totalBytes >= BUNDLE_BUDGET_BYTES) throw new Error(`the bundle is ${mib(totalBytes)}, over its ${mib(BUNDLE_BUDGET_BYTES)} budget${xz ? '' : ' (no xz on this machine: install xz-utils)'}`);
  return manifest;
}

/**
 * The bundle as one tar cut into folders part-01 … part-NN of at most `partBytes` each (under
 * `outDir`, emptied first), for a device machine that takes the working tree plus what is
 * carried in at most 64 MiB per call: with a 50 MiB tree the bundle must travel in pieces, one
 * carried folder per call to the same warm machine (a carried path left out of a later call stays
 * there). Reassembled there by concatenating the parts (in order) and untarring them.
 */
export function splitDeviceBundle(bundleDir: string, outDir: string, partBytes: number): string[] {
  const out = resolve(outDir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const tar = spawnSync('tar', ['-c', '-C', resolve(bundleDir), '.'], { maxBuffer: 2 ** 31 });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr?.toString() ?? tar.error?.message}`);
  const data = tar.stdout;
  const parts: string[] = [];
  for (let i = 0, off = 0; off < data.length; i++, off += partBytes) {
    const dir = join(out, `part-${String(i + 1).padStart(2, '0')}`);
    mkdirSync(dir);
    writeFileSync(join(dir, `bundle.tar.${String(i).padStart(2, '0')}`), data.subarray(off, off + partBytes));
    parts.push(dir);
  }
  return parts;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const argv = process.argv.slice(2);
  const splitAt = argv.indexOf('--split-mib');
  const splitMib = splitAt >= 0 ? Number(argv.splice(splitAt, 2)[1]) : null;
  const outDir = argv[0] ?? join(ROOT, 'device-bundle');
  try {
    if (splitMib !== null && !(splitMib > 0)) throw new Error('--split-mib needs a positive number of MiB');
    await buildDeviceBundle(outDir);
    console.log(`run it with:  bash ${relative(process.cwd(), resolve(outDir)) || '.'}/run.sh [--small] [OUT_DIR]`);
    if (splitMib !== null) {
      const partsDir = `${resolve(outDir)}-parts`;
      const parts = splitDeviceBundle(outDir, partsDir, Math.floor(splitMib * 2 ** 20));
      console.log(`${parts.length} parts of at most ${splitMib} MiB: ${parts.map((p) => relative(process.cwd(), p)).join(', ')}`);
      console.log(`reassemble with:  mkdir -p /tmp/b && cat ${relative(process.cwd(), partsDir)}/part-*/bundle.tar.* | tar -x -C /tmp/b && bash /tmp/b/run.sh "$OUT"`);
    }
  } catch (e) {
    console.error(`device-bundle: ${(e as Error).message}`);
    process.exit(1);
  }
}
