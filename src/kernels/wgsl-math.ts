/**
 * Accurate math in WGSL: exp, log, pow, sigmoid and tanh for the elementwise kernels.
 *
 * The builtins exp/log/pow are only as precise as the driver makes them (SwiftShader's log has an
 * absolute error near 2^-21, so log(x) for x near 1 is off by up to 40%; its exp loses ~|x|·2^-24
 * relative). These hand-written versions are within a few ulp in float32, on every adapter:
 *   kd_log_df: log as an unevaluated sum hi + lo (cephes's polynomial, extra-precise f − f²/2 and
 *              e·ln2 terms), so pow's b·log|a| keeps ~30 bits;
 *   kd_exp_df: exp(hi + lo) with Cody–Waite reduction and cephes's polynomial, scaled by 2^n in two
 *              halves, with explicit overflow/underflow (ldexp's are undefined in SPIR-V).
 * Products of split halves are exact, so fused multiply-adds (which Vulkan allows a driver to form)
 * cannot change the result. Infinities and NaN come from private variables: WGSL rejects them in
 * constant expressions.
 */

interface MathLib {
  deps: string[];
  text: (t: WgslTypes) => string;
}

interface WgslTypes {
  /** float type (f32 or vec4<f32>) and the matching u32, i32 and bool types */
  T: string;
  U: string;
  I: string;
  B: string;
}

function wgslTypes(T: string): WgslTypes {
  const v = T.startsWith('vec4');
  return { T, U: v ? 'vec4<u32>' : 'u32', I: v ? 'vec4<i32>' : 'i32', B: v ? 'vec4<bool>' : 'bool' };
}

