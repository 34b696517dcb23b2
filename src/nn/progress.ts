/**
 * Node-only: a terminal progress bar for `fit` (a `TrainCallbacks`), drawn with cli-progress.
 *
 * fit records a whole epoch without waiting for the GPU, so counting `onStepEnd` calls would show
 * the bar full long before the work is done. The bar therefore counts the steps whose loss has
 * come back (`onLoss`, every `logEvery` steps) and never reads anything back itself. Images/s are
 * measured between those arrivals. When the stream is not a terminal there is no bar: one plain
 * line per epoch instead, so logs and CI output stay readable.
 */
import cliProgress from 'cli-progress';
import type { EpochLog, LossInfo, StepInfo, TrainCallbacks } from './train.js';

/** Where the bar is drawn: the part of a Node writable stream (process.stderr) that is used. */
export interface ProgressStream {
  /** Writes text as is. */
  write(text: string): unknown;
  /** True for a terminal: a bar is drawn only then. */
  isTTY?: boolean;
  /** Terminal width in characters (default 80), to size the bar. */
  columns?: number;
}

/** Options of `ProgressBar`. */
export interface ProgressOptions {
  /** Where to draw (default process.stderr). */
  stream?: ProgressStream;
  /** One plain line per epoch even on a terminal. */
  plain?: boolean;
  /** Total epochs, for "epoch 2/10". */
  epochs?: number;
  /** Images per step, to turn readback arrivals into images/s (else fit's own estimate is used). */
  batchSize?: number;
  /** Prefix of every line, e.g. the model's name. */
  label?: string;
}

const fmt = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const rate = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));

/** Training callbacks that draw a per-epoch progress bar (or print one line per epoch when not on a terminal). */
export class ProgressBar implements TrainCallbacks {
  /** Whether a bar is drawn (the stream is a terminal and `plain` is not set). */
  readonly tty: boolean;
  private readonly stream: ProgressStream;
  private bar: cliProgress.SingleBar | null = null;
  private epoch = 0;
  private steps = 0;
  private done = 0;
  private lastArrival = 0;
  private lastLoss: number | undefined;

  constructor(private readonly opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = !opts.plain && this.stream.isTTY === true;
  }

  private epochText(epoch: number): string {
    return `${this.opts.label ? `${this.opts.label} ` : ''}epoch ${epoch}${this.opts.epochs ? `/${this.opts.epochs}` : ''}`;
  }

  onEpochStart(epoch: number, stepsPerEpoch: number): void {
    this.epoch = epoch;
    this.steps = stepsPerEpoch;
    this.done = 0;
    this.lastArrival = performance.now();
    this.lastLoss = undefined;
    if (!this.tty) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream as NodeJS.WritableStream,
        format: '{label} [{bar}] {value}/{total} | loss {loss} | {ips} img/s | val acc {val}',
        // The text beside the bar takes about 70 columns; the bar gets what is left.
        barsize: Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 70)),
        hideCursor: false,
        gracefulExit: false, // the CLI's own SIGINT handler decides what happens
        linewrap: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(stepsPerEpoch, 0, { label: this.epochText(epoch), loss: '—', ips: '—', val: '—' });
  }

  /** Steps are submitted ahead of the GPU: nothing to show yet (see the file comment). */
  onStepEnd(_info: StepInfo): void {}

  onLoss(info: LossInfo): void {
    if (info.epoch !== this.epoch || info.step + 1 <= this.done) return; // a late readback of an earlier epoch
    const now = performance.now();
    const steps = info.step + 1 - this.done;
    const ips = this.opts.batchSize ? (steps * this.opts.batchSize) / ((now - this.lastArrival) / 1000) : info.imagesPerSecond;
    this.done = info.step + 1;
    this.lastArrival = now;
    this.lastLoss = info.loss;
    this.bar?.update(this.done, { loss: fmt(info.loss, 4), ips: rate(ips) });
  }

  onEpochEnd(log: EpochLog): void {
    if (log.epoch !== this.epoch) return;
    const val = log.val ? fmt(log.val.accuracy, 4) : '—';
    if (this.bar) {
      this.bar.update(this.steps, { loss: fmt(log.loss, 4), ips: rate(log.imagesPerSecond), val });
      this.bar.stop();
      this.bar = null;
    } else {
      const parts = [this.epochText(log.epoch), `loss ${fmt(log.loss, 4)}`];
      if (log.val) parts.push(`val_loss ${fmt(log.val.loss, 4)}`, `val_acc ${val}`);
      parts.push(`${rate(log.imagesPerSecond)} img/s`, `${log.seconds.toFixed(1)} s`);
      this.stream.write(`${parts.join('  ')}\n`);
    }
    this.epoch = 0;
  }

  /** A message on its own line without breaking the bar (e.g. "stopping after this step"). */
  note(message: string): void {
    this.stream.write(this.bar ? `\n${message}\n` : `${message}\n`);
  }

  /** Ends a bar that is still drawn (on errors or interruption). */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }

  /** The latest loss readback of the current epoch, if any. */
  get loss(): number | undefined {
    return this.lastLoss;
  }
}
