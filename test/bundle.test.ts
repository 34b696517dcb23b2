/**
 * The browser entry point must bundle for the browser: no Node built-in module and no `webgpu`
 * (Dawn) package may be reachable from src/browser.ts. Bundles with esbuild's JS API, with a
 * plugin that records (and externalizes) every such import together with its importer, and
 * checks esbuild's metafile as well. The Node entry point, bundled the same way, must be flagged
 * — which shows the check can fail.
 */
import { expect } from 'chai';
import { build, type Metafile, type Plugin } from 'esbuild';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Whether an import path names a Node built-in module (also subpaths: 'fs/promises'), Dawn or another native package. */
function forbidden(path: string): boolean {
  if (path.startsWith('node:')) return true;
  if (NODE_BUILTINS.has(path) || NODE_BUILTINS.has(path.split('/')[0])) return true;
  if (path === '@resvg/resvg-js') return true; // native PNG renderer (Node only)
  return path === 'webgpu' || path.startsWith('webgpu/');
}

interface Flagged {
  path: string;
  importer: string;
}

interface BundleReport {
  flagged: Flagged[];
  inputs: string[];
  bytes: number;
  text: string;
  errors: string[];
}

async function bundleForBrowser(entry: string): Promise<BundleReport> {
  const flagged: Flagged[] = [];
  const flagger: Plugin = {
    name: 'flag-node-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point' || !forbidden(args.path)) return undefined;
        flagged.push({ path: args.path, importer: args.importer.replace(`${ROOT}/`, '') });
        return { path: args.path, external: true };
      });
    },
  };
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [flagger],
  });
  const meta: Metafile = result.metafile;
  const bytes = result.outputFiles.reduce((n, f) => n + f.contents.length, 0);
  const text = result.outputFiles.map((f) => f.text).join('\n');
  return { flagged, inputs: Object.keys(meta.inputs), bytes, text, errors: result.errors.map((e) => e.text) };
}

/** Metafile inputs that are Dawn or a Node-only source file of ours. */
function nodeOnlyInputs(inputs: string[]): string[] {
  return inputs.filter(
    (p) => p.startsWith('node_modules/webgpu/') || /^src\/gpu\/node\.ts$/.test(p) || /^src\/.*node-[\w-]+\.ts$/.test(p),
  );
}

function listFlagged(f: Flagged[]): string {
  return f.map((x) => `${x.path} (imported by ${x.importer})`).join('\n');
}

describe('browser bundle', function () {
  this.timeout(60_000);

  it('src/browser.ts bundles for the browser without any Node built-in or the webgpu package', async () => {
    const r = await bundleForBrowser('src/browser.ts');
    expect(r.errors).to.deep.equal([]);
    expect(r.flagged, `Node-only imports reachable from src/browser.ts:\n${listFlagged(r.flagged)}`).to.deep.equal([]);
    expect(nodeOnlyInputs(r.inputs), 'Node-only files in the browser bundle').to.deep.equal([]);
    // It really is the library: the engine, the tensor code and the WGSL reflection are in it.
    expect(r.inputs).to.include.members(['src/browser.ts', 'src/core.ts', 'src/gpu/engine.ts', 'src/gpu/browser.ts', 'src/autograd/tensor.ts']);
    expect(r.inputs.some((p) => p.includes('wgsl_reflect'))).to.equal(true);
    expect(r.bytes).to.be.greaterThan(50_000);
    // Node globals are not imports, but would fail in a page just the same. protobufjs (the ONNX
    // importer's decoder) is exempt: it only feature-detects Node (`global.process &&
    // global.process.versions`, `Buffer.from` only when util.Buffer was found), which is safe in a page.
    const checked = r.text.replace(/\n\/\/ (?:\S*\/)?node_modules\/protobufjs\/dist\/protobuf\.js\n[\s\S]*?(?=\n\/\/ \S+\.(?:[cm]?js|ts)\n)/, '\n');
    expect(checked.length, 'protobufjs section not found').to.be.lessThan(r.text.length);
    expect(checked).not.to.match(/\bprocess\.(env|argv|platform|exit|versions)\b|\bBuffer\.(from|alloc)\b|\b__dirname\b/);
  });

  it('the same check flags the Node entry point src/index.ts (Dawn and node: modules)', async () => {
    const r = await bundleForBrowser('src/index.ts');
    const paths = new Set(r.flagged.map((f) => f.path));
    expect([...paths], listFlagged(r.flagged)).to.include('webgpu');
    expect([...paths].some((p) => p.startsWith('node:'))).to.equal(true);
    expect(r.flagged.map((f) => f.importer)).to.include('src/gpu/node.ts');
    expect(nodeOnlyInputs(r.inputs)).to.include('src/gpu/node.ts');
  });

  it('recognizes built-ins with and without the node: prefix, and subpaths', () => {
    for (const p of ['node:fs', 'fs', 'path', 'os', 'child_process', 'fs/promises', 'node:worker_threads', 'webgpu', 'webgpu/index.js']) {
      expect(forbidden(p), p).to.equal(true);
    }
    for (const p of ['wgsl_reflect/wgsl_reflect.module.js', 'fflate', './gpu/engine.js', '../core.js', 'pathlib-ish']) {
      expect(forbidden(p), p).to.equal(false);
    }
  });
});
