/** WGSL pieces shared by the matmul kernels (matmul.ts, matmul-shared.ts): uniforms, bindings, batch offsets. */

/** The uniform block every matmul kernel reads (runMatmul fills it). */
export const PARAMS = `struct Params { M: u32, N: u32, K: u32, rank: u32, aRow: u32, aCol: u32, bRow: u32, bCol: u32,
  batchShape: array<vec4<u32>, 2>, aBatch: array<vec4<u32>, 2>, bBatch: array<vec4<u32>, 2>, }`;

/** Element offsets of this workgroup's A and B matrices (batch index = workgroup_id.z). */
export const BATCH_OFFSETS = `  var aBase = 0u; var bBase = 0u;
  { var rem = wid.z;
    for (var d = i32(p.rank) - 1i; d >= 0i; d--) {
      let q = u32(d);
      let e = p.batchShape[q / 4u][q % 4u];
      let i = rem % e; rem = rem / e;
      aBase += i * p.aBatch[q / 4u][q % 4u];
      bBase += i * p.bBatch[q / 4u][q % 4u];
    } }`;

/** The bindings of a matmul kernel: A and B as arrays of `aType` / `bType`, the optional bias, C, the uniforms. */
export function bindings(aType: string, bType: string, bias: boolean): string {
  return `@group(0) @binding(0) var<storage, read> a: array<${aType}>;
@group(0) @binding(1) var<storage, read> b: array<${bType}>;
${bias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;\n' : ''}@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;`;
}
