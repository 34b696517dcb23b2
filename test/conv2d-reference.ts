/**
 * Float64 CPU reference of a dense 2-D convolution and its gradients, written directly from the
 * definition (a loop over every product): what the conv kernel tests compare with.
 */
import type * as kd from '../src/index.js';

/** A convolution's geometry in the reference's short names. */
export interface Geo {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
}

/** The reference geometry of a planned convolution. */
export function geo(p: kd.Conv2dPlan): Geo {
  return {
    N: p.N,
    C: p.C,
    H: p.H,
    W: p.W,
    O: p.O,
    KH: p.KH,
    KW: p.KW,
    OH: p.OH,
    OW: p.OW,
    sh: p.strideH,
    sw: p.strideW,
    dh: p.dilationH,
    dw: p.dilationW,
    pt: p.padTop,
    pl: p.padLeft,
  };
}

/** Calls f(yIndex, xIndex, wIndex) for every product of the convolution. */
function forEachProduct(g: Geo, f: (yi: number, xi: number, wi: number, o: number) => void): void {
  for (let n = 0; n < g.N; n++)
    for (let o = 0; o < g.O; o++)
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          const yi = ((n * g.O + o) * g.OH + oh) * g.OW + ow;
          for (let c = 0; c < g.C; c++)
            for (let kh = 0; kh < g.KH; kh++)
              for (let kw = 0; kw < g.KW; kw++) {
                const ih = oh * g.sh + kh * g.dh - g.pt;
                const iw = ow * g.sw + kw * g.dw - g.pl;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                f(yi, ((n * g.C + c) * g.H + ih) * g.W + iw, ((o * g.C + c) * g.KH + kh) * g.KW + kw, o);
              }
        }
}

/** y = conv(x, w) + b in float64. */
export function cpuConv(g: Geo, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(g.N * g.O * g.OH * g.OW);
  for (let i = 0; i < y.length; i++) y[i] = b[Math.floor(i / (g.OH * g.OW)) % g.O];
  forEachProduct(g, (yi, xi, wi) => (y[yi] += x[xi] * w[wi]));
  return y;
}

/** dx, dw and db in float64 for upstream gradient dy. */
export function cpuGrads(g: Geo, x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>) {
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(g.O);
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / (g.OH * g.OW)) % g.O] += dy[i];
  forEachProduct(g, (yi, xi, wi) => {
    dx[xi] += dy[yi] * w[wi];
    dw[wi] += dy[yi] * x[xi];
  });
  return { dx, dw, db };
}
