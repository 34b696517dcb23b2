/**
 * Builds the web page with esbuild (from kdgpu's browser entry point) and serves it on a local
 * address. Routes: / (index.html), /app.js (the bundle), /teacher.safetensors (the shipped
 * teacher), /data/subset/* (the Fashion-MNIST subset in examples/web/data), /data/full/* (the
 * full Fashion-MNIST files when this machine has them) and /data/manifest.json (which sets exist).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { fashionMnistDirs } from '../../src/data/node-files.js';
import { FASHION_FILES } from './src/recipe.js';

export const WEB_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(WEB_DIR, '..', '..');
export const TEACHER_FILE = join(ROOT, 'assets', 'fashion-teacher.safetensors');

/** The page's script: one ES module bundling main.ts, kdgpu's browser entry and vega. */
export async function buildWebApp(opts: { minify?: boolean } = {}): Promise<string> {
  const result = await build({
    entryPoints: [join(WEB_DIR, 'src', 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: opts.minify ?? true,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

const FILE_NAMES = new Set<string>([...FASHION_FILES.train, ...FASHION_FILES.test]);

/** The folder with the four full Fashion-MNIST files, if this machine has one. */
export function fullFashionDir(): string | null {
  return fashionMnistDirs().find((d) => [...FILE_NAMES].every((f) => existsSync(join(d, f)))) ?? null;
}

export interface WebServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Builds the page and serves it on host:port (port 0: a free port). */
export async function startWebServer(opts: { port?: number; host?: string } = {}): Promise<WebServer> {
  const app = await buildWebApp();
  const html = readFileSync(join(WEB_DIR, 'index.html'));
  const fullDir = fullFashionDir();
  const manifest = JSON.stringify({ subset: true, full: fullDir !== null });
  const send = (res: import('node:http').ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', html);
    if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', app);
    if (path === '/teacher.safetensors') {
      if (!existsSync(TEACHER_FILE)) return send(res, 404, 'text/plain', `no teacher file at ${TEACHER_FILE}`);
      return send(res, 200, 'application/octet-stream', readFileSync(TEACHER_FILE));
    }
    if (path === '/data/manifest.json') return send(res, 200, 'application/json', manifest);
    const m = /^\/data\/(subset|full)\/([^/]+)$/.exec(path);
    // Only the four known file names: nothing else on disk is reachable.
    if (m && FILE_NAMES.has(m[2])) {
      const dir = m[1] === 'subset' ? join(WEB_DIR, 'data') : fullDir;
      const file = dir ? join(dir, basename(m[2])) : null;
      if (file && existsSync(file)) return send(res, 200, 'application/octet-stream', readFileSync(file));
    }
    send(res, 404, 'text/plain', `not found: ${path}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
