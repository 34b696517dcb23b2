// conv2d.grouped.fwd.k3x3.s1x1.taps[0@0,1@1,2@2|0@0,1@1,2@2].masked.t4x8x1.relu6 (generated; test/wgsl-snapshots.test.ts)
// TR rows × TP pixels × TO channels per invocation: a{row}_{pixel}_{channel} accumulators; w{channel}_{kh}_{kw} weights; x{e} one input row segment; rm/cm masks, ro/co offsets
struct Params { Cg: u32, H: u32, W: u32, OH: u32, OW: u32, OHT: u32, OWT: u32, Og: u32, OBG: u32, blocks: u32,
  tiles: u32, padT: i32, padL: i32, xN: u32, yN: u32, OWs: u32, OHWs: u32, oSH: u32, oSW: u32, oOffH: u32, oOffW: u32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 64u;
  if (t >= p.tiles) { return; }
  let owt = t % p.OWT;
  let t1 = t / p.OWT;
  let oht = t1 % p.OHT;
  let t2 = t1 / p.OHT;
  let ob = t2 % p.blocks;
  let n = t2 / p.blocks;
  let grp = ob / p.OBG;
  let ol0 = (ob % p.OBG) * 1u;
  let oh0 = oht * 4u;
  let ow0 = owt * 8u;
  let HW = p.H * p.W;
  let o0 = grp * p.Og + min(ol0 + 0u, p.Og - 1u);
  var wb0 = o0 * p.Cg * 9u;
  var xi = n * p.xN + grp * p.Cg * HW;
  let c0 = i32(ow0 * 1u) - p.padL;
  let cm0 = select(0.0, 1.0, c0 + 0 >= 0 && c0 + 0 < i32(p.W));
  let co0 = u32(clamp(c0 + 0, 0, i32(p.W) - 1));
  let cm1 = select(0.0, 1.0, c0 + 1 >= 0 && c0 + 1 < i32(p.W));
  let co1 = u32(clamp(c0 + 1, 0, i32(p.W) - 1));
  let cm2 = select(0.0, 1.0, c0 + 2 >= 0 && c0 + 2 < i32(p.W));
  let co2 = u32(clamp(c0 + 2, 0, i32(p.W) - 1));
  let cm3 = select(0.0, 1.0, c0 + 3 >= 0 && c0 + 3 < i32(p.W));
  let co3 = u32(clamp(c0 + 3, 0, i32(p.W) - 1));
  let cm4 = select(0.0, 1.0, c0 + 4 >= 0 && c0 + 4 < i32(p.W));
  let co4 = u32(clamp(c0 + 4, 0, i32(p.W) - 1));
  let cm5 = select(0.0, 1.0, c0 + 5 >= 0 && c0 + 5 < i32(p.W));
  let co5 = u32(clamp(c0 + 5, 0, i32(p.W) - 1));
  let cm6 = select(0.0, 1.0, c0 + 6 >= 0 && c0 + 6 < i32(p.W));
  let co6 = u32(clamp(c0 + 6, 0, i32(p.W) - 1));
  let cm7 = select(0.0, 1.0, c0 + 7 >= 0 && c0 + 7 < i32(p.W));
  let co7 = u32(clamp(c0 + 7, 0, i32(p.W) - 1));
  let cm8 = select(0.0, 1.0, c0 + 8 >= 0 && c0 + 8 < i32(p.W));
  let co8 = u32(clamp(c0 + 8, 0, i32(p.W) - 1));
  let cm9 = select(0.0, 1.0, c0 + 9 >= 0 && c0 + 9 < i32(p.W));
  let co9 = u32(clamp(c0 + 9, 0, i32(p.W) - 1));
  let r0 = i32(oh0 * 1u) - p.padT;
  let rm0 = select(0.0, 1.0, r0 + 0 >= 0 && r0 + 0 < i32(p.H));
  let ro0 = u32(clamp(r0 + 0, 0, i32(p.H) - 1)) * p.W;
  let rm1 = select(0.0, 1.0, r0 + 1 >= 0 && r0 + 1 < i32(p.H));
  let ro1 = u32(clamp(r0 + 1, 0, i32(p.H) - 1)) * p.W;
  let rm2 = select(0.0, 1.0, r0 + 2 >= 0 && r0 + 2 < i32(p.H));
  let ro2 = u32(clamp(r0 + 2, 0, i32(p.H) - 1)) * p.W;
  let rm3 = select(0.0, 1.0, r0 + 3 >= 0 && r0 + 3 < i32(p.H));
  let ro3 = u32(clamp(r0 + 3, 0, i32(p.H) - 1)) * p.W;
  let rm4 = select(0.0, 1.0, r0 + 4 >= 0 && r0 + 4 < i32(p.H));
  let ro4 = u32(clamp(r0 + 4, 0, i32(p.H) - 1)) * p.W;
  let rm5 = select(0.0, 1.0, r0 + 5 >= 0 && r0 + 5 < i32(p.H));
  let ro5 = u32(clamp(r0 + 5, 0, i32(p.H) - 1)) * p.W;
  var a0_0_0 = 0.0;
  var a0_1_0 = 0.0;
  var a0_2_0 = 0.0;
  var a0_3_0 = 0.0;
  var a0_4_0 = 0.0;
  var a0_5_0 = 0.0;
  var a0_6_0 = 0.0;
  var a0_7_0 = 0.0;
  var a1_0_0 = 0.0;
  var a1_1_0 = 0.0;
  var a1_2_0 = 0.0;
  var a1_3_0 = 0.0;
  var a1_4_0 = 0.0;
  var a1_5_0 = 0.0;
  var a1_6_0 = 0.0;
  var a1_7_0 = 0.0;
  var a2_0_0 = 0.0;
  var a2_1_0 = 0.0;
  var a2_2_0 = 0.0;
  var a2_3_0 = 0.0;
  var a2_4_0 = 0.0;
  var a2_5_0 = 0.0;
  var a2_6_0 = 0.0;
  var a2_7_0 = 0.0;
  var a3_0_0 = 0.0;
  var a3_1_0 = 0.0;
  var a3_2_0 = 0.0;
  var a3_3_0 = 0.0;
  var a3_4_0 = 0.0;
  var a3_5_0 = 0.0;
  var a3_6_0 = 0.0;
  var a3_7_0 = 0.0;
  for (var ci = 0u; ci < p.Cg; ci++) {
    let w0_0_0 = w[wb0 + 0u];
    let w0_0_1 = w[wb0 + 1u];
    let w0_0_2 = w[wb0 + 2u];
    let w0_1_0 = w[wb0 + 3u];
    let w0_1_1 = w[wb0 + 4u];
    let w0_1_2 = w[wb0 + 5u];
    let w0_2_0 = w[wb0 + 6u];
    let w0_2_1 = w[wb0 + 7u];
    let w0_2_2 = w[wb0 + 8u];
    {
      let x0 = x[xi + ro0 + co0] * (rm0 * cm0);
      let x1 = x[xi + ro0 + co1] * (rm0 * cm1);
      let x2 = x[xi + ro0 + co2] * (rm0 * cm2);
      let x3 = x[xi + ro0 + co3] * (rm0 * cm3);
      let x4 = x[xi + ro0 + co4] * (rm0 * cm4);
      let x5 = x[xi + ro0 + co5] * (rm0 * cm5);
      let x6 = x[xi + ro0 + co6] * (rm0 * cm6);
      let x7 = x[xi + ro0 + co7] * (rm0 * cm7);
      let x8 = x[xi + ro0 + co8] * (rm0 * cm8);
      let x9 = x[xi + ro0 + co9] * (rm0 * cm9);
      a0_0_0 = fma(x0, w0_0_0, a0_0_0);
      a0_1_0 = fma(x1, w0_0_0, a0_1_0);
      a0_2_0 = fma(x2, w0_0_0, a0_2_0);
      a0_3_0 = fma(x3, w0_0_0, a0_3_0);
      a0_4_0 = fma(x4, w0_0_0, a0_4_0);
      a0_5_0 = fma(x5, w0_0_0, a0_5_0);
      a0_6_0 = fma(x6, w0_0_0, a0_6_0);
      a0_7_0 = fma(x7, w0_0_0, a0_7_0);
      a0_0_0 = fma(x1, w0_0_1, a0_0_0);
      a0_1_0 = fma(x2, w0_0_1, a0_1_0);
      a0_2_0 = fma(x3, w0_0_1, a0_2_0);
      a0_3_0 = fma(x4, w0_0_1, a0_3_0);
      a0_4_0 = fma(x5, w0_0_1, a0_4_0);
      a0_5_0 = fma(x6, w0_0_1, a0_5_0);
      a0_6_0 = fma(x7, w0_0_1, a0_6_0);
      a0_7_0 = fma(x8, w0_0_1, a0_7_0);
      a0_0_0 = fma(x2, w0_0_2, a0_0_0);
      a0_1_0 = fma(x3, w0_0_2, a0_1_0);
      a0_2_0 = fma(x4, w0_0_2, a0_2_0);
      a0_3_0 = fma(x5, w0_0_2, a0_3_0);
      a0_4_0 = fma(x6, w0_0_2, a0_4_0);
      a0_5_0 = fma(x7, w0_0_2, a0_5_0);
      a0_6_0 = fma(x8, w0_0_2, a0_6_0);
      a0_7_0 = fma(x9, w0_0_2, a0_7_0);
    }
    {
      let x0 = x[xi + ro1 + co0] * (rm1 * cm0);
      let x1 = x[xi + ro1 + co1] * (rm1 * cm1);
      let x2 = x[xi + ro1 + co2] * (rm1 * cm2);
      let x3 = x[xi + ro1 + co3] * (rm1 * cm3);
      let x4 = x[xi + ro1 + co4] * (rm1 * cm4);
      let x5 = x[xi + ro1 + co5] * (rm1 * cm5);
      let x6 = x[xi + ro1 + co6] * (rm1 * cm6);
      let x7 = x[xi + ro1 + co7] * (rm1 * cm7);
      let x8 = x[xi + ro1 + co8] * (rm1 * cm8);
      let x9 = x[xi + ro1 + co9] * (rm1 * cm9);
      a0_0_0 = fma(x0, w0_1_0, a0_0_0);
      a0_1_0 = fma(x1, w0_1_0, a0_1_0);
      a0_2_0 = fma(x2, w0_1_0, a0_2_0);
      a0_3_0 = fma(x3, w0_1_0, a0_3_0);
      a0_4_0 = fma(x4, w0_1_0, a0_4_0);
      a0_5_0 = fma(x5, w0_1_0, a0_5_0);
      a0_6_0 = fma(x6, w0_1_0, a0_6_0);
      a0_7_0 = fma(x7, w0_1_0, a0_7_0);
      a0_0_0 = fma(x1, w0_1_1, a0_0_0);
      a0_1_0 = fma(x2, w0_1_1, a0_1_0);
      a0_2_0 = fma(x3, w0_1_1, a0_2_0);
      a0_3_0 = fma(x4, w0_1_1, a0_3_0);
      a0_4_0 = fma(x5, w0_1_1, a0_4_0);
      a0_5_0 = fma(x6, w0_1_1, a0_5_0);
      a0_6_0 = fma(x7, w0_1_1, a0_6_0);
      a0_7_0 = fma(x8, w0_1_1, a0_7_0);
      a0_0_0 = fma(x2, w0_1_2, a0_0_0);
      a0_1_0 = fma(x3, w0_1_2, a0_1_0);
      a0_2_0 = fma(x4, w0_1_2, a0_2_0);
      a0_3_0 = fma(x5, w0_1_2, a0_3_0);
      a0_4_0 = fma(x6, w0_1_2, a0_4_0);
      a0_5_0 = fma(x7, w0_1_2, a0_5_0);
      a0_6_0 = fma(x8, w0_1_2, a0_6_0);
      a0_7_0 = fma(x9, w0_1_2, a0_7_0);
      a1_0_0 = fma(x0, w0_0_0, a1_0_0);
      a1_1_0 = fma(x1, w0_0_0, a1_1_0);
      a1_2_0 = fma(x2, w0_0_0, a1_2_0);
      a1_3_0 = fma(x3, w0_0_0, a1_3_0);
      a1_4_0 = fma(x4, w0_0_0, a1_4_0);
      a1_5_0 = fma(x5, w0_0_0, a1_5_0);
      a1_6_0 = fma(x6, w0_0_0, a1_6_0);
      a1_7_0 = fma(x7, w0_0_0, a1_7_0);
      a1_0_0 = fma(x1, w0_0_1, a1_0_0);
      a1_1_0 = fma(x2, w0_0_1, a1_1_0);
      a1_2_0 = fma(x3, w0_0_1, a1_2_0);
      a1_3_0 = fma(x4, w0_0_1, a1_3_0);
      a1_4_0 = fma(x5, w0_0_1, a1_4_0);
      a1_5_0 = fma(x6, w0_0_1, a1_5_0);
      a1_6_0 = fma(x7, w0_0_1, a1_6_0);
      a1_7_0 = fma(x8, w0_0_1, a1_7_0);
      a1_0_0 = fma(x2, w0_0_2, a1_0_0);
      a1_1_0 = fma(x3, w0_0_2, a1_1_0);
      a1_2_0 = fma(x4, w0_0_2, a1_2_0);
      a1_3_0 = fma(x5, w0_0_2, a1_3_0);
      a1_4_0 = fma(x6, w0_0_2, a1_4_0);
      a1_5_0 = fma(x7, w0_0_2, a1_5_0);
      a1_6_0 = fma(x8, w0_0_2, a1_6_0);
      a1_7_0 = fma(x9, w0_0_2, a1_7_0);
    }
    {
      let x0 = x[xi + ro2 + co0] * (rm2 * cm0);
      let x1 = x[xi + ro2 + co1] * (rm2 * cm1);
      let x2 = x[xi + ro2 + co2] * (rm2 * cm2);
      let x3 = x[xi + ro2 + co3] * (rm2 * cm3);
      let x4 = x[xi + ro2 + co4] * (rm2 * cm4);
      let x5 = x[xi + ro2 + co5] * (rm2 * cm5);
      let x6 = x[xi + ro2 + co6] * (rm2 * cm6);
      let x7 = x[xi + ro2 + co7] * (rm2 * cm7);
      let x8 = x[xi + ro2 + co8] * (rm2 * cm8);
      let x9 = x[xi + ro2 + co9] * (rm2 * cm9);
      a0_0_0 = fma(x0, w0_2_0, a0_0_0);
      a0_1_0 = fma(x1, w0_2_0, a0_1_0);
      a0_2_0 = fma(x2, w0_2_0, a0_2_0);
      a0_3_0 = fma(x3, w0_2_0, a0_3_0);
      a0_4_0 = fma(x4, w0_2_0, a0_4_0);
      a0_5_0 = fma(x5, w0_2_0, a0_5_0);
      a0_6_0 = fma(x6, w0_2_0, a0_6_0);
      a0_7_0 = fma(x7, w0_2_0, a0_7_0);
      a0_0_0 = fma(x1, w0_2_1, a0_0_0);
      a0_1_0 = fma(x2, w0_2_1, a0_1_0);
      a0_2_0 = fma(x3, w0_2_1, a0_2_0);
      a0_3_0 = fma(x4, w0_2_1, a0_3_0);
      a0_4_0 = fma(x5, w0_2_1, a0_4_0);
      a0_5_0 = fma(x6, w0_2_1, a0_5_0);
      a0_6_0 = fma(x7, w0_2_1, a0_6_0);
      a0_7_0 = fma(x8, w0_2_1, a0_7_0);
      a0_0_0 = fma(x2, w0_2_2, a0_0_0);
      a0_1_0 = fma(x3, w0_2_2, a0_1_0);
      a0_2_0 = fma(x4, w0_2_2, a0_2_0);
      a0_3_0 = fma(x5, w0_2_2, a0_3_0);
      a0_4_0 = fma(x6, w0_2_2, a0_4_0);
      a0_5_0 = fma(x7, w0_2_2, a0_5_0);
      a0_6_0 = fma(x8, w0_2_2, a0_6_0);
      a0_7_0 = fma(x9, w0_2_2, a0_7_0);
      a1_0_0 = fma(x0, w0_1_0, a1_0_0);
      a1_1_0 = fma(x1, w0_1_0, a1_1_0);
      a1_2_0 = fma(x2, w0_1_0, a1_2_0);
      a1_3_0 = fma(x3, w0_1_0, a1_3_0);
      a1_4_0 = fma(x4, w0_1_0, a1_4_0);
      a1_5_0 = fma(x5, w0_1_0, a1_5_0);
      a1_6_0 = fma(x6, w0_1_0, a1_6_0);
      a1_7_0 = fma(x7, w0_1_0, a1_7_0);
      a1_0_0 = fma(x1, w0_1_1, a1_0_0);
      a1_1_0 = fma(x2, w0_1_1, a1_1_0);
      a1_2_0 = fma(x3, w0_1_1, a1_2_0);
      a1_3_0 = fma(x4, w0_1_1, a1_3_0);
      a1_4_0 = fma(x5, w0_1_1, a1_4_0);
      a1_5_0 = fma(x6, w0_1_1, a1_5_0);
      a1_6_0 = fma(x7, w0_1_1, a1_6_0);
      a1_7_0 = fma(x8, w0_1_1, a1_7_0);
      a1_0_0 = fma(x2, w0_1_2, a1_0_0);
      a1_1_0 = fma(x3, w0_1_2, a1_1_0);
      a1_2_0 = fma(x4, w0_1_2, a1_2_0);
      a1_3_0 = fma(x5, w0_1_2, a1_3_0);
      a1_4_0 = fma(x6, w0_1_2, a1_4_0);
      a1_5_0 = fma(x7, w0_1_2, a1_5_0);
      a1_6_0 = fma(x8, w0_1_2, a1_6_0);
      a1_7_0 = fma(x9, w0_1_2, a1_7_0);
      a2_0_0 = fma(x0, w0_0_0, a2_0_0);
      a2_1_0 = fma(x1, w0_0_0, a2_1_0);
      a2_2_0 = fma(x2, w0_0_0, a2_2_0);
      a2_3_0 = fma(x3, w0_0_0, a2_3_0);
      a2_4_0 = fma(x4, w0_0_0, a2_4_0);
      a2_5_0 = fma(x5, w0_0_0, a2_5_0);
      a2_6_0 = fma(x6, w0_0_0, a2_6_0);
      a2_7_0 = fma(x7, w0_0_0, a2_7_0);
      a2_0_0 = fma(x1, w0_0_1, a2_0_0);
      a2_1_0 = fma(x2, w0_0_1, a2_1_0);
      a2_2_0 = fma(x3, w0_0_1, a2_2_0);
      a2_3_0 = fma(x4, w0_0_1, a2_3_0);
      a2_4_0 = fma(x5, w0_0_1, a2_4_0);
      a2_5_0 = fma(x6, w0_0_1, a2_5_0);
      a2_6_0 = fma(x7, w0_0_1, a2_6_0);
      a2_7_0 = fma(x8, w0_0_1, a2_7_0);
      a2_0_0 = fma(x2, w0_0_2, a2_0_0);
      a2_1_0 = fma(x3, w0_0_2, a2_1_0);
      a2_2_0 = fma(x4, w0_0_2, a2_2_0);
      a2_3_0 = fma(x5, w0_0_2, a2_3_0);
      a2_4_0 = fma(x6, w0_0_2, a2_4_0);
      a2_5_0 = fma(x7, w0_0_2, a2_5_0);
      a2_6_0 = fma(x8, w0_0_2, a2_6_0);
      a2_7_0 = fma(x9, w0_0_2, a2_7_0);
    }
    {
      let x0 = x[xi + ro3 + co0] * (rm3 * cm0);
      let x1 = x[xi + ro3 + co1] * (rm3 * cm1);
      let x2 = x[xi + ro3 + co2] * (rm3 * cm2);
      let x3 = x[xi + ro3 + co3] * (rm3 * cm3);
      let x4 = x[xi + ro3 + co4] * (rm3 * cm4);
      let x5 = x[xi + ro3 + co5] * (rm3 * cm5);
      let x6 = x[xi + ro3 + co6] * (rm3 * cm6);
      let x7 = x[xi + ro3 + co7] * (rm3 * cm7);
      let x8 = x[xi + ro3 + co8] * (rm3 * cm8);
      let x9 = x[xi + ro3 + co9] * (rm3 * cm9);
      a1_0_0 = fma(x0, w0_2_0, a1_0_0);
      a1_1_0 = fma(x1, w0_2_0, a1_1_0);
      a1_2_0 = fma(x2, w0_2_0, a1_2_0);
      a1_3_0 = fma(x3, w0_2_0, a1_3_0);
      a1_4_0 = fma(x4, w0_2_0, a1_4_0);
      a1_5_0 = fma(x5, w0_2_0, a1_5_0);
      a1_6_0 = fma(x6, w0_2_0, a1_6_0);
      a1_7_0 = fma(x7, w0_2_0, a1_7_0);
      a1_0_0 = fma(x1, w0_2_1, a1_0_0);
      a1_1_0 = fma(x2, w0_2_1, a1_1_0);
      a1_2_0 = fma(x3, w0_2_1, a1_2_0);
      a1_3_0 = fma(x4, w0_2_1, a1_3_0);
      a1_4_0 = fma(x5, w0_2_1, a1_4_0);
      a1_5_0 = fma(x6, w0_2_1, a1_5_0);
      a1_6_0 = fma(x7, w0_2_1, a1_6_0);
      a1_7_0 = fma(x8, w0_2_1, a1_7_0);
      a1_0_0 = fma(x2, w0_2_2, a1_0_0);
      a1_1_0 = fma(x3, w0_2_2, a1_1_0);
      a1_2_0 = fma(x4, w0_2_2, a1_2_0);
      a1_3_0 = fma(x5, w0_2_2, a1_3_0);
      a1_4_0 = fma(x6, w0_2_2, a1_4_0);
      a1_5_0 = fma(x7, w0_2_2, a1_5_0);
      a1_6_0 = fma(x8, w0_2_2, a1_6_0);
      a1_7_0 = fma(x9, w0_2_2, a1_7_0);
      a2_0_0 = fma(x0, w0_1_0, a2_0_0);
      a2_1_0 = fma(x1, w0_1_0, a2_1_0);
      a2_2_0 = fma(x2, w0_1_0, a2_2_0);
      a2_3_0 = fma(x3, w0_1_0, a2_3_0);
      a2_4_0 = fma(x4, w0_1_0, a2_4_0);
      a2_5_0 = fma(x5, w0_1_0, a2_5_0);
      a2_6_0 = fma(x6, w0_1_0, a2_6_0);
      a2_7_0 = fma(x7, w0_1_0, a2_7_0);
      a2_0_0 = fma(x1, w0_1_1, a2_0_0);
      a2_1_0 = fma(x2, w0_1_1, a2_1_0);
      a2_2_0 = fma(x3, w0_1_1, a2_2_0);
      a2_3_0 = fma(x4, w0_1_1, a2_3_0);
      a2_4_0 = fma(x5, w0_1_1, a2_4_0);
      a2_5_0 = fma(x6, w0_1_1, a2_5_0);
      a2_6_0 = fma(x7, w0_1_1, a2_6_0);
      a2_7_0 = fma(x8, w0_1_1, a2_7_0);
      a2_0_0 = fma(x2, w0_1_2, a2_0_0);
      a2_1_0 = fma(x3, w0_1_2, a2_1_0);
      a2_2_0 = fma(x4, w0_1_2, a2_2_0);
      a2_3_0 = fma(x5, w0_1_2, a2_3_0);
      a2_4_0 = fma(x6, w0_1_2, a2_4_0);
      a2_5_0 = fma(x7, w0_1_2, a2_5_0);
      a2_6_0 = fma(x8, w0_1_2, a2_6_0);
      a2_7_0 = fma(x9, w0_1_2, a2_7_0);
      a3_0_0 = fma(x0, w0_0_0, a3_0_0);
      a3_1_0 = fma(x1, w0_0_0, a3_1_0);
      a3_2_0 = fma(x2, w0_0_0, a3_2_0);
      a3_3_0 = fma(x3, w0_0_0, a3_3_0);
      a3_4_0 = fma(x4, w0_0_0, a3_4_0);
      a3_5_0 = fma(x5, w0_0_0, a3_5_0);
      a3_6_0 = fma(x6, w0_0_0, a3_6_0);
      a3_7_0 = fma(x7, w0_0_0, a3_7_0);
      a3_0_0 = fma(x1, w0_0_1, a3_0_0);
      a3_1_0 = fma(x2, w0_0_1, a3_1_0);
      a3_2_0 = fma(x3, w0_0_1, a3_2_0);
      a3_3_0 = fma(x4, w0_0_1, a3_3_0);
      a3_4_0 = fma(x5, w0_0_1, a3_4_0);
      a3_5_0 = fma(x6, w0_0_1, a3_5_0);
      a3_6_0 = fma(x7, w0_0_1, a3_6_0);
      a3_7_0 = fma(x8, w0_0_1, a3_7_0);
      a3_0_0 = fma(x2, w0_0_2, a3_0_0);
      a3_1_0 = fma(x3, w0_0_2, a3_1_0);
      a3_2_0 = fma(x4, w0_0_2, a3_2_0);
      a3_3_0 = fma(x5, w0_0_2, a3_3_0);
      a3_4_0 = fma(x6, w0_0_2, a3_4_0);
      a3_5_0 = fma(x7, w0_0_2, a3_5_0);
      a3_6_0 = fma(x8, w0_0_2, a3_6_0);
      a3_7_0 = fma(x9, w0_0_2, a3_7_0);
    }
    {
      let x0 = x[xi + ro4 + co0] * (rm4 * cm0);
      let x1 = x[xi + ro4 + co1] * (rm4 * cm1);
      let x2 = x[xi + ro4 + co2] * (rm4 * cm2);
      let x3 = x[xi + ro4 + co3] * (rm4 * cm3);
      let x4 = x[xi + ro4 + co4] * (rm4 * cm4);
      let x5 = x[xi + ro4 + co5] * (rm4 * cm5);
      let x6 = x[xi + ro4 + co6] * (rm4 * cm6);
      let x7 = x[xi + ro4 + co7] * (rm4 * cm7);
      let x8 = x[xi + ro4 + co8] * (rm4 * cm8);
      let x9 = x[xi + ro4 + co9] * (rm4 * cm9);
      a2_0_0 = fma(x0, w0_2_0, a2_0_0);
      a2_1_0 = fma(x1, w0_2_0, a2_1_0);
      a2_2_0 = fma(x2, w0_2_0, a2_2_0);
      a2_3_0 = fma(x3, w0_2_0, a2_3_0);
      a2_4_0 = fma(x4, w0_2_0, a2_4_0);
      a2_5_0 = fma(x5, w0_2_0, a2_5_0);
      a2_6_0 = fma(x6, w0_2_0, a2_6_0);
      a2_7_0 = fma(x7, w0_2_0, a2_7_0);
      a2_0_0 = fma(x1, w0_2_1, a2_0_0);
      a2_1_0 = fma(x2, w0_2_1, a2_1_0);
      a2_2_0 = fma(x3, w0_2_1, a2_2_0);
      a2_3_0 = fma(x4, w0_2_1, a2_3_0);
      a2_4_0 = fma(x5, w0_2_1, a2_4_0);
      a2_5_0 = fma(x6, w0_2_1, a2_5_0);
      a2_6_0 = fma(x7, w0_2_1, a2_6_0);
      a2_7_0 = fma(x8, w0_2_1, a2_7_0);
      a2_0_0 = fma(x2, w0_2_2, a2_0_0);
      a2_1_0 = fma(x3, w0_2_2, a2_1_0);
      a2_2_0 = fma(x4, w0_2_2, a2_2_0);
      a2_3_0 = fma(x5, w0_2_2, a2_3_0);
      a2_4_0 = fma(x6, w0_2_2, a2_4_0);
      a2_5_0 = fma(x7, w0_2_2, a2_5_0);
      a2_6_0 = fma(x8, w0_2_2, a2_6_0);
      a2_7_0 = fma(x9, w0_2_2, a2_7_0);
      a3_0_0 = fma(x0, w0_1_0, a3_0_0);
      a3_1_0 = fma(x1, w0_1_0, a3_1_0);
      a3_2_0 = fma(x2, w0_1_0, a3_2_0);
      a3_3_0 = fma(x3, w0_1_0, a3_3_0);
      a3_4_0 = fma(x4, w0_1_0, a3_4_0);
      a3_5_0 = fma(x5, w0_1_0, a3_5_0);
      a3_6_0 = fma(x6, w0_1_0, a3_6_0);
      a3_7_0 = fma(x7, w0_1_0, a3_7_0);
      a3_0_0 = fma(x1, w0_1_1, a3_0_0);
      a3_1_0 = fma(x2, w0_1_1, a3_1_0);
      a3_2_0 = fma(x3, w0_1_1, a3_2_0);
      a3_3_0 = fma(x4, w0_1_1, a3_3_0);
      a3_4_0 = fma(x5, w0_1_1, a3_4_0);
      a3_5_0 = fma(x6, w0_1_1, a3_5_0);
      a3_6_0 = fma(x7, w0_1_1, a3_6_0);
      a3_7_0 = fma(x8, w0_1_1, a3_7_0);
      a3_0_0 = fma(x2, w0_1_2, a3_0_0);
      a3_1_0 = fma(x3, w0_1_2, a3_1_0);
      a3_2_0 = fma(x4, w0_1_2, a3_2_0);
      a3_3_0 = fma(x5, w0_1_2, a3_3_0);
      a3_4_0 = fma(x6, w0_1_2, a3_4_0);
      a3_5_0 = fma(x7, w0_1_2, a3_5_0);
      a3_6_0 = fma(x8, w0_1_2, a3_6_0);
      a3_7_0 = fma(x9, w0_1_2, a3_7_0);
    }
    {
      let x0 = x[xi + ro5 + co0] * (rm5 * cm0);
      let x1 = x[xi + ro5 + co1] * (rm5 * cm1);
      let x2 = x[xi + ro5 + co2] * (rm5 * cm2);
      let x3 = x[xi + ro5 + co3] * (rm5 * cm3);
      let x4 = x[xi + ro5 + co4] * (rm5 * cm4);
      let x5 = x[xi + ro5 + co5] * (rm5 * cm5);
      let x6 = x[xi + ro5 + co6] * (rm5 * cm6);
      let x7 = x[xi + ro5 + co7] * (rm5 * cm7);
      let x8 = x[xi + ro5 + co8] * (rm5 * cm8);
      let x9 = x[xi + ro5 + co9] * (rm5 * cm9);
      a3_0_0 = fma(x0, w0_2_0, a3_0_0);
      a3_1_0 = fma(x1, w0_2_0, a3_1_0);
      a3_2_0 = fma(x2, w0_2_0, a3_2_0);
      a3_3_0 = fma(x3, w0_2_0, a3_3_0);
      a3_4_0 = fma(x4, w0_2_0, a3_4_0);
      a3_5_0 = fma(x5, w0_2_0, a3_5_0);
      a3_6_0 = fma(x6, w0_2_0, a3_6_0);
      a3_7_0 = fma(x7, w0_2_0, a3_7_0);
      a3_0_0 = fma(x1, w0_2_1, a3_0_0);
      a3_1_0 = fma(x2, w0_2_1, a3_1_0);
      a3_2_0 = fma(x3, w0_2_1, a3_2_0);
      a3_3_0 = fma(x4, w0_2_1, a3_3_0);
      a3_4_0 = fma(x5, w0_2_1, a3_4_0);
      a3_5_0 = fma(x6, w0_2_1, a3_5_0);
      a3_6_0 = fma(x7, w0_2_1, a3_6_0);
      a3_7_0 = fma(x8, w0_2_1, a3_7_0);
      a3_0_0 = fma(x2, w0_2_2, a3_0_0);
      a3_1_0 = fma(x3, w0_2_2, a3_1_0);
      a3_2_0 = fma(x4, w0_2_2, a3_2_0);
      a3_3_0 = fma(x5, w0_2_2, a3_3_0);
      a3_4_0 = fma(x6, w0_2_2, a3_4_0);
      a3_5_0 = fma(x7, w0_2_2, a3_5_0);
      a3_6_0 = fma(x8, w0_2_2, a3_6_0);
      a3_7_0 = fma(x9, w0_2_2, a3_7_0);
    }
    xi += HW;
    wb0 += 9u;
  }
  let yb0 = n * p.yN + o0 * p.OHWs + p.oOffH * p.OWs + p.oOffW;
  if (oh0 + 0u < p.OH) {
    let yr = (oh0 + 0u) * p.oSH * p.OWs;
    if (ow0 + 0u < p.OW) {
      let yc = yr + (ow0 + 0u) * p.oSW;
      y[yb0 + yc] = min(max(a0_0_0, 0.0), 6.0);
    }
    if (ow0 + 1u < p.OW) {
      let yc = yr + (ow0 + 1u) * p.oSW;
      y[yb0 + yc] = min(max(a0_1_0, 0.0), 6.0);
    }
    if (ow0 + 2u < p.OW) {
      let yc = yr + (ow0 + 2u) * p.oSW;
      y[yb0 + yc] = min(max(a0_2_0, 0.0), 6.0);
    }
    if (ow0 + 3u < p.OW) {
      let yc = yr + (ow0 + 3u) * p.oSW;
      y[yb0 + yc] = min(max(a0_3_0, 0.0), 6.0);
    }
    if (ow0 + 4u < p.OW) {
      let yc = yr + (ow0 + 4u) * p.oSW;
      y[yb0 + yc] = min(max(a0_4_0, 0.0), 6.0);
    }
    if (ow0 + 5u < p.OW) {
      let yc = yr + (ow0 + 5u) * p.oSW;
      y[yb0 + yc] = min(max(a0_5_0, 0.0), 6.0);
    }
    if (ow0 + 6u < p.OW) {
      let yc = yr + (ow0 + 6u) * p.oSW;
      y[yb0 + yc] = min(max(a0_6_0, 0.0), 6.0);
    }
    if (ow0 + 7u < p.OW) {
      let yc = yr + (ow0 + 7u) * p.oSW;
      y[yb0 + yc] = min(max(a0_7_0, 0.0), 6.0);
    }
  }
  if (oh0 + 1u < p.OH) {
    let yr = (oh0 + 1u) * p.oSH * p.OWs;
    if (ow0 + 0u < p.OW) {
      let yc = yr + (ow0 + 0u) * p.oSW;
      y[yb0 + yc] = min(max(a1_0_0, 0.0), 6.0);
    }
    if (ow0 + 1u < p.OW) {
      let yc = yr + (ow0 + 1u) * p.oSW;
      y[yb0 + yc] = min(max(a1_1_0, 0.0), 6.0);
    }
    if (ow0 + 2u < p.OW) {
      let yc = yr + (ow0 + 2u) * p.oSW;
      y[yb0 + yc] = min(max(a1_2_0, 0.0), 6.0);
    }
    if (ow0 + 3u < p.OW) {
      let yc = yr + (ow0 + 3u) * p.oSW;
      y[yb0 + yc] = min(max(a1_3_0, 0.0), 6.0);
    }
    if (ow0 + 4u < p.OW) {
      let yc = yr + (ow0 + 4u) * p.oSW;
      y[yb0 + yc] = min(max(a1_4_0, 0.0), 6.0);
    }
    if (ow0 + 5u < p.OW) {
      let yc = yr + (ow0 + 5u) * p.oSW;
      y[yb0 + yc] = min(max(a1_5_0, 0.0), 6.0);
    }
    if (ow0 + 6u < p.OW) {
      let yc = yr + (ow0 + 6u) * p.oSW;
      y[yb0 + yc] = min(max(a1_6_0, 0.0), 6.0);
    }
    if (ow0 + 7u < p.OW) {
      let yc = yr + (ow0 + 7u) * p.oSW;
      y[yb0 + yc] = min(max(a1_7_0, 0.0), 6.0);
    }
  }
  if (oh0 + 2u < p.OH) {
    let yr = (oh0 + 2u) * p.oSH * p.OWs;
    if (ow0 + 0u < p.OW) {
      let yc = yr + (ow0 + 0u) * p.oSW;
      y[yb0 + yc] = min(max(a2_0_0, 0.0), 6.0);
    }
    if (ow0 + 1u < p.OW) {
      let yc = yr + (ow0 + 1u) * p.oSW;
      y[yb0 + yc] = min(max(a2_1_0, 0.0), 6.0);
    }
    if (ow0 + 2u < p.OW) {
      let yc = yr + (ow0 + 2u) * p.oSW;
      y[yb0 + yc] = min(max(a2_2_0, 0.0), 6.0);
    }
    if (ow0 + 3u < p.OW) {
      let yc = yr + (ow0 + 3u) * p.oSW;
      y[yb0 + yc] = min(max(a2_3_0, 0.0), 6.0);
    }
    if (ow0 + 4u < p.OW) {
      let yc = yr + (ow0 + 4u) * p.oSW;
      y[yb0 + yc] = min(max(a2_4_0, 0.0), 6.0);
    }
    if (ow0 + 5u < p.OW) {
      let yc = yr + (ow0 + 5u) * p.oSW;
      y[yb0 + yc] = min(max(a2_5_0, 0.0), 6.0);
    }
    if (ow0 + 6u < p.OW) {
      let yc = yr + (ow0 + 6u) * p.oSW;
      y[yb0 + yc] = min(max(a2_6_0, 0.0), 6.0);
    }
    if (ow0 + 7u < p.OW) {
      let yc = yr + (ow0 + 7u) * p.oSW;
      y[yb0 + yc] = min(max(a2_7_0, 0.0), 6.0);
    }
  }
  if (oh0 + 3u < p.OH) {
    let yr = (oh0 + 3u) * p.oSH * p.OWs;
    if (ow0 + 0u < p.OW) {
      let yc = yr + (ow0 + 0u) * p.oSW;
      y[yb0 + yc] = min(max(a3_0_0, 0.0), 6.0);
    }
    if (ow0 + 1u < p.OW) {
      let yc = yr + (ow0 + 1u) * p.oSW;
      y[yb0 + yc] = min(max(a3_1_0, 0.0), 6.0);
    }
    if (ow0 + 2u < p.OW) {
      let yc = yr + (ow0 + 2u) * p.oSW;
      y[yb0 + yc] = min(max(a3_2_0, 0.0), 6.0);
    }
    if (ow0 + 3u < p.OW) {
      let yc = yr + (ow0 + 3u) * p.oSW;
      y[yb0 + yc] = min(max(a3_3_0, 0.0), 6.0);
    }
    if (ow0 + 4u < p.OW) {
      let yc = yr + (ow0 + 4u) * p.oSW;
      y[yb0 + yc] = min(max(a3_4_0, 0.0), 6.0);
    }
    if (ow0 + 5u < p.OW) {
      let yc = yr + (ow0 + 5u) * p.oSW;
      y[yb0 + yc] = min(max(a3_5_0, 0.0), 6.0);
    }
    if (ow0 + 6u < p.OW) {
      let yc = yr + (ow0 + 6u) * p.oSW;
      y[yb0 + yc] = min(max(a3_6_0, 0.0), 6.0);
    }
    if (ow0 + 7u < p.OW) {
      let yc = yr + (ow0 + 7u) * p.oSW;
      y[yb0 + yc] = min(max(a3_7_0, 0.0), 6.0);
    }
  }
}
