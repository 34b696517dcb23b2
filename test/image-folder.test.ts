/**
 * The image-folder dataset (CSV + PNG/JPEG files) and GPU augmentation.
 *
 * The tests write their own images into a temp folder with pngjs and jpeg-js: a small grayscale
 * set with a learnable pattern (class "malignant" has a bright square in the top-left corner),
 * RGB/RGBA/16-bit images, and bad files (a truncated PNG, a missing file, an RGB image in a
 * grayscale set, a text file, an unknown partition, an empty label). Decoded pixels are checked
 * against the generated ones (exactly for PNG, closely for JPEG), resizing against a float64
 * bilinear reference written here, and augmentation against a float64 CPU implementation of
 * the documented transform, for known and for GPU-drawn parameters.
 */
import { expect } from 'chai';
import { Command } from 'commander';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import * as kd from '../src/index.js';
import { augment, augmentParams, augmentWith, type AugmentParams } from '../src/autograd/ops-augment.js';
import { buildImageFolder, decodeImage, imageFormat, resizeBilinear, type ImageFolderOptions } from '../src/data/image-folder.js';
import { decodePngWithPngjs, loadImageFolder } from '../src/data/node-image-folder.js';
import { resolveDataset, type ImageDataOptions } from '../src/cli/datasets.js';
import { imageFolderOptions } from '../src/cli/options.js';
import { assertClose, expectThrow, philox, setup } from './helpers.js';

const { nn } = kd;

// ---- image writers ---------------------------------------------------------------------------

function grayPng(w: number, h: number, px: ArrayLike<number>): Buffer {
  const opts = { width: w, height: h, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 } as const;
  const png = new PNG(opts);
  png.data = Buffer.from(Array.from(px));
  return PNG.sync.write(png, opts);
}

function gray16Png(w: number, h: number, px: Uint16Array): Buffer {
  const opts = { width: w, height: h, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 16 } as const;
  const png = new PNG(opts);
  (png as unknown as { data: Uint16Array }).data = px;
  return PNG.sync.write(png, opts);
}

/** RGB (colorType 2) or, with alpha, RGBA (colorType 6) from 3 samples per pixel. */
function colorPng(w: number, h: number, rgb: ArrayLike<number>, alpha?: ArrayLike<number>): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) png.data[4 * i + c] = rgb[3 * i + c];
    png.data[4 * i + 3] = alpha ? alpha[i] : 255;
  }
  return PNG.sync.write(png, { colorType: alpha ? 6 : 2 });
}

function rgbJpeg(w: number, h: number, rgb: ArrayLike<number>): Uint8Array {
  const rgba = new Uint8Array(4 * w * h);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = rgb[3 * i + c];
    rgba[4 * i + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 100).data);
}

/** Seeded integer pixels in [lo, hi]. */
function pixels(n: number, seed: number, lo: number, hi: number): Uint8Array {
  const r = new kd.Random(seed);
  return Uint8Array.from({ length: n }, () => lo + Math.floor(r.next() * (hi - lo + 1)));
}

/** Smooth RGB content (JPEG reproduces it closely). */
function smoothRgb(w: number, h: number, k: number): Uint8Array {
  const out = new Uint8Array(3 * w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 3 * (y * w + x);
      out[i] = Math.round((255 * x) / (w - 1));
      out[i + 1] = Math.round((255 * y) / (h - 1));
      out[i + 2] = 40 + 20 * k;
    }
  }
  return out;
}

/** Planar [C, H, W] values in [0, 1] (float32) from interleaved samples. */
function planes(samples: ArrayLike<number>, C: number, n: number, max = 255): Float32Array {
  const out = new Float32Array(C * n);
  for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) out[c * n + i] = samples[C * i + c] / max;
  return out;
}

// ---- float64 references ----------------------------------------------------------------------

/** Bilinear resize (half-pixel centres, edge clamp) sampling each output pixel independently. */
function resizeRef(src: ArrayLike<number>, P: number, H: number, W: number, OH: number, OW: number): Float64Array {
  const out = new Float64Array(P * OH * OW);
  const at = (p: number, y: number, x: number) => src[(p * H + Math.min(Math.max(y, 0), H - 1)) * W + Math.min(Math.max(x, 0), W - 1)];
  for (let p = 0; p < P; p++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const sy = Math.max(((oy + 0.5) * H) / OH - 0.5, 0);
        const sx = Math.max(((ox + 0.5) * W) / OW - 0.5, 0);
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const ty = sy - y0;
        const tx = sx - x0;
        out[(p * OH + oy) * OW + ox] =
          at(p, y0, x0) * (1 - ty) * (1 - tx) + at(p, y0, x0 + 1) * (1 - ty) * tx + at(p, y0 + 1, x0) * ty * (1 - tx) + at(p, y0 + 1, x0 + 1) * ty * tx;
      }
    }
  }
  return out;
}

