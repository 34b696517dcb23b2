/**
 * One pass of a 3×3, stride-1, unpadded conv layer in tfjs on the active backend, on NHWC
 * copies of the data kdgpu's runner uses (bench/lib/suite-conv-cases.ts): shared by the suite's
 * Node tfjs peers and the tfjs-wasm browser page (bench/web/wasm-peer-page.ts).
 */
import { hwio, nhwc } from './cnn-rows.js';
import { tfConvPass, type ConvPass } from './tfjs-conv.js';
import { tf } from './tfjs.js';
import { randArray } from './timing.js';

/** The layer's shape: C → O channels on S×S inputs. */
export interface ConvPassLayer {
  C: number;
  O: number;
  S: number;
}

/** A runner for one `pass` at batch B; `sync` waits for completion (tfjs.ts syncFor). */
export function tfConvPassRunner(l: ConvPassLayer, pass: ConvPass, B: number, sync: () => Promise<void>): { run(): Promise<void>; dispose(): void } {
  const OS = l.S - 2;
  const x = nhwc(randArray(B * l.C * l.S * l.S, 1), [B, l.C, l.S, l.S]);
  const w = tf.tensor4d(hwio(randArray(l.O * l.C * 9, 2, 1 / Math.sqrt(9 * l.C)), l.O, l.C), [3, 3, l.C, l.O]);
  const b = tf.tensor1d(randArray(l.O, 3, 0.1));
  const dy = tf.tensor4d(randArray(B * OS * OS * l.O, 6), [B, OS, OS, l.O]);
  const f = tfConvPass(pass, x, w, b, dy);
  return {
    async run() {
      tf.tidy(f);
      await sync();
    },
    dispose() {
      for (const v of [x, w, b, dy]) v.dispose();
    },
  };
}
