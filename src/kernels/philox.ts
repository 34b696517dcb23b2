/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) in WGSL:
 * a stateless counter-based generator, so a kernel draws the same numbers for the same (counter,
 * key) on any device and no RNG state lives on the GPU. Shared by dropout and augmentation, which
 * keep their streams apart through the counter's second word.
 */
export const PHILOX_WGSL = `
// (high, low) words of the 64-bit product a·b
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xffffu; let ah = a >> 16u;
  let bl = b & 0xffffu; let bh = b >> 16u;
  let p0 = al * bl; let p1 = al * bh; let p2 = ah * bl; let p3 = ah * bh;
  let mid = (p0 >> 16u) + (p1 & 0xffffu) + (p2 & 0xffffu);
  return vec2<u32>(p3 + (p1 >> 16u) + (p2 >> 16u) + (mid >> 16u), a * b);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let a = mulhilo(0xD2511F53u, c.x);
    let b = mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(b.x ^ c.y ^ k.x, b.y, a.x ^ c.w ^ k.y, a.y);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}`;
