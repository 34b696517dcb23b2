/**
 * The finite flag: one 16-byte buffer that a training step's kernels write and the loss readbacks
 * read. Words: 0 the running loss sum (f32 bits), 1 the first step at which a value was not
 * finite (FLAG_NONE until then), 2 what it was at that step (the smallest `FlagCode`), 3 unused.
 * Non-finite is tested on the bits (exponent all ones): WGSL has no isFinite, and a compiler that
 * assumes finite math may fold `v != v` away.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine, Kernel } from '../gpu/engine.js';

/** Bytes of the flag buffer. */
export const FLAG_BYTES = 16;
/** Words 1 and 2 before anything was found non-finite. */
export const FLAG_NONE = 0xffffffff;

/**
 * Word 2 holds 0 for the loss; for the optimizer's parameter i, 1 + i its gradient, FLAG_WEIGHT
 * + 1 + i its updated weight, FLAG_STATE + 1 + i its optimizer state (momentum, moments). The
 * smallest code of the step wins: the loss, then the first gradient (a non-finite gradient makes
 * every weight non-finite through a clipping scale, and the gradient is the cause).
 */
export const FLAG_WEIGHT = 0x10000000;
/** See `FLAG_WEIGHT`. */
export const FLAG_STATE = 0x20000000;

/** What a flag code names. */
export type FlagWhat =
  | {
      /** The training loss. */
      what: 'loss';
    }
  | {
      /** A parameter's gradient, its updated weight or its optimizer state. */
      what: 'gradient' | 'weight' | 'state';
      /** The parameter's index among the optimizer's parameters. */
      param: number;
    };

/** What a flag code names: 'loss', or a parameter's 'gradient', 'weight' or 'state' and its index. */
export function decodeFlag(code: number): FlagWhat {
  if (code === 0) return { what: 'loss' };
  const kind = code - 1 >= FLAG_STATE ? 'state' : code - 1 >= FLAG_WEIGHT ? 'weight' : 'gradient';
  return { what: kind, param: (code - 1) % FLAG_WEIGHT };
}

/** WGSL: the flag's binding (number `binding`) and the functions kernels call to test and record. */
export function flagWgsl(binding: number): string {
  return `
@group(0) @binding(${binding}) var<storage, read_write> finite: array<atomic<u32>, 4>;
fn nonFinite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u; }
fn nonFinite4(v: vec4<f32>) -> bool { return any((bitcast<vec4<u32>>(v) & vec4<u32>(0x7f800000u)) == vec4<u32>(0x7f800000u)); }
// Steps run in order, so once word 1 holds a step, later steps see a smaller value and leave word 2.
fn flagStep(step: u32, code: u32) {
  if (atomicMin(&finite[1], step) >= step) { atomicMin(&finite[2], code); }
}`;
}

/** Adds the loss to the running sum (word 0) and flags the step if the loss is not finite. */
export const FLAG_ACCUMULATE: Kernel = {
  name: 'finite.accumulate',
  source: `
struct Params { step: u32, }
@group(0) @binding(0) var<storage, read> loss: array<f32>;
${flagWgsl(1)}
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(1)
fn main() {
  let l = loss[0];
  atomicStore(&finite[0], bitcast<u32>(bitcast<f32>(atomicLoad(&finite[0])) + l));
  if (nonFinite(l)) { flagStep(p.step, 0u); }
}`,
};

/** Records `FLAG_ACCUMULATE` for a one-element loss buffer at global step `step`. */
export function runFlagAccumulate(engine: Engine, loss: PooledBuffer, flag: PooledBuffer, step: number): void {
  engine.dispatch(FLAG_ACCUMULATE, { loss, finite: flag }, { step }, [1]);
}
