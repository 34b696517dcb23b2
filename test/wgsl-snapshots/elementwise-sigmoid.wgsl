// elementwise.sigmoid.vec4 (generated; test/wgsl-snapshots.test.ts)
// declared in elementwise-ops.ts; vec4 per invocation; kd_* the accurate math of wgsl-math.ts
struct Params { n: u32, c: f32, shape: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<storage, read> in0: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

var<private> kd_inf_bits: u32 = 0x7f800000u;
var<private> kd_nan_bits: u32 = 0x7fc00000u;
fn kd_inf() -> vec4<f32> { return vec4<f32>(bitcast<f32>(kd_inf_bits)); }
fn kd_nan() -> vec4<f32> { return vec4<f32>(bitcast<f32>(kd_nan_bits)); }
// NaN and ∞ tests on the bits: WGSL lets compilers assume float comparisons never see them
fn kd_isnan(x: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u); }
fn kd_isinf(x: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) == vec4<u32>(0x7f800000u); }

// exp(hi + lo) for |lo| ≤ ulp(hi)
fn kd_exp_df(hi: vec4<f32>, lo: vec4<f32>) -> vec4<f32> {
  let x = clamp(hi, vec4<f32>(-110.0), vec4<f32>(100.0));
  let n = round(x * 1.44269504088896341);
  // x − n·C1 is exact (C1 has 9 bits); C1 + C2 = ln 2
  let r = ((x - n * 0.693359375) - n * -2.12194440e-4) + lo;
  let z = r * r;
  let p = (((((1.9875691500e-4 * r + 1.3981999507e-3) * r + 8.3334519073e-3) * r + 4.1665795894e-2) * r
    + 1.6666665459e-1) * r + 5.0000001201e-1) * z + r + 1.0;
  let k = vec4<i32>(n);
  let h = k / vec4<i32>(2);
  var y = ldexp(ldexp(p, h), k - h);
  y = select(y, kd_inf(), hi > vec4<f32>(88.72283935546875));
  y = select(y, vec4<f32>(0.0), hi < vec4<f32>(-103.972084045410));
  return select(y, hi + lo, kd_isnan(hi));
}
fn kd_exp(x: vec4<f32>) -> vec4<f32> { return kd_exp_df(x, vec4<f32>(0.0)); }

fn kd_sigmoid(x: vec4<f32>) -> vec4<f32> {
  let e = kd_exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= vec4<f32>(0.0));
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let x0 = in0[i];
  out[i] = kd_sigmoid(x0);
}
