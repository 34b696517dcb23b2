// matmul.n4n4.8x8.wg8x4 (generated; test/wgsl-snapshots.test.ts)
// TM×4·TN4 block of C per invocation: c{row}_{vec4 column} accumulators; a{row} vec4s of op(A); m{j} 4×4 blocks of op(B) as mat4x4
struct Params { M: u32, N: u32, K: u32, rank: u32, aRow: u32, aCol: u32, bRow: u32, bCol: u32,
  batchShape: array<vec4<u32>, 2>, aBatch: array<vec4<u32>, 2>, bBatch: array<vec4<u32>, 2>, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@compute @workgroup_size(8, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let M = p.M; let N = p.N; let K = p.K;
  let row0 = gid.y * 8u;
  let col0 = gid.x * 8u;
  if (row0 >= M || col0 >= N) { return; }
  var aBase = 0u; var bBase = 0u;
  { var rem = wid.z;
    for (var d = i32(p.rank) - 1i; d >= 0i; d--) {
      let q = u32(d);
      let e = p.batchShape[q / 4u][q % 4u];
      let i = rem % e; rem = rem / e;
      aBase += i * p.aBatch[q / 4u][q % 4u];
      bBase += i * p.bBatch[q / 4u][q % 4u];
    } }
  let K4 = K / 4u;
  let ar0 = aBase / 4u + min(row0 + 0u, M - 1u) * K4;
  let ar1 = aBase / 4u + min(row0 + 1u, M - 1u) * K4;
  let ar2 = aBase / 4u + min(row0 + 2u, M - 1u) * K4;
  let ar3 = aBase / 4u + min(row0 + 3u, M - 1u) * K4;
  let ar4 = aBase / 4u + min(row0 + 4u, M - 1u) * K4;
  let ar5 = aBase / 4u + min(row0 + 5u, M - 1u) * K4;
  let ar6 = aBase / 4u + min(row0 + 6u, M - 1u) * K4;
  let ar7 = aBase / 4u + min(row0 + 7u, M - 1u) * K4;
  let N4 = N / 4u;
  let bg0 = bBase / 4u + min(col0 / 4u + 0u, N4 - 1u);
  let bg1 = bBase / 4u + min(col0 / 4u + 1u, N4 - 1u);
  var c0_0 = vec4<f32>(0.0);
  var c0_1 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0);
  var c1_1 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0);
  var c2_1 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0);
  var c3_1 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0);
  var c4_1 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0);
  var c5_1 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0);
  var c6_1 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0);
  var c7_1 = vec4<f32>(0.0);
  let KQ = K / 4u;
  for (var kq = 0u; kq < KQ; kq++) {
    let k0 = kq * 4u;
    let a0 = a[ar0 + kq];
    let a1 = a[ar1 + kq];
    let a2 = a[ar2 + kq];
    let a3 = a[ar3 + kq];
    let a4 = a[ar4 + kq];
    let a5 = a[ar5 + kq];
    let a6 = a[ar6 + kq];
    let a7 = a[ar7 + kq];
    let m0 = mat4x4<f32>(b[bg0 + (k0 + 0u) * N4], b[bg0 + (k0 + 1u) * N4], b[bg0 + (k0 + 2u) * N4], b[bg0 + (k0 + 3u) * N4]);
    let m1 = mat4x4<f32>(b[bg1 + (k0 + 0u) * N4], b[bg1 + (k0 + 1u) * N4], b[bg1 + (k0 + 2u) * N4], b[bg1 + (k0 + 3u) * N4]);
    c0_0 += m0 * a0;
    c1_0 += m0 * a1;
    c2_0 += m0 * a2;
    c3_0 += m0 * a3;
    c4_0 += m0 * a4;
    c5_0 += m0 * a5;
    c6_0 += m0 * a6;
    c7_0 += m0 * a7;
    c0_1 += m1 * a0;
    c1_1 += m1 * a1;
    c2_1 += m1 * a2;
    c3_1 += m1 * a3;
    c4_1 += m1 * a4;
    c5_1 += m1 * a5;
    c6_1 += m1 * a6;
    c7_1 += m1 * a7;
  }
  let cBase = wid.z * M * N;
  if (row0 + 0u < M) {
    let o = cBase + (row0 + 0u) * N + col0;
    if (col0 + 0u < N) { c[o + 0u] = c0_0.x; }
    if (col0 + 1u < N) { c[o + 1u] = c0_0.y; }
    if (col0 + 2u < N) { c[o + 2u] = c0_0.z; }
    if (col0 + 3u < N) { c[o + 3u] = c0_0.w; }
    if (col0 + 4u < N) { c[o + 4u] = c0_1.x; }
    if (col0 + 5u < N) { c[o + 5u] = c0_1.y; }
    if (col0 + 6u < N) { c[o + 6u] = c0_1.z; }
    if (col0 + 7u < N) { c[o + 7u] = c0_1.w; }
  }
  if (row0 + 1u < M) {
    let o = cBase + (row0 + 1u) * N + col0;
    if (col0 + 0u < N) { c[o + 0u] = c1_0.x; }
    if (col0 + 1u < N) { c[o + 1u] = c1_0.y; }
    if (col0 + 2u < N) { c[o + 2u] = c1_0.z; }
    if (col0 + 3u < N) { c[o + 3u] = c1_0.w; }
    if (col0 + 4u < N) { c[o + 4u] = c1_1.x; }
    if (col0 + 5u < N) { c[o + 5u] = c1_1.y; }
    if (col0 + 6u < N) { c[o + 6u] = c1_1.z; }
    if (col0 + 7u < N) { c[o + 7u] = c1_1.w; }
  }
  if (row0 + 2u < M) {
    let o = cBase + (row0 + 2u) * N + col0;
    if (col0 + 0u < N) { c[o + 0u] = c2_0.x; }
    if (col0 + 1u < N) { c[o + 1u] = c2_0.y; }
    if (col0 + 2u < N) { c[o + 2u] = c2_0.z; }
    if (col0 + 3u < N) { c[o + 3u] = c2_0.w; }
    if (col0 + 4u < N) { c[o + 4u] = c2_1.x; }
    if (col0 + 5u < N) { c[o + 5u] = c2_1.y; }
    if (col0 + 6u < N) { c[o + 6u] = c2_1.z; }
    if (col0 + 7u < N) { c[o + 7u] = c2_1.w; }
  }
  if (row0 + 3u < M) {
    let o = cBase + (row0 + 3u) * N + col0;
    if (col0 + 0u < N) { c[o + 0u] = c3_0.x; }
    if (col0 + 1u < N) { c[o + 1u] = c3_0.y; }
    if (col0 + 2u < N) { c[o + 2u] = c3_0.z; }
    if (col0 + 3u < N) { c[o + 3u] = c3_0.w; }
    if (col0 + 4u < N) { c[o + 4u] = c3_1.x; }
    if (col0 + 5u < N) { c[o + 5u] = c3_1.y; }
    if (col0 + 6u < N) { c[o + 6u] = c3_1.z; }
    if (col0 + 7u < N) { c[o + 7u] = c3_1.w; }
  }
  if (row0 + 4u < M) {
    let o = cBase + (row0 + 4u) * N + col0;
    if (col0 + 0u < N) { c[o + 0u] = c4_0.x; }
    if (col0 + 1u < N) { c[o + 1u] = c4_0.y; }
    if (col0 + 2u < N) { c[o + 2u] = c4_0.z; }
    if (col0 + 3u < N) { c[o + 3u] = c4_0.w; }
    if (col0 + 4u < N) { c[o + 4u] = c4_1.x; }
    if (col0 + 5u < N) { c[o + 5u] = c4_1.y; }
    if (col0 + 6u < N) { c[o + 6u] = c4_1.z; }
    if (col0 + 7u < N) { c[o + 7u] = c4_1.w; }
  }
  if (row0 + 5u < M) {
    let o = cBase + (row0 + 5u) * N + col0;
    if (col0 + 0u < N) { c[o + 0u] = c5_0.x; }
    if (col0 + 1u < N) { c[o + 1u] = c5_0.y; }
    if (col0 + 2u < N) { c[o + 2u] = c5_0.z; }
    if (col0 + 3u < N) { c[o + 3u] = c5_0.w; }
    if (col0 + 4u < N) { c[o + 4u] = c5_1.x; }
    if (col0 + 5u < N) { c[o + 5u] = c5_1.y; }
    if (col0 + 6u < N) { c[o + 6u] = c5_1.z; }
    if (col0 + 7u < N) { c[o + 7u] = c5_1.w; }
  }
  if (row0 + 6u < M) {
    let o = cBase + (row0 + 6u) * N + col0;
    if (col0 + 0u < N) { c[o + 0u] = c6_0.x; }
    if (col0 + 1u < N) { c[o + 1u] = c6_0.y; }
    if (col0 + 2u < N) { c[o + 2u] = c6_0.z; }
    if (col0 + 3u < N) { c[o + 3u] = c6_0.w; }
    if (col0 + 4u < N) { c[o + 4u] = c6_1.x; }
    if (col0 + 5u < N) { c[o + 5u] = c6_1.y; }
    if (col0 + 6u < N) { c[o + 6u] = c6_1.z; }
    if (col0 + 7u < N) { c[o + 7u] = c6_1.w; }
  }
  if (row0 + 7u < M) {
    let o = cBase + (row0 + 7u) * N + col0;
    if (col0 + 0u < N) { c[o + 0u] = c7_0.x; }
    if (col0 + 1u < N) { c[o + 1u] = c7_0.y; }
    if (col0 + 2u < N) { c[o + 2u] = c7_0.z; }
    if (col0 + 3u < N) { c[o + 3u] = c7_0.w; }
    if (col0 + 4u < N) { c[o + 4u] = c7_1.x; }
    if (col0 + 5u < N) { c[o + 5u] = c7_1.y; }
    if (col0 + 6u < N) { c[o + 6u] = c7_1.z; }
    if (col0 + 7u < N) { c[o + 7u] = c7_1.w; }
  }
}
