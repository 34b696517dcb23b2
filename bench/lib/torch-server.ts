/**
 * A PyTorch helper script run as a line-oriented JSON server (one request per line on stdin, one
 * reply per line on stdout), so a TypeScript driver can alternate repetitions with it. The first
 * line the script prints describes it ({"ok": true, "torch": version, "threads": n}); every reply
 * has "ok", and "error" when it is false.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface TorchReply {
  ok: boolean;
  error?: string;
  wall_ms?: number;
  cpu_ms?: number;
  torch?: string;
  threads?: number;
  /** The BLAS its matmuls run on ('OpenBLAS', 'reference BLAS', …; see suite_torch.py). */
  blas?: string;
  /** The BLAS shared objects mapped into the process. */
  blasLibraries?: string[];
  [key: string]: unknown;
}

export const PYTHON = '/usr/bin/python3';

export class TorchServer {
  private proc;
  private lines;
  info: TorchReply | null = null;

  /** `threads`: OMP_NUM_THREADS for the script (default: what the script picks); `python`: the interpreter. */
  constructor(
    private readonly script: string,
    threads?: number,
    python = PYTHON,
  ) {
    const env = threads ? { ...process.env, OMP_NUM_THREADS: String(threads) } : process.env;
    this.proc = spawn(python, [script], { stdio: ['pipe', 'pipe', 'inherit'], env });
    this.lines = createInterface({ input: this.proc.stdout! })[Symbol.asyncIterator]();
  }

  async start(): Promise<TorchReply> {
    this.info = await this.next();
    return this.info;
  }

  private async next(): Promise<TorchReply> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`${this.script} exited early`);
    const reply = JSON.parse(r.value) as TorchReply;
    if (!reply.ok) throw new Error(`${this.script}: ${reply.error}`);
    return reply;
  }

  async send(msg: object): Promise<TorchReply> {
    this.proc.stdin!.write(`${JSON.stringify(msg)}\n`);
    return this.next();
  }

  stop(): void {
    this.proc.stdin!.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
  }
}
