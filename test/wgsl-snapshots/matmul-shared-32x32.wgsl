// matmul.shared.n4n4.32x32.t4x4.k16 (generated; test/wgsl-snapshots.test.ts)
// workgroup-shared tile (GPUs): As/Bs the k-major op(A)/op(B) tiles in workgroup memory; c{row}_{vec4 column} accumulators; a{k}_{r}/b{k}_{j} vec4s read from the tiles
struct Params { M: u32, N: u32, K: u32, rank: u32, aRow: u32, aCol: u32, bRow: u32, bCol: u32,
  batchShape: array<vec4<u32>, 2>, aBatch: array<vec4<u32>, 2>, bBatch: array<vec4<u32>, 2>, }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
var<workgroup> As: array<vec4<f32>, 128>;
var<workgroup> Bs: array<vec4<f32>, 128>;
@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let M = p.M; let N = p.N; let K = p.K;
  let tx = lid.x; let ty = lid.y;
  let m0 = wid.y * 32u;
  let n0 = wid.x * 32u;
  var aBase = 0u; var bBase = 0u;
  { var rem = wid.z;
    for (var d = i32(p.rank) - 1i; d >= 0i; d--) {
      let q = u32(d);
      let e = p.batchShape[q / 4u][q % 4u];
      let i = rem % e; rem = rem / e;
      aBase += i * p.aBatch[q / 4u][q % 4u];
      bBase += i * p.bBatch[q / 4u][q % 4u];
    } }
  var c0_0 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += 16u) {
  if (lidx + 0u < 32u) {
    let d = ((lidx + 0u) / 4u) * 4u; let kk = ((lidx + 0u) % 4u) * 4u;
    let gd = m0 + d; let gk = k0 + kk;
    let v0 = select(vec4<f32>(0.0), a[(aBase + (min(gd + 0u, M - 1u)) * K + (min(gk, K - 4u))) / 4u], gd + 0u < M && gk < K);
    let v1 = select(vec4<f32>(0.0), a[(aBase + (min(gd + 1u, M - 1u)) * K + (min(gk, K - 4u))) / 4u], gd + 1u < M && gk < K);
    let v2 = select(vec4<f32>(0.0), a[(aBase + (min(gd + 2u, M - 1u)) * K + (min(gk, K - 4u))) / 4u], gd + 2u < M && gk < K);
    let v3 = select(vec4<f32>(0.0), a[(aBase + (min(gd + 3u, M - 1u)) * K + (min(gk, K - 4u))) / 4u], gd + 3u < M && gk < K);
    As[(kk + 0u) * 8u + d / 4u] = vec4<f32>(v0.x, v1.x, v2.x, v3.x);
    As[(kk + 1u) * 8u + d / 4u] = vec4<f32>(v0.y, v1.y, v2.y, v3.y);
    As[(kk + 2u) * 8u + d / 4u] = vec4<f32>(v0.z, v1.z, v2.z, v3.z);
    As[(kk + 3u) * 8u + d / 4u] = vec4<f32>(v0.w, v1.w, v2.w, v3.w);
  }
  {
    let k = (lidx + 0u) / 8u; let dd = ((lidx + 0u) % 8u) * 4u;
    let gd = n0 + dd; let gk = k0 + k;
    let ck = min(gk, K - 1u);
    Bs[k * 8u + dd / 4u] = select(vec4<f32>(0.0), b[(bBase + (ck) * N + (min(gd, N - 4u))) / 4u], gd < N && gk < K);
  }
  {
    let k = (lidx + 64u) / 8u; let dd = ((lidx + 64u) % 8u) * 4u;
    let gd = n0 + dd; let gk = k0 + k;
    let ck = min(gk, K - 1u);
    Bs[k * 8u + dd / 4u] = select(vec4<f32>(0.0), b[(bBase + (ck) * N + (min(gd, N - 4u))) / 4u], gd < N && gk < K);
  }
    workgroupBarrier();
    let a0_0 = As[0u + ty];
    let b0_0 = Bs[0u + tx];
    c0_0 = fma(vec4<f32>(a0_0.x), b0_0, c0_0);
    c1_0 = fma(vec4<f32>(a0_0.y), b0_0, c1_0);
    c2_0 = fma(vec4<f32>(a0_0.z), b0_0, c2_0);
    c3_0 = fma(vec4<f32>(a0_0.w), b0_0, c3_0);
    let a1_0 = As[8u + ty];
    let b1_0 = Bs[8u + tx];
    c0_0 = fma(vec4<f32>(a1_0.x), b1_0, c0_0);
    c1_0 = fma(vec4<f32>(a1_0.y), b1_0, c1_0);
    c2_0 = fma(vec4<f32>(a1_0.z), b1_0, c2_0);
    c3_0 = fma(vec4<f32>(a1_0.w), b1_0, c3_0);
    let a2_0 = As[16u + ty];
    let b2_0 = Bs[16u + tx];
    c0_0 = fma(vec4<f32>(a2_0.x), b2_0, c0_0);
    c1_0 = fma(vec4<f32>(a2_0.y), b2_0, c1_0);
    c2_0 = fma(vec4<f32>(a2_0.z), b2_0, c2_0);
    c3_0 = fma(vec4<f32>(a2_0.w), b2_0, c3_0);
    let a3_0 = As[24u + ty];
    let b3_0 = Bs[24u + tx];
    c0_0 = fma(vec4<f32>(a3_0.x), b3_0, c0_0);
    c1_0 = fma(vec4<f32>(a3_0.y), b3_0, c1_0);
    c2_0 = fma(vec4<f32>(a3_0.z), b3_0, c2_0);
    c3_0 = fma(vec4<f32>(a3_0.w), b3_0, c3_0);
    let a4_0 = As[32u + ty];
    let b4_0 = Bs[32u + tx];
    c0_0 = fma(vec4<f32>(a4_0.x), b4_0, c0_0);
    c1_0 = fma(vec4<f32>(a4_0.y), b4_0, c1_0);
    c2_0 = fma(vec4<f32>(a4_0.z), b4_0, c2_0);
    c3_0 = fma(vec4<f32>(a4_0.w), b4_0, c3_0);
    let a5_0 = As[40u + ty];
    let b5_0 = Bs[40u + tx];
    c0_0 = fma(vec4<f32>(a5_0.x), b5_0, c0_0);
    c1_0 = fma(vec4<f32>(a5_0.y), b5_0, c1_0);
    c2_0 = fma(vec4<f32>(a5_0.z), b5_0, c2_0);
    c3_0 = fma(vec4<f32>(a5_0.w), b5_0, c3_0);
    let a6_0 = As[48u + ty];
    let b6_0 = Bs[48u + tx];
    c0_0 = fma(vec4<f32>(a6_0.x), b6_0, c0_0);
    c1_0 = fma(vec4<f32>(a6_0.y), b6_0, c1_0);
    c2_0 = fma(vec4<f32>(a6_0.z), b6_0, c2_0);
    c3_0 = fma(vec4<f32>(a6_0.w), b6_0, c3_0);
    let a7_0 = As[56u + ty];
    let b7_0 = Bs[56u + tx];
    c0_0 = fma(vec4<f32>(a7_0.x), b7_0, c0_0);
    c1_0 = fma(vec4<f32>(a7_0.y), b7_0, c1_0);
    c2_0 = fma(vec4<f32>(a7_0.z), b7_0, c2_0);
    c3_0 = fma(vec4<f32>(a7_0.w), b7_0, c3_0);
    let a8_0 = As[64u + ty];
    let b8_0 = Bs[64u + tx];
    c0_0 = fma(vec4<f32>(a8_0.x), b8_0, c0_0);
    c1_0 = fma(vec4<f32>(a8_0.y), b8_0, c1_0);
    c2_0 = fma(vec4<f32>(a8_0.z), b8_0, c2_0);
    c3_0 = fma(vec4<f32>(a8_0.w), b8_0, c3_0);
    let a9_0 = As[72u + ty];
    let b9_0 = Bs[72u + tx];
    c0_0 = fma(vec4<f32>(a9_0.x), b9_0, c0_0);
    c1_0 = fma(vec4<f32>(a9_0.y), b9_0, c1_0);
    c2_0 = fma(vec4<f32>(a9_0.z), b9_0, c2_0);
    c3_0 = fma(vec4<f32>(a9_0.w), b9_0, c3_0);
    let a10_0 = As[80u + ty];
    let b10_0 = Bs[80u + tx];
    c0_0 = fma(vec4<f32>(a10_0.x), b10_0, c0_0);
    c1_0 = fma(vec4<f32>(a10_0.y), b10_0, c1_0);
    c2_0 = fma(vec4<f32>(a10_0.z), b10_0, c2_0);
    c3_0 = fma(vec4<f32>(a10_0.w), b10_0, c3_0);
    let a11_0 = As[88u + ty];
    let b11_0 = Bs[88u + tx];
    c0_0 = fma(vec4<f32>(a11_0.x), b11_0, c0_0);
    c1_0 = fma(vec4<f32>(a11_0.y), b11_0, c1_0);
    c2_0 = fma(vec4<f32>(a11_0.z), b11_0, c2_0);
    c3_0 = fma(vec4<f32>(a11_0.w), b11_0, c3_0);
    let a12_0 = As[96u + ty];
    let b12_0 = Bs[96u + tx];
    c0_0 = fma(vec4<f32>(a12_0.x), b12_0, c0_0);
    c1_0 = fma(vec4<f32>(a12_0.y), b12_0, c1_0);
    c2_0 = fma(vec4<f32>(a12_0.z), b12_0, c2_0);
    c3_0 = fma(vec4<f32>(a12_0.w), b12_0, c3_0);
    let a13_0 = As[104u + ty];
    let b13_0 = Bs[104u + tx];
    c0_0 = fma(vec4<f32>(a13_0.x), b13_0, c0_0);
    c1_0 = fma(vec4<f32>(a13_0.y), b13_0, c1_0);
    c2_0 = fma(vec4<f32>(a13_0.z), b13_0, c2_0);
    c3_0 = fma(vec4<f32>(a13_0.w), b13_0, c3_0);
    let a14_0 = As[112u + ty];
    let b14_0 = Bs[112u + tx];
    c0_0 = fma(vec4<f32>(a14_0.x), b14_0, c0_0);
    c1_0 = fma(vec4<f32>(a14_0.y), b14_0, c1_0);
    c2_0 = fma(vec4<f32>(a14_0.z), b14_0, c2_0);
    c3_0 = fma(vec4<f32>(a14_0.w), b14_0, c3_0);
    let a15_0 = As[120u + ty];
    let b15_0 = Bs[120u + tx];
    c0_0 = fma(vec4<f32>(a15_0.x), b15_0, c0_0);
    c1_0 = fma(vec4<f32>(a15_0.y), b15_0, c1_0);
    c2_0 = fma(vec4<f32>(a15_0.z), b15_0, c2_0);
    c3_0 = fma(vec4<f32>(a15_0.w), b15_0, c3_0);
    workgroupBarrier();
  }
  let cBase = wid.z * M * N;
  let col0 = n0 + (tx + 0u) * 4u;
  { let row = m0 + (ty + 0u) * 4u + 0u;
    if (row < M) {
      let o = cBase + row * N;
      if (col0 + 0u < N) { c[o + col0 + 0u] = c0_0.x; }
      if (col0 + 1u < N) { c[o + col0 + 1u] = c0_0.y; }
      if (col0 + 2u < N) { c[o + col0 + 2u] = c0_0.z; }
      if (col0 + 3u < N) { c[o + col0 + 3u] = c0_0.w; }
    } }
  { let row = m0 + (ty + 0u) * 4u + 1u;
    if (row < M) {
      let o = cBase + row * N;
      if (col0 + 0u < N) { c[o + col0 + 0u] = c1_0.x; }
      if (col0 + 1u < N) { c[o + col0 + 1u] = c1_0.y; }
      if (col0 + 2u < N) { c[o + col0 + 2u] = c1_0.z; }
      if (col0 + 3u < N) { c[o + col0 + 3u] = c1_0.w; }
    } }
  { let row = m0 + (ty + 0u) * 4u + 2u;
    if (row < M) {
      let o = cBase + row * N;
      if (col0 + 0u < N) { c[o + col0 + 0u] = c2_0.x; }
      if (col0 + 1u < N) { c[o + col0 + 1u] = c2_0.y; }
      if (col0 + 2u < N) { c[o + col0 + 2u] = c2_0.z; }
      if (col0 + 3u < N) { c[o + col0 + 3u] = c2_0.w; }
    } }
  { let row = m0 + (ty + 0u) * 4u + 3u;
    if (row < M) {
      let o = cBase + row * N;
      if (col0 + 0u < N) { c[o + col0 + 0u] = c3_0.x; }
      if (col0 + 1u < N) { c[o + col0 + 1u] = c3_0.y; }
      if (col0 + 2u < N) { c[o + col0 + 2u] = c3_0.z; }
      if (col0 + 3u < N) { c[o + col0 + 3u] = c3_0.w; }
    } }
}
