import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'fflate';
import { imageSetFromIdx, loadFashionMnist, loadMnistLike, parseIdx, readIdxFile } from '../src/index.js';

const MNIST_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mnist');

function idx(typeCode: number, dims: number[], body: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const dv = new DataView(head.buffer);
  head[2] = typeCode;
  head[3] = dims.length;
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

describe('IDX reader', () => {
  it('reads uint8, int32 and float32 files, raw and gzipped', () => {
    const u8 = idx(0x08, [2, 3], Uint8Array.from([1, 2, 3, 4, 5, 255]));
    const a = parseIdx(u8, 'a.idx');
    expect(a.dims).to.deep.equal([2, 3]);
    expect(Array.from(a.data)).to.deep.equal([1, 2, 3, 4, 5, 255]);
    expect(Array.from(parseIdx(gzipSync(u8), 'a.idx.gz').data)).to.deep.equal([1, 2, 3, 4, 5, 255]);
    const body = new Uint8Array(8);
    new DataView(body.buffer).setInt32(0, -7, false);
    new DataView(body.buffer).setFloat32(4, 1.5, false);
    expect(Array.from(parseIdx(idx(0x0c, [1], body.subarray(0, 4)), 'i').data)).to.deep.equal([-7]);
    expect(Array.from(parseIdx(idx(0x0d, [1], body.subarray(4)), 'f').data)).to.deep.equal([1.5]);
  });

  it('rejects hostile files with an error naming the file, without allocating what the header claims', () => {
    const good = idx(0x08, [2, 2], Uint8Array.from([1, 2, 3, 4]));
    const bad = (bytes: Uint8Array, re: RegExp) => expect(() => parseIdx(bytes, '/data/evil-idx')).to.throw(re);
    bad(Uint8Array.from([1, 2, 3]), /evil-idx.*not an IDX file/);
    bad(Uint8Array.from([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 9]), /evil-idx.*magic/);
    bad(Uint8Array.from([0, 0, 0x42, 1, 0, 0, 0, 1, 9]), /evil-idx.*unknown IDX type/);
    bad(good.subarray(0, 10), /evil-idx.*truncated IDX header/);
    bad(good.subarray(0, good.length - 1), /evil-idx.*truncated IDX data.*need 4 bytes.*has 3/);
    // 0xffffffff^3 elements: overflows any allocation; must fail before allocating
    bad(idx(0x08, [0xffffffff, 0xffffffff, 0xffffffff], new Uint8Array(0)), /evil-idx.*more data than can exist/);
    bad(idx(0x08, [65536, 65536], new Uint8Array(16)), /evil-idx.*truncated IDX data/);
    bad(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), /evil-idx.*corrupt gzip/);
  });

  it('gzipped files from disk: CRC and length checked, several members load, inflating stops at the declared size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdgpu-idx-gz-'));
    const file = (name: string, bytes: Uint8Array) => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    const body = Uint8Array.from({ length: 6000 }, (_, i) => (i * 7) % 251);
    const good = gzipSync(idx(0x08, [10, 600], body));
    expect(Array.from(readIdxFile(file('good.gz', good)).data)).to.deep.equal(Array.from(body));
    // Two gzip members (as `cat a.gz b.gz` makes): one valid stream of both.
    const whole = idx(0x08, [10, 600], body);
    const twoMembers = Buffer.concat([gzipSync(whole.subarray(0, 1000)), gzipSync(whole.subarray(1000))]);
    expect(Array.from(readIdxFile(file('two.gz', twoMembers)).data)).to.deep.equal(Array.from(body));
    // A flipped byte in the CRC, in the length, in the data; a cut stream.
    const flip = (at: number) => {
      const b = Uint8Array.from(good);
      b[at] ^= 0x01;
      return b;
    };
    expect(() => readIdxFile(file('crc.gz', flip(good.length - 6)))).to.throw(/crc\.gz: corrupt gzip data \(its CRC does not match the data\)/);
    expect(() => readIdxFile(file('len.gz', flip(good.length - 2)))).to.throw(/len\.gz: corrupt gzip data \(its length field does not match/);
    expect(() => readIdxFile(file('cut.gz', good.subarray(0, good.length - 20)))).to.throw(/cut\.gz: corrupt gzip data/);
    // A small file that inflates far past what its header declares (4 bytes): refused at the bound.
    const bomb = gzipSync(Buffer.concat([Buffer.from(idx(0x08, [4], Uint8Array.from([1, 2, 3, 4]))), Buffer.alloc(64 << 20)]), { level: 9 });
    expect(bomb.length).to.be.below(100_000);
    expect(() => readIdxFile(file('bomb.gz', bomb))).to.throw(/bomb\.gz: decompresses to more than the 12 bytes its IDX header declares/);
    // The browser path (fflate) still parses the same files.
    expect(Array.from(parseIdx(good, 'good.gz').data)).to.deep.equal(Array.from(body));
  });

  it('rejects image and label files that disagree', () => {
    const imgs = parseIdx(idx(0x08, [3, 2, 2], new Uint8Array(12)), 'imgs');
    const lbls = parseIdx(idx(0x08, [2], new Uint8Array(2)), 'lbls');
    expect(() => imageSetFromIdx(imgs, lbls, ['imgs', 'lbls'])).to.throw(/lbls has 2 labels but imgs has 3 images/);
  });

  it('names a missing file and a missing dataset with the install command', () => {
    expect(() => readIdxFile('/nonexistent/x.idx')).to.throw(/\/nonexistent\/x\.idx does not exist/);
    const empty = mkdtempSync(join(tmpdir(), 'kdgpu-idx-'));
    expect(() => loadMnistLike('test', [empty], 'Fashion-MNIST', 'apt-get install -y dataset-fashion-mnist')).to.throw(
      /Fashion-MNIST \(test\) not found.*apt-get install -y dataset-fashion-mnist/s,
    );
    const p = join(empty, 'trunc.gz');
    writeFileSync(p, gzipSync(idx(0x08, [5], new Uint8Array(5))).subarray(0, 10));
    expect(() => readIdxFile(p)).to.throw(/trunc\.gz/);
  });

  it('reads the real Fashion-MNIST (Debian package) and the MNIST test set', function () {
    const train = loadFashionMnist('train');
    const test = loadFashionMnist('test');
    expect([train.count, train.rows, train.cols]).to.deep.equal([60000, 28, 28]);
    expect(test.count).to.equal(10000);
    // Fashion-MNIST is balanced: 6,000 / 1,000 per class.
    const hist = (l: Int32Array) => Array.from({ length: 10 }, (_, c) => l.filter((v) => v === c).length);
    expect(hist(train.labels)).to.deep.equal(new Array(10).fill(6000));
    expect(hist(test.labels)).to.deep.equal(new Array(10).fill(1000));
    // The official MNIST test set travels with the tests (test/fixtures/mnist, with its MD5 sums).
    for (const line of readFileSync(join(MNIST_DIR, 'MD5SUMS'), 'utf8').trim().split('\n')) {
      const [sum, name] = line.split(/\s+/);
      expect(createHash('md5').update(readFileSync(join(MNIST_DIR, name))).digest('hex'), name).to.equal(sum);
    }
    const mnist = loadMnistLike('test', [MNIST_DIR], 'MNIST', '');
    expect(mnist.count).to.equal(10000);
    // The official MNIST test set's label histogram.
    expect(hist(mnist.labels)).to.deep.equal([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });
});
