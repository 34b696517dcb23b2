/** Command-line options of bench/suite.ts. */
import { SECTIONS, type Section } from './suite-harness.js';

export interface SuiteOptions {
  reps: number;
  only: Section[];
  tfjsWebgpu: boolean;
  tfjsWasm: boolean;
  /** tfjs-wasm's threaded build with 2 threads, in headless Chromium (bench/lib/wasm-browser.ts). */
  tfjsWasm2: boolean;
  /** Also its one-thread build in the same browser (peer tfjs-wasm-browser-1t): Node vs browser. */
  wasmBrowser1t: boolean;
  torch: boolean;
  /** PyTorch's threads (OMP_NUM_THREADS); null: every core this process may use. */
  torchThreads: number | null;
  quick: boolean;
  /** Square matmul sizes. */
  sizes: number[];
  /** Batch of the conv rows, training and distillation steps. */
  batch: number;
  conv2Size: number;
  memorySteps: number;
  /** Seconds per case that tfjs-webgpu may take (see suite-harness.ts). */
  tfBudgetS: number;
  /** Idle milliseconds (after a garbage collection) before every timed run. */
  settleMs: number;
  teacher: string;
  student: string;
  temperature: number;
  alpha: number;
  /** Results JSON (chart next to it); null: bench/results/<adapter>.json. */
  out: string | null;
  chart: boolean;
  markdown: boolean;
  /** Print the Markdown table of an existing results file and exit. */
  markdownFrom: string | null;
  help: boolean;
}

export const USAGE = `npx tsx bench/suite.ts [options]   (npm run bench -- [options], kdgpu bench suite [options])
  --quick                  smoke run: matmul 64 and 128, batch 8, 2 repetitions, 20 memory steps
  --reps N                 alternating repetitions per figure after a warm-up (default 5)
  --only LIST              sections: matmul,conv,steps,distill,memory (default all)
  --no-tf                  neither TensorFlow.js backend (--no-tfjs-webgpu, --no-wasm: one of them)
  --no-wasm2               no tfjs-wasm with 2 threads in headless Chromium (--no-wasm: none either)
  --wasm-browser-1t        also tfjs-wasm's one-thread build in Chromium (Node vs browser)
  --no-torch               no PyTorch; --torch-threads N sets its OMP_NUM_THREADS
  --sizes LIST             square matmul sizes (default 256,512,1024,2048)
  --batch N                batch of the conv rows and steps (default 256); --conv2-size N (default 27)
  --memory-steps N         distillation steps of the memory check (default 2000, at least 10)
  --tf-budget S            seconds per case that tfjs-webgpu may take (default 30)
  --settle-ms N            before every timed run: a garbage collection and N ms idle (default 100)
  --kd-teacher NAME        the distillation step's teacher (default hinton-mlp-teacher)
  --out FILE.json          results file (default bench/results/<adapter>.json); chart beside it
  --no-chart               no SVG/PNG chart
  --markdown               also print the Markdown table; --markdown-from FILE.json: only that`;

const FLAGS = ['help', 'quick', 'no-tf', 'no-tfjs-webgpu', 'no-wasm', 'no-wasm2', 'wasm-browser-1t', 'no-torch', 'no-chart', 'markdown'];
const VALUED = ['reps', 'only', 'sizes', 'batch', 'conv2-size', 'memory-steps', 'tf-budget', 'kd-teacher', 'out', 'markdown-from', 'torch-threads', 'settle-ms'];

function nonNegativeInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a whole number of 0 or more, got '${v}'`);
  return n;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

export function parseSuiteOptions(argv: string[]): SuiteOptions {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument '${argv[i]}'`);
    if (FLAGS.includes(name)) flags.add(name);
    else if (VALUED.includes(name)) {
      if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
      values.set(name, argv[++i]);
    } else throw new Error(`unknown option --${name}`);
  }
  const quick = flags.has('quick');
  const get = (name: string, dflt: string, quickDflt = dflt) => values.get(name) ?? (quick ? quickDflt : dflt);
  const memorySteps = positiveInt('memory-steps', get('memory-steps', '2000', '20'));
  if (memorySteps < 10) throw new Error('--memory-steps must be at least 10 (memory is read at step 10 and at the last step)');
  const only = get('only', SECTIONS.join(',')).split(',') as Section[];
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section '${s}'; sections: ${SECTIONS.join(', ')}`);
  return {
    reps: positiveInt('reps', get('reps', '5', '2')),
    only,
    tfjsWebgpu: !flags.has('no-tf') && !flags.has('no-tfjs-webgpu'),
    tfjsWasm: !flags.has('no-tf') && !flags.has('no-wasm'),
    tfjsWasm2: !flags.has('no-tf') && !flags.has('no-wasm') && !flags.has('no-wasm2'),
    wasmBrowser1t: !flags.has('no-tf') && !flags.has('no-wasm') && flags.has('wasm-browser-1t'),
    torch: !flags.has('no-torch'),
    torchThreads: values.has('torch-threads') ? positiveInt('torch-threads', values.get('torch-threads')!) : null,
    quick,
    sizes: get('sizes', '256,512,1024,2048', '64,128').split(',').map((s) => positiveInt('sizes', s)),
    batch: positiveInt('batch', get('batch', '256', '8')),
    conv2Size: positiveInt('conv2-size', get('conv2-size', '27', '9')),
    memorySteps,
    tfBudgetS: Number(get('tf-budget', '30', '60')),
    settleMs: nonNegativeInt('settle-ms', get('settle-ms', '100', '0')),
    teacher: get('kd-teacher', 'hinton-mlp-teacher'),
    student: 'mnist-mlp-student',
    temperature: 4,
    alpha: 0.9,
    out: values.get('out') ?? null,
    chart: !flags.has('no-chart'),
    markdown: flags.has('markdown'),
    markdownFrom: values.get('markdown-from') ?? null,
    help: flags.has('help'),
  };
}
