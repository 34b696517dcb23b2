/**
 * Every distillation recipe in examples/ runs with --quick as a child process (as a user would
 * start it), exits 0, prints its results table and writes its results and plots.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function run(script: string, args: string[]): Promise<{ code: number | null; output: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, seconds: (performance.now() - t0) / 1000 }));
  });
}

const COMMON = ['results.json', 'results.csv', 'comparison.svg', 'comparison.png'];
const sweepFiles = (sub: string, key: string) =>
  ['results.json', 'results.csv', 'history.csv', `metrics_vs_${key}.svg`, `metrics_vs_${key}.png`, 'curves_loss.svg', 'curves_loss.png'].map((f) => join(sub, f));

const RECIPES: { name: string; files: string[]; runs: number }[] = [
  { name: 'kd-teacher-assistant', files: [...COMMON, ...sweepFiles('t-sweep', 'temperature'), ...sweepFiles('alpha-sweep', 'alpha')], runs: 5 },
  { name: 'kd-cifar', files: COMMON, runs: 5 },
  { name: 'kd-subclass', files: COMMON, runs: 4 },
  { name: 'kd-ensemble', files: COMMON, runs: 6 }, // 3 members, the ensemble, 2 students
  { name: 'kd-transfer-set', files: COMMON, runs: 2 }, // scratch and distilled, one seed
];

describe('distillation recipes (examples/kd-*.ts --quick)', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kdgpu-recipes-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const recipe of RECIPES) {
    it(`${recipe.name} runs and writes its results`, async () => {
      const out = join(dir, recipe.name);
      // One at a time: on two cores, running two SwiftShader recipes together was no faster.
      const r = await run(`examples/${recipe.name}.ts`, ['--quick', '--out', out]);
      console.log(`      ${recipe.name} --quick: ${r.seconds.toFixed(1)} s`);
      expect(r.code, `exit code; output:\n${r.output.slice(-4000)}`).to.equal(0);
      expect(r.output).to.contain('test acc');
      for (const f of recipe.files) expect(existsSync(join(out, f)), f).to.equal(true);

      const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { runs: { name: string; test: { accuracy: number } }[] };
      expect(json.runs).to.have.length(recipe.runs);
      for (const run of json.runs) expect(run.test.accuracy, run.name).to.be.within(0, 1);
      expect(readFileSync(join(out, 'results.csv'), 'utf8').trimEnd().split('\r\n')).to.have.length(recipe.runs + 1);
      const png = PNG.sync.read(readFileSync(join(out, 'comparison.png')));
      expect(png.width).to.be.at.least(640);
      expect(png.height).to.be.at.least(480);
    });
  }

  it('rejects an unknown option value with a usage error', async () => {
    const r = await run('examples/kd-subclass.ts', ['--form', 'other', '--out', join(dir, 'bad')]);
    expect(r.code).to.not.equal(0);
    expect(r.output).to.match(/--form.*other|other.*--form/s);
  });
});
