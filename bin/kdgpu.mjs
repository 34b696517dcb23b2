#!/usr/bin/env node
// The `kdgpu` command. An installed package runs its build (dist/cli/main.js) and needs nothing
// else. In a clone of the repository (src/ beside bin/) it runs the TypeScript sources through tsx
// (a devDependency), so a stale dist/ left by `npm pack` never hides a change; there
// KDGPU_CLI_FROM_BUILD=1 runs the build instead.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const inRepository = existsSync(source);
const useSource = inRepository && !(process.env.KDGPU_CLI_FROM_BUILD && existsSync(built));

let entry = built;
if (useSource) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    entry = source;
  } catch {
    if (!existsSync(built)) {
      console.error('kdgpu: this clone has neither tsx (run `npm ci`) nor a build (run `npm run build`).');
      process.exit(1);
    }
  }
} else if (!existsSync(built)) {
  console.error(`kdgpu: the package has no build (${built.pathname} is missing); reinstall kdgpu.`);
  process.exit(1);
}
const cli = await import(entry.href);
await cli.runAndExit(process.argv);