interface Geometry {
  N: number;
  C: number;
  H: number;
  W: number;
}

/**
 * The documented augmentation in float64: out − c = zoom · Rot · Flip · (src − c), Rot turning
 * counter-clockwise as displayed (y down); each output pixel centre is mapped back through the
 * inverse matrix and sampled bilinearly (outside: black, or the nearest border pixel with edge).
 * `angles` are the float32 radians the GPU sees.
 */
function augmentRef(x: ArrayLike<number>, g: Geometry, ps: { flip: boolean; angle: number; brightness: number; zoom: number }[], edge: boolean, black: number[]): Float64Array {
  const { N, C, H, W } = g;
  const out = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    const { flip, angle, brightness: b, zoom } = ps[n];
    const f = flip ? -1 : 1;
    // A = zoom · [[cos, sin], [−sin, cos]] · diag(f, 1)
    const a = zoom * Math.cos(angle) * f;
    const bb = zoom * Math.sin(angle);
    const c = -zoom * Math.sin(angle) * f;
    const d = zoom * Math.cos(angle);
    const det = a * d - bb * c;
    const inv = [d / det, -bb / det, -c / det, a / det];
    for (let ch = 0; ch < C; ch++) {
      const base = (n * C + ch) * H * W;
      const tap = (xi: number, yi: number) => {
        if (edge) return x[base + Math.min(Math.max(yi, 0), H - 1) * W + Math.min(Math.max(xi, 0), W - 1)];
        return xi < 0 || yi < 0 || xi >= W || yi >= H ? black[ch] : x[base + yi * W + xi];
      };
      for (let oy = 0; oy < H; oy++) {
        for (let ox = 0; ox < W; ox++) {
          const dx = ox + 0.5 - W / 2;
          const dy = oy + 0.5 - H / 2;
          const sx = inv[0] * dx + inv[1] * dy + W / 2 - 0.5;
          const sy = inv[2] * dx + inv[3] * dy + H / 2 - 0.5;
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const tx = sx - x0;
          const ty = sy - y0;
          const v = tap(x0, y0) * (1 - tx) * (1 - ty) + tap(x0 + 1, y0) * tx * (1 - ty) + tap(x0, y0 + 1) * (1 - tx) * ty + tap(x0 + 1, y0 + 1) * tx * ty;
          out[base + oy * W + ox] = b * v + (1 - b) * black[ch];
        }
      }
    }
  }
  return out;
}


// ---- the folder --------------------------------------------------------------------------------

const GW = 9; // gray set: 9 wide, 7 high
const GH = 7;
const GRAY_COUNT = 24;

interface GraySample {
  file: string;
  px: Uint8Array;
  label: 'benign' | 'malignant';
  partition: string;
}

function graySamples(): GraySample[] {
  return Array.from({ length: GRAY_COUNT }, (_, i) => {
    const px = pixels(GW * GH, 100 + i, 0, 80);
    const malignant = i % 2 === 1;
    if (malignant) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) px[y * GW + x] = 240 + ((x + y + i) % 16);
    const partition = i < 14 ? 'train' : i < 19 ? 'val' : 'Test'; // names matched case-insensitively
    // one PNG carries a .jpg name: formats are recognised by content
    return { file: i === 5 ? `img${i}.jpg` : `img${i}.png`, px, label: malignant ? 'malignant' : 'benign', partition };
  });
}

