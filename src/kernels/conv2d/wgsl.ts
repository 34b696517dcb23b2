/**
 * WGSL pieces the convolution kernels share: bounds masks and clamped offsets of the input rows
 * and columns a tile reads. A read that can leave the input is clamped into it (so the load is
 * valid) and multiplied by a 0/1 mask (branch-free: branches around the unrolled FMAs made
 * SwiftShader's compile times explode).
 */

/** WGSL condition: the i32 `pos` lies in [0, limit) (`extra`: ` && …`, a further condition). */
export function inside(pos: string, limit: string, extra = ''): string {
  return `${pos} >= 0 && ${pos} < ${limit}${extra}`;
}

/** WGSL: `let name = 1.0` where `pos` lies in [0, limit) (and `extra` holds), else 0.0. */
export function maskLine(name: string, pos: string, limit: string, extra = ''): string {
  return `let ${name} = select(0.0, 1.0, ${inside(pos, limit, extra)});`;
}

/** WGSL: the i32 `pos` clamped into [0, limit), as u32. */
export function clamped(pos: string, limit: string): string {
  return `u32(clamp(${pos}, 0, ${limit} - 1))`;
}

/** Pushes `lines` onto `L`, each indented by `depth` levels of two spaces. */
export function indent(L: string[], depth: number, ...lines: string[]): void {
  const pad = '  '.repeat(depth);
  for (const l of lines) L.push(pad + l);
}
