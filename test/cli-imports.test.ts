/**
 * The CLI is a shell over the public API: every file in src/cli/ imports only the package's
 * entry (src/index.ts), other files in src/cli/, Node built-ins and npm packages the package
 * depends on. Imports are read with TypeScript's own pre-processor (static imports, re-exports,
 * dynamic `import()` and `import type` alike). A made-up file that reaches into the library shows
 * the check can fail; no command file is longer than 250 lines.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'src', 'cli');
const ENTRY = join(ROOT, 'src', 'index.ts');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const BUILTINS = new Set(builtinModules);

/** The imports of a file's text that break the rule, with why. */
export function badImports(text: string, dir = CLI): string[] {
  const bad: string[] = [];
  for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
    if (spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0])) continue;
    if (spec.startsWith('.')) {
      const target = resolve(dir, spec).replace(/\.js$/, '.ts');
      if (target === ENTRY) continue;
      if (dirname(target) === CLI && existsSync(target)) continue;
      bad.push(`${spec}: outside src/cli/ and not the public entry ../index.js`);
      continue;
    }
    const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    if (!(pkg in PKG.dependencies)) bad.push(`${spec}: not a dependency in package.json`);
  }
  return bad;
}

const cliFiles = () => readdirSync(CLI).filter((f) => f.endsWith('.ts'));

describe('CLI import graph (a shell over the public API)', () => {
  it('every src/cli file imports only ../index.js, src/cli files, node: built-ins and dependencies', () => {
    const files = cliFiles();
    expect(files.length).to.be.greaterThan(10);
    const found = files.flatMap((f) => badImports(readFileSync(join(CLI, f), 'utf8')).map((b) => `${f}: ${b}`));
    expect(found).to.deep.equal([]);
  });

  it('the check can fail: library internals, other folders and undeclared packages are flagged', () => {
    const text = [
      "import { fit } from '../nn/train.js';",
      "import type { Engine } from '../gpu/engine.js';",
      "export { Teacher } from '../kd/teacher.js';",
      "const m = await import('../kd/plots.js');",
      "import { x } from './no-such-file.js';",
      "import chai from 'chai';",
      "import { Command } from 'commander';",
      "import { readFileSync } from 'node:fs';",
      "import { nn } from '../index.js';",
      "import { CliError } from './output.js';",
    ].join('\n');
    expect(badImports(text).map((b) => b.split(':')[0])).to.deep.equal(['../nn/train.js', '../gpu/engine.js', '../kd/teacher.js', '../kd/plots.js', './no-such-file.js', 'chai']);
  });

  it('no command file is over 250 lines', () => {
    const commands = readFileSync(join(CLI, 'commands.ts'), 'utf8');
    const names = [...commands.matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => `${m[1]}.ts`);
    expect(names.length).to.be.greaterThan(5);
    const long = names.map((f) => [f, readFileSync(join(CLI, f), 'utf8').split('\n').length] as const).filter(([, n]) => n > 250);
    expect(long).to.deep.equal([]);
  });
});
