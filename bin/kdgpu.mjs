#!/usr/bin/env node
// The `kdgpu` command. Runs the build (dist/cli/main.js) when there is one; otherwise, as in a
// fresh clone after `npm ci`, compiles the TypeScript sources on the fly with tsx.
// KDGPU_CLI_FROM_SOURCE=1 uses the sources even when a build exists (tests, development).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
const useBuild = existsSync(built) && !process.env.KDGPU_CLI_FROM_SOURCE;
if (!useBuild) {
  const { register } = await import('tsx/esm/api');
  register();
}
const cli = await import(useBuild ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
await cli.runAndExit(process.argv);
