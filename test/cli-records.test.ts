/**
 * The CLI's results do not move: `kdgpu demo --quick --json` and a small `kdgpu distill --json`
 * with fixed seeds, on each CPU adapter, give bit-equal histories, accuracies and counts to the
 * records in test/fixtures/cli-records/ (written by test/fixtures/make_cli_records.sh before the
 * CLI was restructured). Timings, speeds and paths are left out of the comparison.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'kdgpu.mjs');
const RECORDS = join(ROOT, 'test', 'fixtures', 'cli-records');

/** Keys whose values depend on the machine's speed or on where files went. */
const VOLATILE = new Set(['seconds', 'imagesPerSecond', 'inferenceImagesPerSecond', 'trainingSeconds', 'trainingImagesPerSecond', 'weights', 'files', 'out', 'assistantOut']);

/** A copy without the volatile keys, at any depth. */
export function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !VOLATILE.has(k)).map(([k, x]) => [k, stable(x)]));
  }
  return v;
}

/**
 * `got` restricted to the keys the record has (at the top level): fields added to a command's JSON
 * since the record (e.g. `checkpoint`) do not count; every recorded field must still be equal.
 */
function recorded(got: unknown, want: unknown): unknown {
  const g = stable(got) as Record<string, unknown>;
  return Object.fromEntries(Object.keys(stable(want) as object).map((k) => [k, g[k]]));
}

function kdgpuJson(args: string[], adapter: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, KDGPU_ADAPTER: adapter }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`kdgpu ${args.join(' ')} exited ${code}\n${err}`));
      else resolve(JSON.parse(out));
    });
  });
}

describe('CLI results equal the committed records (demo --quick, distill)', function () {
  this.timeout(10 * 60_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kdgpu-records-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const adapter of ['llvmpipe', 'swiftshader']) {
    it(`kdgpu demo --quick --json on ${adapter}`, async () => {
      const got = await kdgpuJson(['demo', '--quick', '--seed', '0', '--no-progress', '--out', join(tmp, `demo-${adapter}`), '--json'], adapter);
      const want = JSON.parse(readFileSync(join(RECORDS, `demo-quick-${adapter}.json`), 'utf8'));
      expect(recorded(got, want)).to.deep.equal(stable(want));
    });

    it(`kdgpu distill --json on ${adapter}`, async () => {
      const args = ['distill', '--teacher', 'assets/fashion-teacher.safetensors', '--student', 'mnist-mlp-student', '-T', '4', '--alpha', '0.7',
        '--train-size', '600', '--test-size', '500', '--epochs', '2', '--batch', '128', '--seed', '3', '--no-progress',
        '--out', join(tmp, `student-${adapter}.safetensors`), '--json'];
      const got = await kdgpuJson(args, adapter);
      const want = JSON.parse(readFileSync(join(RECORDS, `distill-${adapter}.json`), 'utf8'));
      expect(recorded(got, want)).to.deep.equal(stable(want));
    });
  }

  it('the comparison can fail: a changed loss is caught', () => {
    const want = JSON.parse(readFileSync(join(RECORDS, 'distill-llvmpipe.json'), 'utf8')) as { history: { loss: number }[]; seconds: number };
    const changed = structuredClone(want);
    changed.seconds += 1;
    expect(stable(changed)).to.deep.equal(stable(want));
    changed.history[0].loss += 1e-9;
    expect(stable(changed)).to.not.deep.equal(stable(want));
    expect(recorded({ ...want, addedLater: 1 }, want)).to.deep.equal(stable(want));
    expect(recorded({ ...want, history: [] }, want)).to.not.deep.equal(stable(want));
  });
});
