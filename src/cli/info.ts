/**
 * `kdgpu info`: the WebGPU adapter kdgpu would use.
 *
 * JSON: { vendor, architecture, device, description, software (true for CPU implementations such
 * as SwiftShader), kind ('hardware' | 'llvmpipe' | 'swiftshader' | 'software'), backend ('vulkan' |
 * 'opengles'), reason (why this adapter: the choice and what was tried before), features: string[], limits: { maxBufferSize, … } (the device's key limits),
 * node (Node.js version) }
 */
import { Command } from 'commander';
import { KEY_LIMITS } from '../index.js';
import { initGpu } from './gpu.js';
import { jsonOption } from './options.js';
import { Reporter } from './output.js';

export default function infoCommand(): Command {
  return new Command('info')
    .description('show the GPU adapter (vendor, architecture, software or not), key limits and features')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const out = new Reporter(Boolean(opts.json));
      const e = await initGpu(cmd);
      const a = e.adapter;
      const lim = e.limits as unknown as Record<string, number>;
      const limits = Object.fromEntries(KEY_LIMITS.map((k) => [k, lim[k]]));
      out.result({ vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description, software: a.software, kind: a.kind, backend: a.backend, reason: a.reason, features: a.features, limits, node: process.version });
      const width = Math.max(...KEY_LIMITS.map((k) => k.length));
      out.say(
        [
          `adapter       ${a.kind === 'llvmpipe' || a.kind === 'swiftshader' ? `${a.kind}: ` : ''}${a.description || a.device || '(no description)'}${a.software ? '  [software: runs on the CPU]' : ''}`,
          `backend       ${a.backend || '—'}`,
          `why           ${a.reason || '—'}`,
          `vendor        ${a.vendor || '—'}`,
          `architecture  ${a.architecture || '—'}`,
          `device        ${a.device || '—'}`,
          'limits',
          ...KEY_LIMITS.map((k) => `  ${k.padEnd(width)}  ${lim[k]?.toLocaleString('en-US') ?? '—'}`),
          `features      ${a.features.join(', ') || '—'}`,
        ].join('\n'),
      );
    });
}
