/**
 * `npm run web`: serves the distillation page on http://127.0.0.1:8080/ (WebGPU needs https or
 * localhost). Options: --port N (0: any free port), --host ADDR.
 */
import { startWebServer } from './server.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const port = Number(opt('--port') ?? process.env.PORT ?? 8080);
if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
  console.error(`kdgpu web: --port must be an integer in [0, 65535], got ${opt('--port') ?? process.env.PORT}`);
  process.exit(2);
}
try {
  const web = await startWebServer({ port, host: opt('--host') ?? '127.0.0.1' });
  console.log(`kdgpu distillation page: ${web.url}  (Ctrl-C stops the server)`);
} catch (e) {
  console.error(`kdgpu web: could not start the server: ${(e as Error).message}`);
  process.exit(1);
}