describe('image folder', function () {
  this.timeout(600_000);
  let dir: string;
  let gray: GraySample[];
  const rgbW = 6;
  const rgbH = 5;
  const rgbPngPx = pixels(3 * rgbW * rgbH, 7, 0, 255);
  const rgbaPx = pixels(3 * rgbW * rgbH, 8, 0, 255);
  const alpha = pixels(rgbW * rgbH, 9, 0, 255);
  const deep = Uint16Array.from(pixels(2 * rgbW * rgbH, 10, 0, 255).subarray(0, rgbW * rgbH), (v, i) => v * 255 + (i % 200));
  const grayInRgb = pixels(rgbW * rgbH, 11, 0, 255);
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kdgpu-image-folder-'));
    gray = graySamples();
    const lines = ['filename,label,split'];
    for (const s of gray) {
      writeFileSync(join(dir, s.file), grayPng(GW, GH, s.px));
      lines.push(`${s.file},${s.label},${s.partition}`);
    }
    // bad rows (lines 26 … 31)
    const good = grayPng(GW, GH, pixels(GW * GH, 1, 0, 255));
    writeFileSync(join(dir, 'corrupt.png'), good.subarray(0, good.length - 30));
    writeFileSync(join(dir, 'color.png'), colorPng(GW, GH, pixels(3 * GW * GH, 2, 0, 255)));
    writeFileSync(join(dir, 'notes.png'), 'not an image\n');
    writeFileSync(join(dir, 'holdout.png'), good);
    writeFileSync(join(dir, 'nolabel.png'), good);
    lines.push('corrupt.png,benign,train', 'missing.png,malignant,train', 'color.png,benign,train', 'notes.png,benign,test', 'holdout.png,benign,holdout', 'nolabel.png,,train');
    writeFileSync(join(dir, 'gray.csv'), `${lines.join('\n')}\n`);

    // color set: RGB JPEGs, an RGB PNG, an RGBA PNG, and a grayscale PNG; integer labels
    const color = ['path,label,partition'];
    for (let k = 0; k < 3; k++) {
      writeFileSync(join(dir, `photo${k}.jpg`), rgbJpeg(rgbW, rgbH, smoothRgb(rgbW, rgbH, k)));
      color.push(`photo${k}.jpg,${k === 1 ? 2 : 0},train`);
    }
    writeFileSync(join(dir, 'rgb.png'), colorPng(rgbW, rgbH, rgbPngPx));
    writeFileSync(join(dir, 'rgba.png'), colorPng(rgbW, rgbH, rgbaPx, alpha));
    writeFileSync(join(dir, 'grayish.png'), grayPng(rgbW, rgbH, grayInRgb));
    color.push('rgb.png,1,test', 'rgba.png,0,test', 'grayish.png,2,validation');
    writeFileSync(join(dir, 'color.csv'), `${color.join('\n')}\n`);

    writeFileSync(join(dir, 'deep.png'), gray16Png(rgbW, rgbH, deep));
    writeFileSync(join(dir, 'deep.csv'), 'file,label\ndeep.png,a\nrgb.png,b\n');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const grayOpts = (extra: Partial<ImageFolderOptions> = {}) => ({ size: [GH, GW] as [number, number], channels: 1 as const, onWarning: warn, ...extra });

  it('decodes grayscale PNGs exactly, maps class names in sorted order and splits partitions', () => {
    warnings.length = 0;
    const f = loadImageFolder(join(dir, 'gray.csv'), grayOpts());
    expect(f.classNames).to.deep.equal(['benign', 'malignant']);
    expect(f.columns).to.deep.equal({ file: 'filename', label: 'label', partition: 'split' });
    const expectPart = (d: kd.ArrayDataset, from: number, to: number) => {
      const samples = gray.slice(from, to);
      expect(d.count).to.equal(samples.length);
      expect(d.sampleShape).to.deep.equal([1, GH, GW]);
      expect(d.classes).to.equal(2);
      expect(Array.from(d.y)).to.deep.equal(samples.map((s) => (s.label === 'malignant' ? 1 : 0)));
      const want = new Float32Array(samples.length * GH * GW);
      samples.forEach((s, i) => want.set(planes(s.px, 1, GH * GW), i * GH * GW));
      expect(Array.from(d.x)).to.deep.equal(Array.from(want)); // exact: v / 255 in float32
    };
    expectPart(f.train, 0, 14);
    expectPart(f.validation, 14, 19);
    expectPart(f.test, 19, 24);
  });

  it('skips bad rows, listing file, CSV line and reason, with one warning line', () => {
    warnings.length = 0;
    const f = loadImageFolder(join(dir, 'gray.csv'), grayOpts());
    expect(f.skippedCount).to.equal(6);
    expect(f.skipped.map((s) => [s.file, s.line, s.kind])).to.deep.equal([
      ['corrupt.png', 26, 'corrupt'],
      ['missing.png', 27, 'missing'],
      ['color.png', 28, 'channels'],
      ['notes.png', 29, 'format'],
      ['holdout.png', 30, 'partition'],
      ['nolabel.png', 31, 'label'],
    ]);
    const reason = (file: string) => f.skipped.find((s) => s.file === file)!.reason;
    expect(reason('corrupt.png')).to.contain('PNG');
    expect(reason('missing.png')).to.contain('not found');
    expect(reason('color.png')).to.contain('3 channels (color), expected 1 channel (grayscale)');
    expect(reason('notes.png')).to.contain('not a PNG or JPEG');
    expect(reason('holdout.png')).to.contain("unknown partition 'holdout'");
    expect(reason('nolabel.png')).to.contain('empty label');
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.not.contain('\n');
    expect(warnings[0]).to.contain('skipped 6 of 30 rows').and.contain('gray.csv').and.contain('corrupt.png');
    // nothing was skipped from the good rows
    expect(f.train.count + f.validation.count + f.test.count).to.equal(GRAY_COUNT);
  });

  it('refuses from the PNG header, before decoding: wrong channels, too many pixels, an impossible bit depth', () => {
    // Headers only: the decoder must never be reached for these rows.
    const header = (w: number, h: number, depth: number, colorType: number) => {
      const b = new Uint8Array(64);
      b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const v = new DataView(b.buffer);
      v.setUint32(8, 13);
      b.set([0x49, 0x48, 0x44, 0x52], 12); // IHDR
      v.setUint32(16, w);
      v.setUint32(20, h);
      b[24] = depth;
      b[25] = colorType;
      return b;
    };
    const files: Record<string, Uint8Array> = {
      'rgb16.png': header(2000, 2000, 16, 2), // 16-bit RGB in a grayscale set
      'huge.png': header(5000, 5000, 8, 0),
      'depth.png': header(4, 4, 16, 3), // palettes have at most 8 bits
      'zero.png': header(0, 7, 8, 0),
    };
    let decoded = 0;
    const decodePng = (b: Uint8Array) => {
      decoded++;
      return decodePngWithPngjs(b);
    };
    const csv = `file,label\n${Object.keys(files).map((f) => `${f},a`).join('\n')}\n`;
    const f = buildImageFolder(csv, 'h.csv', (name) => files[name], { ...grayOpts(), decodePng, onWarning: () => {} });
    expect(decoded).to.equal(0);
    expect(f.skipped.map((s) => [s.file, s.kind])).to.deep.equal([['rgb16.png', 'channels'], ['huge.png', 'format'], ['depth.png', 'format'], ['zero.png', 'format']]);
    expect(f.skipped[1].reason).to.contain('5000×5000 pixels is larger than the 16777216 allowed');
    expect(f.skipped[2].reason).to.contain('colour type 3 and bit depth 16');
  });

  it('bounds the class count before allocating: a huge integer label, too many distinct labels', () => {
    const none = () => undefined;
    expectThrow(() => buildImageFolder('file,label\na.png,3\nb.png,5000000\n', 'big.csv', none, grayOpts()), 'kdgpu: image folder: the integer label 5000000 implies 5,000,001 classes, more than the 100,000 kdgpu accepts');
    const many = `file,label\n${Array.from({ length: 150_001 }, (_, i) => `f${i}.png,c${i}`).join('\n')}\n`;
    expectThrow(() => buildImageFolder(many, 'many.csv', none, grayOpts()), 'the labels name 150,001 classes, more than the 100,000');
  });

  it('strict: the first bad row throws, naming the file and the CSV line', () => {
    expectThrow(() => loadImageFolder(join(dir, 'gray.csv'), grayOpts({ strict: true })), 'gray.csv line 26', 'corrupt.png', 'PNG');
    const csv = 'file,label,partition\nimg0.png,benign,train\nmissing.png,benign,train\n';
    const read = (f: string) => (f === 'img0.png' ? new Uint8Array(grayPng(GW, GH, gray[0].px)) : undefined);
    expectThrow(() => buildImageFolder(csv, 'ann.csv', read, { ...grayOpts({ strict: true }), decodePng: decodePngWithPngjs }), 'kdgpu: image folder: ann.csv line 3: missing.png: file not found');
  });

  it('decodes RGB JPEGs closely, RGB/RGBA PNGs exactly (alpha dropped), with integer labels', () => {
    warnings.length = 0;
    const f = loadImageFolder(join(dir, 'color.csv'), { size: [rgbH, rgbW], channels: 3, onWarning: warn });
    expect(f.classNames).to.deep.equal(['0', '1', '2']);
    expect(Array.from(f.train.y)).to.deep.equal([0, 2, 0]);
    const n = rgbW * rgbH;
    for (let k = 0; k < 3; k++) {
      const want = planes(smoothRgb(rgbW, rgbH, k), 3, n);
      const got = f.train.x.subarray(k * 3 * n, (k + 1) * 3 * n);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      expect(worst, `JPEG ${k}: largest error`).to.be.at.most(3 / 255);
    }
    expect(Array.from(f.test.y)).to.deep.equal([1, 0]);
    expect(Array.from(f.test.x.subarray(0, 3 * n))).to.deep.equal(Array.from(planes(rgbPngPx, 3, n)));
    expect(Array.from(f.test.x.subarray(3 * n))).to.deep.equal(Array.from(planes(rgbaPx, 3, n)));
    // the grayscale PNG in an RGB set is skipped …
    expect(f.validation.count).to.equal(0);
    expect(f.skipped.map((s) => s.kind)).to.deep.equal(['channels']);
    expect(f.skipped[0].reason).to.contain('1 channel (grayscale), expected 3 channels (color)');
    // … unless conversion is asked for: the plane is repeated
    const c = loadImageFolder(join(dir, 'color.csv'), { size: [rgbH, rgbW], channels: 3, convert: true, onWarning: warn });
    expect(c.skippedCount).to.equal(0);
    const g = planes(grayInRgb, 1, n);
    expect(Array.from(c.validation.x)).to.deep.equal([...g, ...g, ...g]);
  });

  it('converts RGB to grayscale with the ITU-R 601 luma when asked, and reads 16-bit PNGs at full precision', () => {
    const f = loadImageFolder(join(dir, 'deep.csv'), { size: [rgbH, rgbW], channels: 1, convert: true, onWarning: warn });
    expect(f.columns.partition).to.equal(null); // no partition column: all train
    expect(f.classNames).to.deep.equal(['a', 'b']);
    const n = rgbW * rgbH;
    expect(Array.from(f.train.x.subarray(0, n))).to.deep.equal(Array.from(deep, (v) => Math.fround(v / 65535)));
    const luma = Array.from({ length: n }, (_, i) => (0.299 * rgbPngPx[3 * i] + 0.587 * rgbPngPx[3 * i + 1] + 0.114 * rgbPngPx[3 * i + 2]) / 255);
    assertClose(f.train.x.subarray(n), luma, { atol: 1e-7 }, 'luma');
  });

  it('resizes bilinearly like the float64 reference (up, down, non-uniform; per channel)', () => {
    const src = Float32Array.from(pixels(3 * GH * GW, 3, 0, 255), (v) => v / 255);
    for (const [oh, ow] of [
      [11, 13],
      [4, 5],
      [7, 3],
      [1, 1],
      [2, 17],
    ]) {
      assertClose(resizeBilinear(src, 3, GH, GW, oh, ow), resizeRef(src, 3, GH, GW, oh, ow), { atol: 1e-6 }, `${GH}×${GW} → ${oh}×${ow}`);
    }
    // through the loader, with normalization after the resize
    const f = loadImageFolder(join(dir, 'gray.csv'), grayOpts({ size: [4, 12], normalize: { mean: [0.25], std: [0.5] } }));
    const ref = resizeRef(planes(gray[0].px, 1, GH * GW), 1, GH, GW, 4, 12).map((v) => (v - 0.25) / 0.5);
    assertClose(f.train.x.subarray(0, 48), ref, { atol: 1e-6 }, 'loader resize');
    expect(f.train.sampleShape).to.deep.equal([1, 4, 12]);
  });

  it('recognises formats by magic bytes; bad options and a bad CSV are clear errors', () => {
    const png = new Uint8Array(grayPng(GW, GH, gray[0].px));
    expect(imageFormat(png)).to.equal('png');
    expect(imageFormat(rgbJpeg(2, 2, new Uint8Array(12)))).to.equal('jpeg');
    expect(imageFormat(new Uint8Array([1, 2, 3]))).to.equal(null);
    expect(decodeImage(png, 'x.jpg', decodePngWithPngjs).format).to.equal('png');
    expectThrow(() => decodeImage(new Uint8Array([0x47, 0x49, 0x46, 0x38]), 'a.gif'), 'kdgpu: a.gif: not a PNG or JPEG image (starts with 47 49 46 38)');
    expectThrow(() => decodeImage(png.subarray(0, 40), 'cut.png', decodePngWithPngjs), 'kdgpu: cut.png: corrupt or truncated PNG');
    const jpg = rgbJpeg(rgbW, rgbH, smoothRgb(rgbW, rgbH, 0));
    expectThrow(() => decodeImage(jpg.subarray(0, jpg.length - 40), 'cut.jpg'), 'kdgpu: cut.jpg: corrupt JPEG');
    expectThrow(() => decodeImage(png, 'p.png'), 'needs a PNG decoder');
    const read = () => undefined;
    expectThrow(() => buildImageFolder('image,label\na.png,x\n', 'a.csv', read, grayOpts()), "a.csv has no file column (looked for file, filename, path; columns: image, label)");
    expectThrow(() => buildImageFolder('file,label\n', 'a.csv', read, grayOpts({ columns: { label: 'diagnosis' } })), "a.csv has no label column 'diagnosis'");
    expectThrow(() => buildImageFolder('file,label\n"a.png,x\n', 'q.csv', read, grayOpts()), 'q.csv is not a valid CSV file', 'Quote Not Closed');
    expectThrow(() => buildImageFolder('', 'e.csv', read, grayOpts()), 'e.csv is empty');
    expectThrow(() => buildImageFolder('file,label\n', 'a.csv', read, grayOpts({ size: 0 })), 'size must be a positive integer');
    expectThrow(() => buildImageFolder('file,label\n', 'a.csv', read, grayOpts({ normalize: { mean: [0, 0], std: [1, 1] } })), 'normalize has 2 means');
    expectThrow(() => loadImageFolder(join(dir, 'nope.csv'), grayOpts()), 'nope.csv does not exist');
  });

  it('custom columns, partition names and class names', () => {
    const csv = 'image_path,diagnosis,fold\nimg0.png,benign,A\nimg1.png,malignant,B\nimg2.png,benign,C\nimg3.png,other,A\n';
    const read = (f: string) => new Uint8Array(grayPng(GW, GH, gray[Number(f.slice(3, -4))].px));
    warnings.length = 0;
    const f = buildImageFolder(csv, 'custom.csv', read, {
      ...grayOpts(),
      decodePng: decodePngWithPngjs,
      columns: { file: 'image_path', label: 'diagnosis', partition: 'fold' },
      partitionNames: { a: 'train', b: 'validation', c: 'test' },
      classNames: ['malignant', 'benign'],
    });
    expect([f.train.count, f.validation.count, f.test.count]).to.deep.equal([1, 1, 1]);
    expect([f.train.y[0], f.validation.y[0], f.test.y[0]]).to.deep.equal([1, 0, 1]);
    expect(f.skipped.map((s) => [s.file, s.kind])).to.deep.equal([['img3.png', 'label']]);
    expect(f.skipped[0].reason).to.contain("label 'other' is not one of the class names malignant, benign");
  });

  it('CLI: --dataset images:<csv> with --image-size, --channels, --strict', () => {
    const cmd = new Command('t').exitOverride().configureOutput({ writeErr: () => {} });
    for (const o of imageFolderOptions()) cmd.addOption(o);
    cmd.parse(['--image-size', '4x6', '--channels', '1'], { from: 'user' });
    const o = cmd.opts<ImageDataOptions>();
    expect(o.imageSize).to.deep.equal([4, 6]);
    expect(() => new Command('t').exitOverride().configureOutput({ writeErr: () => {} }).addOption(imageFolderOptions()[0]).parse(['--image-size', '4x'], { from: 'user' })).to.throw('Expected a positive integer n (n×n) or HxW');
    const csv = join(dir, 'gray.csv');
    const logged: string[] = [];
    const saved = console.warn;
    console.warn = (m: string) => logged.push(m);
    let src;
    try {
      src = resolveDataset(`images:${csv}`, o);
    } finally {
      console.warn = saved;
    }
    expect(logged).to.have.length(1);
    expect(src.name).to.equal(csv);
    expect(src.classNames).to.deep.equal(['benign', 'malignant']);
    expect(src.load('train').sampleShape).to.deep.equal([1, 4, 6]);
    expect(src.load('test').count).to.equal(5);
    expect(src.validation!().count).to.equal(5);
    expectThrow(() => resolveDataset(`images:${csv}`, { ...o, strict: true }), 'gray.csv line 26: corrupt.png');
    expectThrow(() => resolveDataset(`images:${csv}`, {}), 'needs --image-size and --channels');
    expectThrow(() => resolveDataset('images:'), 'needs the annotations CSV');
    expectThrow(() => resolveDataset(`images:${join(dir, 'none.csv')}`, o), 'none.csv', 'does not exist');
    const deep = resolveDataset(`images:${join(dir, 'deep.csv')}`, { imageSize: [2, 2], channels: '1', convertChannels: true });
    expectThrow(() => deep.load('test'), "has no usable images in the 'test' partition");
  });

  describe('augmentation on the GPU', () => {
    before(setup);

    const g: Geometry = { N: 3, C: 2, H: 7, W: 10 };
    const xs = Float32Array.from({ length: g.N * g.C * g.H * g.W }, (_, i) => ((i * 37) % 101) / 100);
    const known: AugmentParams[] = [
      { flip: true, degrees: 12, brightness: 1.25, zoom: 0.8 },
      { flip: false, degrees: -7.5, brightness: 0.7, zoom: 1.2 },
      { flip: true, degrees: 0, brightness: 1, zoom: 1 },
    ];
    const asRef = (ps: AugmentParams[]) => ps.map((p) => ({ ...p, angle: Math.fround((p.degrees * Math.PI) / 180), zoom: Math.fround(p.zoom), brightness: Math.fround(p.brightness) }));

    for (const fill of ['zero', 'edge'] as const) {
      it(`known parameters, ${fill} fill: matches the float64 reference (also with normalized data)`, async () => {
        const x = kd.tensor(xs, [g.N, g.C, g.H, g.W]);
        const plain = await augmentWith(x, known, { fill }).data();
        assertClose(plain, augmentRef(xs, g, asRef(known), fill === 'edge', [0, 0]), { atol: 2e-6 }, `${fill} fill`);
        const normalization = { mean: [0.4, 0.6], std: [0.2, 0.3] };
        const normed = await augmentWith(x, known, { fill, normalization }).data();
        assertClose(normed, augmentRef(xs, g, asRef(known), fill === 'edge', [-2, -2]), { atol: 2e-6 }, `${fill} fill, normalized`);
        x.dispose();
      });
    }

    it('large angles (±90°, 180°, −135°, 300°) match the reference too', async () => {
      const geo: Geometry = { N: 5, C: 1, H: 6, W: 9 };
      const vals = Float32Array.from({ length: 5 * 54 }, (_, i) => ((i * 29) % 61) / 60);
      const ps: AugmentParams[] = [90, -90, 180, -135, 300].map((degrees, i) => ({ flip: i % 2 === 0, degrees, brightness: 1, zoom: 0.9 }));
      const x = kd.tensor(vals, [5, 1, 6, 9]);
      assertClose(await augmentWith(x, ps, { fill: 'edge' }).data(), augmentRef(vals, geo, asRef(ps), true, [0]), { atol: 2e-6 }, 'large angles');
      x.dispose();
    });

    it('rotation turns counter-clockwise as displayed, and zoom > 1 magnifies about the centre', async () => {
      // a single bright pixel in the middle of the right edge of a 5×5 image
      const img = new Float32Array(25);
      img[2 * 5 + 4] = 1;
      const x = kd.tensor(img, [1, 1, 5, 5]);
      const rotated = await augmentWith(x, [{ flip: false, degrees: 90, brightness: 1, zoom: 1 }]).data();
      expect(rotated[0 * 5 + 2]).to.be.closeTo(1, 1e-5); // now at the top middle
      expect(Array.from(rotated).reduce((a, v) => a + Math.abs(v), 0)).to.be.closeTo(1, 1e-4);
      // zoom 5/3 about the centre: output (4.5 − 2.5)/(5/3) + 2.5 − 0.5 = 3.2 → mostly pixel 3
      const ramp = Float32Array.from({ length: 25 }, (_, i) => i % 5);
      const z = await augmentWith(kd.tensor(ramp, [1, 1, 5, 5]), [{ flip: false, degrees: 0, brightness: 1, zoom: 5 / 3 }]).data();
      expect(z[4]).to.be.closeTo(3.2, 1e-5);
      expect(z[0]).to.be.closeTo(0.8, 1e-5);
      x.dispose();
    });

    it('flip only is exact: each image is itself or its mirror image', async () => {
      const N = 16;
      const [C, H, W] = [2, 3, 5];
      const vals = Float32Array.from({ length: N * C * H * W }, (_, i) => Math.fround(Math.sin(i) * 3));
      const x = kd.tensor(vals, [N, C, H, W]);
      const opts = { flip: true, seed: 99 };
      const out = await augment(x, opts, 4).data();
      const flips = await augmentParams(x, opts, 4).data();
      const flipped = Array.from({ length: N }, (_, n) => flips[4 * n] === 1);
      expect(flipped.filter(Boolean).length).to.be.within(1, N - 1);
      for (let n = 0; n < N; n++) {
        for (let r = 0; r < C * H; r++) {
          for (let w = 0; w < W; w++) {
            const src = (n * C * H + r) * W + (flipped[n] ? W - 1 - w : w);
            if (out[(n * C * H + r) * W + w] !== vals[src]) throw new Error(`image ${n} (flip ${flipped[n]}) row ${r} col ${w}: ${out[(n * C * H + r) * W + w]} vs ${vals[src]}`);
          }
        }
      }
      x.dispose();
    });

    it('draws its parameters from Philox(image, stream, step) under the seed, and matches the reference with them', async () => {
      const seed = 2 ** 33 + 77;
      const step = 5;
      const opts = { seed, flip: 0.5, rotate: 15, brightness: [0.8, 1.2] as [number, number], zoom: [0.9, 1.1] as [number, number], fill: 'edge' as const };
      const N = 12;
      const geo: Geometry = { N, C: 1, H: 6, W: 7 };
      const vals = Float32Array.from({ length: N * 42 }, (_, i) => ((i * 53) % 97) / 96);
      const x = kd.tensor(vals, [N, 1, 6, 7]);
      const p = await augmentParams(x, opts, step).data();
      const u24 = (w: number) => (w >>> 8) / 2 ** 24;
      const drawn = [];
      for (let n = 0; n < N; n++) {
        const [w0, w1, w2, w3] = philox([n, 0x61756700, step, 0], [seed >>> 0, Math.floor(seed / 2 ** 32)]);
        const want = [u24(w0) < 0.5 ? 1 : 0, (2 * u24(w1) - 1) * ((15 * Math.PI) / 180), 0.8 + 0.4 * u24(w2), 0.9 + 0.2 * u24(w3)];
        expect(p[4 * n], `flip of image ${n}`).to.equal(want[0]);
        assertClose([p[4 * n + 1], p[4 * n + 2], p[4 * n + 3]], want.slice(1), { atol: 1e-6 }, `parameters of image ${n}`);
        drawn.push({ flip: p[4 * n] === 1, angle: p[4 * n + 1], brightness: p[4 * n + 2], zoom: p[4 * n + 3] });
      }
      const out = await augment(x, opts, step).data();
      assertClose(out, augmentRef(vals, geo, drawn, true, [0]), { atol: 2e-6 }, 'drawn augmentation');
      x.dispose();
    });

    it('is reproducible: the same (seed, step) gives the same batch, another step or seed another', async () => {
      const x = kd.tensor(xs, [g.N, g.C, g.H, g.W]);
      const opts = { seed: 3, flip: true, rotate: 10, brightness: [0.9, 1.1] as [number, number], zoom: [0.95, 1.05] as [number, number] };
      const a = await augment(x, opts, 7).data();
      const b = await augment(x, opts, 7).data();
      const c = await augment(x, opts, 8).data();
      const d = await augment(x, { ...opts, seed: 4 }, 7).data();
      expect(Array.from(b)).to.deep.equal(Array.from(a));
      expect(Array.from(c)).to.not.deep.equal(Array.from(a));
      expect(Array.from(d)).to.not.deep.equal(Array.from(a));
      x.dispose();
    });

    it('rejects bad input with clear errors', () => {
      const x = kd.tensor(xs, [g.N, g.C, g.H, g.W]);
      expectThrow(() => augment(kd.zeros([2, 3, 4]), {}, 0), 'kdgpu: augment: expects a batch of images [N, C, H, W], got shape [2, 3, 4]');
      expectThrow(() => augment(x, { zoom: [0, 1] }, 0), 'kdgpu: augment: zoom must be a range');
      expectThrow(() => augment(x, { flip: 2 }, 0), 'flip must be a boolean or a probability');
      expectThrow(() => augment(x, { rotate: -1 }, 0), 'rotate must be');
      expectThrow(() => augment(x, { normalization: { mean: [0], std: [1] } }, 0), 'normalization has 1 means and 1 stds, the batch [3, 2, 7, 10] has 2 channels');
      expectThrow(() => augment(x, {}, -1), 'step must be a non-negative safe integer');
      expectThrow(() => augmentWith(x, known.slice(0, 2)), 'kdgpu: augmentWith: 2 parameter sets for a batch of 3 images');
      x.dispose();
    });

    it('a training step with augment stays steady: one submission, no readback, upload, new buffer or bind group', async () => {
      const e = kd.engine();
      const f = loadImageFolder(join(dir, 'gray.csv'), grayOpts({ onWarning: () => {} }));
      const data = kd.select(f.train, Int32Array.from({ length: 96 }, (_, i) => i % f.train.count));
      const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(GH * GW, 2, { rng: 5 }));
      const loader = new kd.GpuLoader(data, { batchSize: 4, shuffle: true, seed: 1 });
      const opt = new nn.Adam(model.parameters(), { lr: 0.01 });
      // counted from step 10: the pool's buffers take a few steps to settle into a cycle (as in train-steady.test.ts)
      const deltas: Record<string, number>[] = [];
      let prev = e.stats();
      await nn.fit(model, loader, {
        optimizer: opt,
        epochs: 1,
        logEvery: 0,
        augment: { seed: 2, flip: true, rotate: 10, brightness: [0.9, 1.1], zoom: [0.9, 1.1], fill: 'edge' },
        callbacks: [
          {
            onStepEnd: ({ step }) => {
              const now = e.stats();
              if (step >= 10) deltas.push(Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - prev[k as keyof kd.EngineStats]])));
              prev = now;
            },
          },
        ],
      });
      expect(deltas).to.have.length(14);
      for (const d of deltas) {
        expect([d.submissions, d.mapAsyncCalls, d.uploads, d.buffersCreated, d.bindGroupsCreated, d.pipelinesCreated], JSON.stringify(d)).to.deep.equal([1, 0, 0, 0, 0, 0]);
      }
      loader.dispose();
      opt.dispose();
      model.dispose();
    });

    it('fit with augment: learns the folder\'s pattern, reproducibly, and augmentation changes training', async () => {
      const f = loadImageFolder(join(dir, 'gray.csv'), grayOpts({ onWarning: () => {} }));
      const run = async (augmentOpts: kd.nn.FitOptions['augment']) => {
        const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(GH * GW, 2, { rng: 5 }));
        const loader = new kd.GpuLoader(f.train, { batchSize: 4, shuffle: true, seed: 1 });
        const opt = new nn.Adam(model.parameters(), { lr: 0.05 });
        await nn.fit(model, loader, { optimizer: opt, epochs: 12, logEvery: 0, augment: augmentOpts });
        const weights = (await model.parameters()[0].data()) as Float32Array;
        const test = await nn.evaluate(model, f.validation);
        loader.dispose();
        opt.dispose();
        model.dispose();
        return { weights, test };
      };
      const opts = { seed: 11, rotate: 8, brightness: [0.85, 1.15] as [number, number], zoom: [0.95, 1.05] as [number, number] };
      const a = await run(opts);
      const b = await run(opts);
      const plain = await run(undefined);
      expect(Array.from(b.weights)).to.deep.equal(Array.from(a.weights));
      expect(Array.from(plain.weights)).to.not.deep.equal(Array.from(a.weights));
      expect(a.test.accuracy).to.equal(1);
      expect(a.test.f1).to.equal(1);
      expect(a.test.rocAuc).to.equal(1);
    });
  });
});
