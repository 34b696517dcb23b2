// conv2d.fwd.k3x3.s1x1.d1x1.masked.t8x8.bias.relu (generated; test/wgsl-snapshots.test.ts)
// TP output pixels × TO channels per invocation: a{pixel}_{channel vec4} accumulators; x{e} the input row segment; w{kw}_{q} weight vec4s; cm/rm column/row masks, co/ro offsets, m{kh}_{e} their products
struct Params { C: u32, H: u32, W: u32, HV: i32, WV: i32, OH: u32, OW: u32, OWT: u32, tiles: u32,
  padT: i32, padL: i32, O: u32, NB: u32, xN: u32, yN: u32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 64u;
  if (t >= p.tiles) { return; }
  let ob = gid.z;
  let owt = t % p.OWT;
  let r = t / p.OWT;
  let oh = r % p.OH;
  let n = r / p.OH;
  let ow0 = owt * 8u;
  let HW = p.H * p.W;
  let xn = n * p.xN;
  let c0 = i32(ow0 * 1u) - p.padL;
  let cm0 = select(0.0, 1.0, c0 + 0 >= 0 && c0 + 0 < p.WV);
  let co0 = u32(clamp(c0 + 0, 0, p.WV - 1));
  let cm1 = select(0.0, 1.0, c0 + 1 >= 0 && c0 + 1 < p.WV);
  let co1 = u32(clamp(c0 + 1, 0, p.WV - 1));
  let cm2 = select(0.0, 1.0, c0 + 2 >= 0 && c0 + 2 < p.WV);
  let co2 = u32(clamp(c0 + 2, 0, p.WV - 1));
  let cm3 = select(0.0, 1.0, c0 + 3 >= 0 && c0 + 3 < p.WV);
  let co3 = u32(clamp(c0 + 3, 0, p.WV - 1));
  let cm4 = select(0.0, 1.0, c0 + 4 >= 0 && c0 + 4 < p.WV);
  let co4 = u32(clamp(c0 + 4, 0, p.WV - 1));
  let cm5 = select(0.0, 1.0, c0 + 5 >= 0 && c0 + 5 < p.WV);
  let co5 = u32(clamp(c0 + 5, 0, p.WV - 1));
  let cm6 = select(0.0, 1.0, c0 + 6 >= 0 && c0 + 6 < p.WV);
  let co6 = u32(clamp(c0 + 6, 0, p.WV - 1));
  let cm7 = select(0.0, 1.0, c0 + 7 >= 0 && c0 + 7 < p.WV);
  let co7 = u32(clamp(c0 + 7, 0, p.WV - 1));
  let cm8 = select(0.0, 1.0, c0 + 8 >= 0 && c0 + 8 < p.WV);
  let co8 = u32(clamp(c0 + 8, 0, p.WV - 1));
  let cm9 = select(0.0, 1.0, c0 + 9 >= 0 && c0 + 9 < p.WV);
  let co9 = u32(clamp(c0 + 9, 0, p.WV - 1));
  var a0_0 = vec4<f32>(0.0);
  var a0_1 = vec4<f32>(0.0);
  var a1_0 = vec4<f32>(0.0);
  var a1_1 = vec4<f32>(0.0);
  var a2_0 = vec4<f32>(0.0);
  var a2_1 = vec4<f32>(0.0);
  var a3_0 = vec4<f32>(0.0);
  var a3_1 = vec4<f32>(0.0);
  var a4_0 = vec4<f32>(0.0);
  var a4_1 = vec4<f32>(0.0);
  var a5_0 = vec4<f32>(0.0);
  var a5_1 = vec4<f32>(0.0);
  var a6_0 = vec4<f32>(0.0);
  var a6_1 = vec4<f32>(0.0);
  var a7_0 = vec4<f32>(0.0);
  var a7_1 = vec4<f32>(0.0);
  let rv0 = i32(oh * 1u + 0u) - p.padT;
  let rm0 = select(0.0, 1.0, rv0 >= 0 && rv0 < p.HV);
  let ro0 = (u32(clamp(rv0, 0, p.HV - 1))) * p.W;
  let m0_0 = cm0 * rm0;
  let m0_1 = cm1 * rm0;
  let m0_2 = cm2 * rm0;
  let m0_3 = cm3 * rm0;
  let m0_4 = cm4 * rm0;
  let m0_5 = cm5 * rm0;
  let m0_6 = cm6 * rm0;
  let m0_7 = cm7 * rm0;
  let m0_8 = cm8 * rm0;
  let m0_9 = cm9 * rm0;
  let rv1 = i32(oh * 1u + 1u) - p.padT;
  let rm1 = select(0.0, 1.0, rv1 >= 0 && rv1 < p.HV);
  let ro1 = (u32(clamp(rv1, 0, p.HV - 1))) * p.W;
  let m1_0 = cm0 * rm1;
  let m1_1 = cm1 * rm1;
  let m1_2 = cm2 * rm1;
  let m1_3 = cm3 * rm1;
  let m1_4 = cm4 * rm1;
  let m1_5 = cm5 * rm1;
  let m1_6 = cm6 * rm1;
  let m1_7 = cm7 * rm1;
  let m1_8 = cm8 * rm1;
  let m1_9 = cm9 * rm1;
  let rv2 = i32(oh * 1u + 2u) - p.padT;
  let rm2 = select(0.0, 1.0, rv2 >= 0 && rv2 < p.HV);
  let ro2 = (u32(clamp(rv2, 0, p.HV - 1))) * p.W;
  let m2_0 = cm0 * rm2;
  let m2_1 = cm1 * rm2;
  let m2_2 = cm2 * rm2;
  let m2_3 = cm3 * rm2;
  let m2_4 = cm4 * rm2;
  let m2_5 = cm5 * rm2;
  let m2_6 = cm6 * rm2;
  let m2_7 = cm7 * rm2;
  let m2_8 = cm8 * rm2;
  let m2_9 = cm9 * rm2;
  var xi = xn;
  var wi = ob * 2u;
  for (var ci = 0u; ci < p.C; ci++) {
    {
      let x0 = x[xi + ro0 + co0] * m0_0;
      let x1 = x[xi + ro0 + co1] * m0_1;
      let x2 = x[xi + ro0 + co2] * m0_2;
      let x3 = x[xi + ro0 + co3] * m0_3;
      let x4 = x[xi + ro0 + co4] * m0_4;
      let x5 = x[xi + ro0 + co5] * m0_5;
      let x6 = x[xi + ro0 + co6] * m0_6;
      let x7 = x[xi + ro0 + co7] * m0_7;
      let x8 = x[xi + ro0 + co8] * m0_8;
      let x9 = x[xi + ro0 + co9] * m0_9;
      let w0_0 = w[wi + 0u * p.NB + 0u * p.NB + 0u];
      a0_0 = fma(vec4<f32>(x0), w0_0, a0_0);
      a1_0 = fma(vec4<f32>(x1), w0_0, a1_0);
      a2_0 = fma(vec4<f32>(x2), w0_0, a2_0);
      a3_0 = fma(vec4<f32>(x3), w0_0, a3_0);
      a4_0 = fma(vec4<f32>(x4), w0_0, a4_0);
      a5_0 = fma(vec4<f32>(x5), w0_0, a5_0);
      a6_0 = fma(vec4<f32>(x6), w0_0, a6_0);
      a7_0 = fma(vec4<f32>(x7), w0_0, a7_0);
      let w0_1 = w[wi + 0u * p.NB + 0u * p.NB + 1u];
      a0_1 = fma(vec4<f32>(x0), w0_1, a0_1);
      a1_1 = fma(vec4<f32>(x1), w0_1, a1_1);
      a2_1 = fma(vec4<f32>(x2), w0_1, a2_1);
      a3_1 = fma(vec4<f32>(x3), w0_1, a3_1);
      a4_1 = fma(vec4<f32>(x4), w0_1, a4_1);
      a5_1 = fma(vec4<f32>(x5), w0_1, a5_1);
      a6_1 = fma(vec4<f32>(x6), w0_1, a6_1);
      a7_1 = fma(vec4<f32>(x7), w0_1, a7_1);
      let w1_0 = w[wi + 0u * p.NB + 1u * p.NB + 0u];
      a0_0 = fma(vec4<f32>(x1), w1_0, a0_0);
      a1_0 = fma(vec4<f32>(x2), w1_0, a1_0);
      a2_0 = fma(vec4<f32>(x3), w1_0, a2_0);
      a3_0 = fma(vec4<f32>(x4), w1_0, a3_0);
      a4_0 = fma(vec4<f32>(x5), w1_0, a4_0);
      a5_0 = fma(vec4<f32>(x6), w1_0, a5_0);
      a6_0 = fma(vec4<f32>(x7), w1_0, a6_0);
      a7_0 = fma(vec4<f32>(x8), w1_0, a7_0);
      let w1_1 = w[wi + 0u * p.NB + 1u * p.NB + 1u];
      a0_1 = fma(vec4<f32>(x1), w1_1, a0_1);
      a1_1 = fma(vec4<f32>(x2), w1_1, a1_1);
      a2_1 = fma(vec4<f32>(x3), w1_1, a2_1);
      a3_1 = fma(vec4<f32>(x4), w1_1, a3_1);
      a4_1 = fma(vec4<f32>(x5), w1_1, a4_1);
      a5_1 = fma(vec4<f32>(x6), w1_1, a5_1);
      a6_1 = fma(vec4<f32>(x7), w1_1, a6_1);
      a7_1 = fma(vec4<f32>(x8), w1_1, a7_1);
      let w2_0 = w[wi + 0u * p.NB + 2u * p.NB + 0u];
      a0_0 = fma(vec4<f32>(x2), w2_0, a0_0);
      a1_0 = fma(vec4<f32>(x3), w2_0, a1_0);
      a2_0 = fma(vec4<f32>(x4), w2_0, a2_0);
      a3_0 = fma(vec4<f32>(x5), w2_0, a3_0);
      a4_0 = fma(vec4<f32>(x6), w2_0, a4_0);
      a5_0 = fma(vec4<f32>(x7), w2_0, a5_0);
      a6_0 = fma(vec4<f32>(x8), w2_0, a6_0);
      a7_0 = fma(vec4<f32>(x9), w2_0, a7_0);
      let w2_1 = w[wi + 0u * p.NB + 2u * p.NB + 1u];
      a0_1 = fma(vec4<f32>(x2), w2_1, a0_1);
      a1_1 = fma(vec4<f32>(x3), w2_1, a1_1);
      a2_1 = fma(vec4<f32>(x4), w2_1, a2_1);
      a3_1 = fma(vec4<f32>(x5), w2_1, a3_1);
      a4_1 = fma(vec4<f32>(x6), w2_1, a4_1);
      a5_1 = fma(vec4<f32>(x7), w2_1, a5_1);
      a6_1 = fma(vec4<f32>(x8), w2_1, a6_1);
      a7_1 = fma(vec4<f32>(x9), w2_1, a7_1);
    }
    {
      let x0 = x[xi + ro1 + co0] * m1_0;
      let x1 = x[xi + ro1 + co1] * m1_1;
      let x2 = x[xi + ro1 + co2] * m1_2;
      let x3 = x[xi + ro1 + co3] * m1_3;
      let x4 = x[xi + ro1 + co4] * m1_4;
      let x5 = x[xi + ro1 + co5] * m1_5;
      let x6 = x[xi + ro1 + co6] * m1_6;
      let x7 = x[xi + ro1 + co7] * m1_7;
      let x8 = x[xi + ro1 + co8] * m1_8;
      let x9 = x[xi + ro1 + co9] * m1_9;
      let w0_0 = w[wi + 3u * p.NB + 0u * p.NB + 0u];
      a0_0 = fma(vec4<f32>(x0), w0_0, a0_0);
      a1_0 = fma(vec4<f32>(x1), w0_0, a1_0);
      a2_0 = fma(vec4<f32>(x2), w0_0, a2_0);
      a3_0 = fma(vec4<f32>(x3), w0_0, a3_0);
      a4_0 = fma(vec4<f32>(x4), w0_0, a4_0);
      a5_0 = fma(vec4<f32>(x5), w0_0, a5_0);
      a6_0 = fma(vec4<f32>(x6), w0_0, a6_0);
      a7_0 = fma(vec4<f32>(x7), w0_0, a7_0);
      let w0_1 = w[wi + 3u * p.NB + 0u * p.NB + 1u];
      a0_1 = fma(vec4<f32>(x0), w0_1, a0_1);
      a1_1 = fma(vec4<f32>(x1), w0_1, a1_1);
      a2_1 = fma(vec4<f32>(x2), w0_1, a2_1);
      a3_1 = fma(vec4<f32>(x3), w0_1, a3_1);
      a4_1 = fma(vec4<f32>(x4), w0_1, a4_1);
      a5_1 = fma(vec4<f32>(x5), w0_1, a5_1);
      a6_1 = fma(vec4<f32>(x6), w0_1, a6_1);
      a7_1 = fma(vec4<f32>(x7), w0_1, a7_1);
      let w1_0 = w[wi + 3u * p.NB + 1u * p.NB + 0u];
      a0_0 = fma(vec4<f32>(x1), w1_0, a0_0);
      a1_0 = fma(vec4<f32>(x2), w1_0, a1_0);
      a2_0 = fma(vec4<f32>(x3), w1_0, a2_0);
      a3_0 = fma(vec4<f32>(x4), w1_0, a3_0);
      a4_0 = fma(vec4<f32>(x5), w1_0, a4_0);
      a5_0 = fma(vec4<f32>(x6), w1_0, a5_0);
      a6_0 = fma(vec4<f32>(x7), w1_0, a6_0);
      a7_0 = fma(vec4<f32>(x8), w1_0, a7_0);
      let w1_1 = w[wi + 3u * p.NB + 1u * p.NB + 1u];
      a0_1 = fma(vec4<f32>(x1), w1_1, a0_1);
      a1_1 = fma(vec4<f32>(x2), w1_1, a1_1);
      a2_1 = fma(vec4<f32>(x3), w1_1, a2_1);
      a3_1 = fma(vec4<f32>(x4), w1_1, a3_1);
      a4_1 = fma(vec4<f32>(x5), w1_1, a4_1);
      a5_1 = fma(vec4<f32>(x6), w1_1, a5_1);
      a6_1 = fma(vec4<f32>(x7), w1_1, a6_1);
      a7_1 = fma(vec4<f32>(x8), w1_1, a7_1);
      let w2_0 = w[wi + 3u * p.NB + 2u * p.NB + 0u];
      a0_0 = fma(vec4<f32>(x2), w2_0, a0_0);
      a1_0 = fma(vec4<f32>(x3), w2_0, a1_0);
      a2_0 = fma(vec4<f32>(x4), w2_0, a2_0);
      a3_0 = fma(vec4<f32>(x5), w2_0, a3_0);
      a4_0 = fma(vec4<f32>(x6), w2_0, a4_0);
      a5_0 = fma(vec4<f32>(x7), w2_0, a5_0);
      a6_0 = fma(vec4<f32>(x8), w2_0, a6_0);
      a7_0 = fma(vec4<f32>(x9), w2_0, a7_0);
      let w2_1 = w[wi + 3u * p.NB + 2u * p.NB + 1u];
      a0_1 = fma(vec4<f32>(x2), w2_1, a0_1);
      a1_1 = fma(vec4<f32>(x3), w2_1, a1_1);
      a2_1 = fma(vec4<f32>(x4), w2_1, a2_1);
      a3_1 = fma(vec4<f32>(x5), w2_1, a3_1);
      a4_1 = fma(vec4<f32>(x6), w2_1, a4_1);
      a5_1 = fma(vec4<f32>(x7), w2_1, a5_1);
      a6_1 = fma(vec4<f32>(x8), w2_1, a6_1);
      a7_1 = fma(vec4<f32>(x9), w2_1, a7_1);
    }
    {
      let x0 = x[xi + ro2 + co0] * m2_0;
      let x1 = x[xi + ro2 + co1] * m2_1;
      let x2 = x[xi + ro2 + co2] * m2_2;
      let x3 = x[xi + ro2 + co3] * m2_3;
      let x4 = x[xi + ro2 + co4] * m2_4;
      let x5 = x[xi + ro2 + co5] * m2_5;
      let x6 = x[xi + ro2 + co6] * m2_6;
      let x7 = x[xi + ro2 + co7] * m2_7;
      let x8 = x[xi + ro2 + co8] * m2_8;
      let x9 = x[xi + ro2 + co9] * m2_9;
      let w0_0 = w[wi + 6u * p.NB + 0u * p.NB + 0u];
      a0_0 = fma(vec4<f32>(x0), w0_0, a0_0);
      a1_0 = fma(vec4<f32>(x1), w0_0, a1_0);
      a2_0 = fma(vec4<f32>(x2), w0_0, a2_0);
      a3_0 = fma(vec4<f32>(x3), w0_0, a3_0);
      a4_0 = fma(vec4<f32>(x4), w0_0, a4_0);
      a5_0 = fma(vec4<f32>(x5), w0_0, a5_0);
      a6_0 = fma(vec4<f32>(x6), w0_0, a6_0);
      a7_0 = fma(vec4<f32>(x7), w0_0, a7_0);
      let w0_1 = w[wi + 6u * p.NB + 0u * p.NB + 1u];
      a0_1 = fma(vec4<f32>(x0), w0_1, a0_1);
      a1_1 = fma(vec4<f32>(x1), w0_1, a1_1);
      a2_1 = fma(vec4<f32>(x2), w0_1, a2_1);
      a3_1 = fma(vec4<f32>(x3), w0_1, a3_1);
      a4_1 = fma(vec4<f32>(x4), w0_1, a4_1);
      a5_1 = fma(vec4<f32>(x5), w0_1, a5_1);
      a6_1 = fma(vec4<f32>(x6), w0_1, a6_1);
      a7_1 = fma(vec4<f32>(x7), w0_1, a7_1);
      let w1_0 = w[wi + 6u * p.NB + 1u * p.NB + 0u];
      a0_0 = fma(vec4<f32>(x1), w1_0, a0_0);
      a1_0 = fma(vec4<f32>(x2), w1_0, a1_0);
      a2_0 = fma(vec4<f32>(x3), w1_0, a2_0);
      a3_0 = fma(vec4<f32>(x4), w1_0, a3_0);
      a4_0 = fma(vec4<f32>(x5), w1_0, a4_0);
      a5_0 = fma(vec4<f32>(x6), w1_0, a5_0);
      a6_0 = fma(vec4<f32>(x7), w1_0, a6_0);
      a7_0 = fma(vec4<f32>(x8), w1_0, a7_0);
      let w1_1 = w[wi + 6u * p.NB + 1u * p.NB + 1u];
      a0_1 = fma(vec4<f32>(x1), w1_1, a0_1);
      a1_1 = fma(vec4<f32>(x2), w1_1, a1_1);
      a2_1 = fma(vec4<f32>(x3), w1_1, a2_1);
      a3_1 = fma(vec4<f32>(x4), w1_1, a3_1);
      a4_1 = fma(vec4<f32>(x5), w1_1, a4_1);
      a5_1 = fma(vec4<f32>(x6), w1_1, a5_1);
      a6_1 = fma(vec4<f32>(x7), w1_1, a6_1);
      a7_1 = fma(vec4<f32>(x8), w1_1, a7_1);
      let w2_0 = w[wi + 6u * p.NB + 2u * p.NB + 0u];
      a0_0 = fma(vec4<f32>(x2), w2_0, a0_0);
      a1_0 = fma(vec4<f32>(x3), w2_0, a1_0);
      a2_0 = fma(vec4<f32>(x4), w2_0, a2_0);
      a3_0 = fma(vec4<f32>(x5), w2_0, a3_0);
      a4_0 = fma(vec4<f32>(x6), w2_0, a4_0);
      a5_0 = fma(vec4<f32>(x7), w2_0, a5_0);
      a6_0 = fma(vec4<f32>(x8), w2_0, a6_0);
      a7_0 = fma(vec4<f32>(x9), w2_0, a7_0);
      let w2_1 = w[wi + 6u * p.NB + 2u * p.NB + 1u];
      a0_1 = fma(vec4<f32>(x2), w2_1, a0_1);
      a1_1 = fma(vec4<f32>(x3), w2_1, a1_1);
      a2_1 = fma(vec4<f32>(x4), w2_1, a2_1);
      a3_1 = fma(vec4<f32>(x5), w2_1, a3_1);
      a4_1 = fma(vec4<f32>(x6), w2_1, a4_1);
      a5_1 = fma(vec4<f32>(x7), w2_1, a5_1);
      a6_1 = fma(vec4<f32>(x8), w2_1, a6_1);
      a7_1 = fma(vec4<f32>(x9), w2_1, a7_1);
    }
    xi += HW;
    wi += 9u * p.NB;
  }
  let yb = n * p.yN + oh * p.OW + ow0;
  let OHW = p.OH * p.OW;
  let bias0 = bias[min(ob * 8u + 0u, p.O - 1u)];
  let bias1 = bias[min(ob * 8u + 1u, p.O - 1u)];
  let bias2 = bias[min(ob * 8u + 2u, p.O - 1u)];
  let bias3 = bias[min(ob * 8u + 3u, p.O - 1u)];
  let bias4 = bias[min(ob * 8u + 4u, p.O - 1u)];
  let bias5 = bias[min(ob * 8u + 5u, p.O - 1u)];
  let bias6 = bias[min(ob * 8u + 6u, p.O - 1u)];
  let bias7 = bias[min(ob * 8u + 7u, p.O - 1u)];
  if (ow0 + 0u < p.OW) {
    if (ob * 8u + 0u < p.O) { y[yb + (ob * 8u + 0u) * OHW + 0u] = max(a0_0[0] + bias0, 0.0); }
    if (ob * 8u + 1u < p.O) { y[yb + (ob * 8u + 1u) * OHW + 0u] = max(a0_0[1] + bias1, 0.0); }
    if (ob * 8u + 2u < p.O) { y[yb + (ob * 8u + 2u) * OHW + 0u] = max(a0_0[2] + bias2, 0.0); }
    if (ob * 8u + 3u < p.O) { y[yb + (ob * 8u + 3u) * OHW + 0u] = max(a0_0[3] + bias3, 0.0); }
    if (ob * 8u + 4u < p.O) { y[yb + (ob * 8u + 4u) * OHW + 0u] = max(a0_1[0] + bias4, 0.0); }
    if (ob * 8u + 5u < p.O) { y[yb + (ob * 8u + 5u) * OHW + 0u] = max(a0_1[1] + bias5, 0.0); }
    if (ob * 8u + 6u < p.O) { y[yb + (ob * 8u + 6u) * OHW + 0u] = max(a0_1[2] + bias6, 0.0); }
    if (ob * 8u + 7u < p.O) { y[yb + (ob * 8u + 7u) * OHW + 0u] = max(a0_1[3] + bias7, 0.0); }
  }
  if (ow0 + 1u < p.OW) {
    if (ob * 8u + 0u < p.O) { y[yb + (ob * 8u + 0u) * OHW + 1u] = max(a1_0[0] + bias0, 0.0); }
    if (ob * 8u + 1u < p.O) { y[yb + (ob * 8u + 1u) * OHW + 1u] = max(a1_0[1] + bias1, 0.0); }
    if (ob * 8u + 2u < p.O) { y[yb + (ob * 8u + 2u) * OHW + 1u] = max(a1_0[2] + bias2, 0.0); }
    if (ob * 8u + 3u < p.O) { y[yb + (ob * 8u + 3u) * OHW + 1u] = max(a1_0[3] + bias3, 0.0); }
    if (ob * 8u + 4u < p.O) { y[yb + (ob * 8u + 4u) * OHW + 1u] = max(a1_1[0] + bias4, 0.0); }
    if (ob * 8u + 5u < p.O) { y[yb + (ob * 8u + 5u) * OHW + 1u] = max(a1_1[1] + bias5, 0.0); }
    if (ob * 8u + 6u < p.O) { y[yb + (ob * 8u + 6u) * OHW + 1u] = max(a1_1[2] + bias6, 0.0); }
    if (ob * 8u + 7u < p.O) { y[yb + (ob * 8u + 7u) * OHW + 1u] = max(a1_1[3] + bias7, 0.0); }
  }
  if (ow0 + 2u < p.OW) {
    if (ob * 8u + 0u < p.O) { y[yb + (ob * 8u + 0u) * OHW + 2u] = max(a2_0[0] + bias0, 0.0); }
    if (ob * 8u + 1u < p.O) { y[yb + (ob * 8u + 1u) * OHW + 2u] = max(a2_0[1] + bias1, 0.0); }
    if (ob * 8u + 2u < p.O) { y[yb + (ob * 8u + 2u) * OHW + 2u] = max(a2_0[2] + bias2, 0.0); }
    if (ob * 8u + 3u < p.O) { y[yb + (ob * 8u + 3u) * OHW + 2u] = max(a2_0[3] + bias3, 0.0); }
    if (ob * 8u + 4u < p.O) { y[yb + (ob * 8u + 4u) * OHW + 2u] = max(a2_1[0] + bias4, 0.0); }
    if (ob * 8u + 5u < p.O) { y[yb + (ob * 8u + 5u) * OHW + 2u] = max(a2_1[1] + bias5, 0.0); }
    if (ob * 8u + 6u < p.O) { y[yb + (ob * 8u + 6u) * OHW + 2u] = max(a2_1[2] + bias6, 0.0); }
    if (ob * 8u + 7u < p.O) { y[yb + (ob * 8u + 7u) * OHW + 2u] = max(a2_1[3] + bias7, 0.0); }
  }
  if (ow0 + 3u < p.OW) {
    if (ob * 8u + 0u < p.O) { y[yb + (ob * 8u + 0u) * OHW + 3u] = max(a3_0[0] + bias0, 0.0); }
    if (ob * 8u + 1u < p.O) { y[yb + (ob * 8u + 1u) * OHW + 3u] = max(a3_0[1] + bias1, 0.0); }
    if (ob * 8u + 2u < p.O) { y[yb + (ob * 8u + 2u) * OHW + 3u] = max(a3_0[2] + bias2, 0.0); }
    if (ob * 8u + 3u < p.O) { y[yb + (ob * 8u + 3u) * OHW + 3u] = max(a3_0[3] + bias3, 0.0); }
    if (ob * 8u + 4u < p.O) { y[yb + (ob * 8u + 4u) * OHW + 3u] = max(a3_1[0] + bias4, 0.0); }
    if (ob * 8u + 5u < p.O) { y[yb + (ob * 8u + 5u) * OHW + 3u] = max(a3_1[1] + bias5, 0.0); }
    if (ob * 8u + 6u < p.O) { y[yb + (ob * 8u + 6u) * OHW + 3u] = max(a3_1[2] + bias6, 0.0); }
    if (ob * 8u + 7u < p.O) { y[yb + (ob * 8u + 7u) * OHW + 3u] = max(a3_1[3] + bias7, 0.0); }
  }
  if (ow0 + 4u < p.OW) {
    if (ob * 8u + 0u < p.O) { y[yb + (ob * 8u + 0u) * OHW + 4u] = max(a4_0[0] + bias0, 0.0); }
    if (ob * 8u + 1u < p.O) { y[yb + (ob * 8u + 1u) * OHW + 4u] = max(a4_0[1] + bias1, 0.0); }
    if (ob * 8u + 2u < p.O) { y[yb + (ob * 8u + 2u) * OHW + 4u] = max(a4_0[2] + bias2, 0.0); }
    if (ob * 8u + 3u < p.O) { y[yb + (ob * 8u + 3u) * OHW + 4u] = max(a4_0[3] + bias3, 0.0); }
    if (ob * 8u + 4u < p.O) { y[yb + (ob * 8u + 4u) * OHW + 4u] = max(a4_1[0] + bias4, 0.0); }
    if (ob * 8u + 5u < p.O) { y[yb + (ob * 8u + 5u) * OHW + 4u] = max(a4_1[1] + bias5, 0.0); }
    if (ob * 8u + 6u < p.O) { y[yb + (ob * 8u + 6u) * OHW + 4u] = max(a4_1[2] + bias6, 0.0); }
    if (ob * 8u + 7u < p.O) { y[yb + (ob * 8u + 7u) * OHW + 4u] = max(a4_1[3] + bias7, 0.0); }
  }
  if (ow0 + 5u < p.OW) {
    if (ob * 8u + 0u < p.O) { y[yb + (ob * 8u + 0u) * OHW + 5u] = max(a5_0[0] + bias0, 0.0); }
    if (ob * 8u + 1u < p.O) { y[yb + (ob * 8u + 1u) * OHW + 5u] = max(a5_0[1] + bias1, 0.0); }
    if (ob * 8u + 2u < p.O) { y[yb + (ob * 8u + 2u) * OHW + 5u] = max(a5_0[2] + bias2, 0.0); }
    if (ob * 8u + 3u < p.O) { y[yb + (ob * 8u + 3u) * OHW + 5u] = max(a5_0[3] + bias3, 0.0); }
    if (ob * 8u + 4u < p.O) { y[yb + (ob * 8u + 4u) * OHW + 5u] = max(a5_1[0] + bias4, 0.0); }
    if (ob * 8u + 5u < p.O) { y[yb + (ob * 8u + 5u) * OHW + 5u] = max(a5_1[1] + bias5, 0.0); }
    if (ob * 8u + 6u < p.O) { y[yb + (ob * 8u + 6u) * OHW + 5u] = max(a5_1[2] + bias6, 0.0); }
    if (ob * 8u + 7u < p.O) { y[yb + (ob * 8u + 7u) * OHW + 5u] = max(a5_1[3] + bias7, 0.0); }
  }
  if (ow0 + 6u < p.OW) {
    if (ob * 8u + 0u < p.O) { y[yb + (ob * 8u + 0u) * OHW + 6u] = max(a6_0[0] + bias0, 0.0); }
    if (ob * 8u + 1u < p.O) { y[yb + (ob * 8u + 1u) * OHW + 6u] = max(a6_0[1] + bias1, 0.0); }
    if (ob * 8u + 2u < p.O) { y[yb + (ob * 8u + 2u) * OHW + 6u] = max(a6_0[2] + bias2, 0.0); }
    if (ob * 8u + 3u < p.O) { y[yb + (ob * 8u + 3u) * OHW + 6u] = max(a6_0[3] + bias3, 0.0); }
    if (ob * 8u + 4u < p.O) { y[yb + (ob * 8u + 4u) * OHW + 6u] = max(a6_1[0] + bias4, 0.0); }
    if (ob * 8u + 5u < p.O) { y[yb + (ob * 8u + 5u) * OHW + 6u] = max(a6_1[1] + bias5, 0.0); }
    if (ob * 8u + 6u < p.O) { y[yb + (ob * 8u + 6u) * OHW + 6u] = max(a6_1[2] + bias6, 0.0); }
    if (ob * 8u + 7u < p.O) { y[yb + (ob * 8u + 7u) * OHW + 6u] = max(a6_1[3] + bias7, 0.0); }
  }
  if (ow0 + 7u < p.OW) {
    if (ob * 8u + 0u < p.O) { y[yb + (ob * 8u + 0u) * OHW + 7u] = max(a7_0[0] + bias0, 0.0); }
    if (ob * 8u + 1u < p.O) { y[yb + (ob * 8u + 1u) * OHW + 7u] = max(a7_0[1] + bias1, 0.0); }
    if (ob * 8u + 2u < p.O) { y[yb + (ob * 8u + 2u) * OHW + 7u] = max(a7_0[2] + bias2, 0.0); }
    if (ob * 8u + 3u < p.O) { y[yb + (ob * 8u + 3u) * OHW + 7u] = max(a7_0[3] + bias3, 0.0); }
    if (ob * 8u + 4u < p.O) { y[yb + (ob * 8u + 4u) * OHW + 7u] = max(a7_1[0] + bias4, 0.0); }
    if (ob * 8u + 5u < p.O) { y[yb + (ob * 8u + 5u) * OHW + 7u] = max(a7_1[1] + bias5, 0.0); }
    if (ob * 8u + 6u < p.O) { y[yb + (ob * 8u + 6u) * OHW + 7u] = max(a7_1[2] + bias6, 0.0); }
    if (ob * 8u + 7u < p.O) { y[yb + (ob * 8u + 7u) * OHW + 7u] = max(a7_1[3] + bias7, 0.0); }
  }
}