const MATH: Record<string, MathLib> = {
  consts: {
    deps: [],
    text: ({ T, U, B }) => `
var<private> kd_inf_bits: u32 = 0x7f800000u;
var<private> kd_nan_bits: u32 = 0x7fc00000u;
fn kd_inf() -> ${T} { return ${T}(bitcast<f32>(kd_inf_bits)); }
fn kd_nan() -> ${T} { return ${T}(bitcast<f32>(kd_nan_bits)); }
// NaN and ∞ tests on the bits: WGSL lets compilers assume float comparisons never see them
fn kd_isnan(x: ${T}) -> ${B} { return (bitcast<${U}>(x) & ${U}(0x7fffffffu)) > ${U}(0x7f800000u); }
fn kd_isinf(x: ${T}) -> ${B} { return (bitcast<${U}>(x) & ${U}(0x7fffffffu)) == ${U}(0x7f800000u); }`,
  },
  df: {
    deps: [],
    text: ({ T, U }) => `
struct kd_df { hi: ${T}, lo: ${T}, }
// the 12 high bits of the significand (the rest, a − kd_hi12(a), is exact and fits 12 bits)
fn kd_hi12(a: ${T}) -> ${T} { return bitcast<${T}>(bitcast<${U}>(a) & ${U}(0xfffff000u)); }
// a + b = s + e exactly (Knuth)
fn kd_two_sum(a: ${T}, b: ${T}) -> kd_df {
  let s = a + b;
  let bb = s - a;
  return kd_df(s, (a - (s - bb)) + (b - bb));
}
// a · b = p + e (Dekker, with a bit-mask split: every partial product is exact)
fn kd_two_prod(a: ${T}, b: ${T}) -> kd_df {
  let p = a * b;
  let ah = kd_hi12(a);
  let al = a - ah;
  let bh = kd_hi12(b);
  let bl = b - bh;
  return kd_df(p, ((ah * bh - p) + ah * bl + al * bh) + al * bl);
}`,
  },
  exp: {
    deps: ['consts'],
    text: ({ T, I }) => `
// exp(hi + lo) for |lo| ≤ ulp(hi)
fn kd_exp_df(hi: ${T}, lo: ${T}) -> ${T} {
  let x = clamp(hi, ${T}(-110.0), ${T}(100.0));
  let n = round(x * 1.44269504088896341);
  // x − n·C1 is exact (C1 has 9 bits); C1 + C2 = ln 2
  let r = ((x - n * 0.693359375) - n * -2.12194440e-4) + lo;
  let z = r * r;
  let p = (((((1.9875691500e-4 * r + 1.3981999507e-3) * r + 8.3334519073e-3) * r + 4.1665795894e-2) * r
    + 1.6666665459e-1) * r + 5.0000001201e-1) * z + r + 1.0;
  let k = ${I}(n);
  let h = k / ${I}(2);
  var y = ldexp(ldexp(p, h), k - h);
  y = select(y, kd_inf(), hi > ${T}(88.72283935546875));
  y = select(y, ${T}(0.0), hi < ${T}(-103.972084045410));
  return select(y, hi + lo, kd_isnan(hi));
}
fn kd_exp(x: ${T}) -> ${T} { return kd_exp_df(x, ${T}(0.0)); }`,
  },
  log: {
    deps: ['consts', 'df'],
    text: ({ T, U, I }) => `
// log(x) = hi + lo for finite x > 0 (denormals included)
fn kd_log_df(x: ${T}) -> kd_df {
  var bits = bitcast<${U}>(x);
  // a denormal m·2^-149 is read through its integer significand m (exact as a float)
  let den = (bits & ${U}(0x7f800000u)) == ${U}(0u);
  bits = select(bits, bitcast<${U}>(${T}(bits & ${U}(0x007fffffu))), den);
  var e = ${T}(${I}((bits >> ${U}(23u)) & ${U}(0xffu)) - ${I}(126)) - select(${T}(0.0), ${T}(149.0), den);
  var m = bitcast<${T}>((bits & ${U}(0x007fffffu)) | ${U}(0x3f000000u));
  // m in [sqrt(1/2), sqrt(2)), f = m − 1 exactly
  let low = m < ${T}(0.707106781186547524);
  m = select(m, m + m, low);
  e = select(e, e - 1.0, low);
  let f = m - 1.0;
  // log(1 + f) = f − f²/2 + f³·P(f)
  let q = kd_two_prod(f, f);
  let pf = ((((((((7.0376836292e-2 * f - 1.1514610310e-1) * f + 1.1676998740e-1) * f - 1.2420140846e-1) * f
    + 1.4249322787e-1) * f - 1.6668057665e-1) * f + 2.0000714765e-1) * f - 2.4999993993e-1) * f
    + 3.3333331174e-1);
  let t = f * q.hi * pf;
  let s = kd_two_sum(f, -0.5 * q.hi);
  let lo = (s.lo - 0.5 * q.lo) + t;
  // + e·ln 2 = e·C1 (exact) + e·C2
  let s2 = kd_two_sum(e * 0.693359375, s.hi);
  let lo2 = s2.lo + (lo + e * -2.12194440e-4);
  let hi = s2.hi + lo2;
  return kd_df(hi, lo2 - (hi - s2.hi));
}
fn kd_log(x: ${T}) -> ${T} {
  let bits = bitcast<${U}>(x);
  let zero = (bits & ${U}(0x7fffffffu)) == ${U}(0u);
  let negative = (bits & ${U}(0x80000000u)) != ${U}(0u);
  var r = kd_log_df(x).hi;
  r = select(r, -kd_inf(), zero);
  r = select(r, x, kd_isinf(x));
  return select(r, kd_nan(), (negative & !zero) | kd_isnan(x));
}`,
  },
  pow: {
    deps: ['consts', 'df', 'exp', 'log'],
    text: ({ T, U }) => `
// C's pow: 0^0 = 1^y = x^0 = 1; a negative base needs an integral exponent and keeps its sign
// for odd ones; squares, square roots and first powers are exact.
fn kd_pow(a: ${T}, b: ${T}) -> ${T} {
  let ax = abs(a);
  let l = kd_log_df(ax);
  let w = kd_two_prod(b, l.hi);
  var m = kd_exp_df(w.hi, w.lo + b * l.lo);
  // |a| = 0 or ∞, or b = ±∞: the limits
  let big = (ax > ${T}(1.0)) == (b > ${T}(0.0));
  let edge = (ax == ${T}(0.0)) | kd_isinf(a) | kd_isinf(b);
  m = select(m, select(${T}(0.0), kd_inf(), big), edge & (ax != ${T}(1.0)));
  m = select(m, ${T}(1.0), (ax == ${T}(1.0)) & !kd_isnan(b));
  let integral = round(b) == b;
  let odd = integral & (abs(b - 2.0 * floor(b * 0.5)) == ${T}(1.0));
  let negative = (bitcast<${U}>(a) & ${U}(0x80000000u)) != ${U}(0u);
  var r = select(m, -m, odd & negative);
  r = select(r, kd_nan(), ((a < ${T}(0.0)) & !integral) | kd_isnan(a) | kd_isnan(b));
  r = select(r, a * a, b == ${T}(2.0));
  r = select(r, a, b == ${T}(1.0));
  r = select(r, sqrt(a), (b == ${T}(0.5)) & (a >= ${T}(0.0)));
  r = select(r, ${T}(1.0), (b == ${T}(0.0)) | (a == ${T}(1.0)));
  return r;
}`,
  },
  sigmoid: {
    deps: ['exp'],
    text: ({ T }) => `
fn kd_sigmoid(x: ${T}) -> ${T} {
  let e = kd_exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= ${T}(0.0));
}`,
  },
  // tanh from exp(-2|x|) never overflows; below 0.125 a Taylor polynomial avoids cancellation.
  tanh: {
    deps: ['exp'],
    text: ({ T }) => `
fn kd_tanh(x: ${T}) -> ${T} {
  let ax = abs(x);
  let e = kd_exp(-2.0 * ax);
  let big = (1.0 - e) / (1.0 + e);
  let x2 = ax * ax;
  let small = ax * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))));
  return sign(x) * select(big, small, ax < ${T}(0.125));
}`,
  },
};

/** Helper text for the named functions of the math library and everything they use, once each. */
export function mathHelpers(...names: string[]): (T: string) => string {
  return (T: string) => {
    const t = wgslTypes(T);
    const done = new Set<string>();
    const out: string[] = [];
    const add = (n: string) => {
      if (done.has(n)) return;
      done.add(n);
      for (const d of MATH[n].deps) add(d);
      out.push(MATH[n].text(t));
    };
    names.forEach(add);
    return out.join('\n');
  };
}

/** The math-library functions (kd_NAME) an expression calls, in order of first use. */
export function mathUsed(expr: string): string[] {
  const names = [...expr.matchAll(/kd_(\w+)\(/g)].map((m) => m[1]).filter((n) => n in MATH);
  return [...new Set(names)];
}
