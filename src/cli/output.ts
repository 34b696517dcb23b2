/**
 * Where output goes. Results are text on stdout, or with --json exactly one JSON document on
 * stdout and the text on stderr; notes and progress always go to stderr.
 */

/** An error in what the user asked for: printed as one "kdgpu: …" message, never with a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class Reporter {
  constructor(readonly json: boolean) {}

  /** Human-readable results. */
  say(text: string): void {
    (this.json ? process.stderr : process.stdout).write(`${text}\n`);
  }

  /** Status lines (loading, saving, hints). */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  /** The JSON document (only under --json). NaN and ±Infinity become null, as JSON has neither. */
  result(doc: unknown): void {
    if (this.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  }
}

/** An error's message without the library's "kdgpu: " prefix, to quote inside a longer message. */
export function plain(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/^kdgpu: /, '');
}

/** "kdgpu: message" from any error; library messages already start with "kdgpu: ". */
export function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.startsWith('kdgpu:') ? msg : `kdgpu: ${msg}`;
}
