/**
 * Transfer-learning backbones with torchvision's state_dict names, so pretrained weights exported
 * to safetensors (scripts/export_torchvision.py) load directly:
 * - `resnet50`: torchvision's ResNet-50 (v1.5: stride on the 3×3 conv of a bottleneck);
 * - `mobilenet-v2`: torchvision's MobileNetV2 with a width multiplier;
 * - `resnet50-v2`: Keras's pre-activation ResNet50V2 (layers registered in Keras's order, so a
 *   Keras .h5 file maps onto it layer by layer);
 * - `resnet-8`, `resnet-20`: He et al.'s CIFAR ResNets (3 stages of 16/32/64 channels, 1×1
 *   projection shortcuts) for 32×32 inputs.
 * Convolutions are initialized like torchvision's (He normal, fan_out), BatchNorm to 1/0.
 */
import { add } from '../autograd/ops-elementwise.js';
import { concat } from '../autograd/ops-shape.js';
import { zeros } from '../autograd/creation.js';
import { Random } from '../autograd/random.js';
import type { Tensor } from '../autograd/tensor.js';
import { BatchNorm2d } from './batchnorm.js';
import { Conv2d, Dropout, GlobalAvgPool2d, MaxPool2d } from './conv-layers.js';
import type { InitScheme } from './init.js';
import { Linear, ReLU, ReLU6, Sequential } from './layers.js';
import { Module } from './module.js';

/** Options of the ResNet, ResNet50V2 and MobileNetV2 backbones. */
export interface BackboneOptions {
  /** Seed of the weight initialization (default 0). */
  seed?: number;
  /** Convolution initializer (default torchvision's He normal, fan_out). */
  init?: InitScheme;
  /** Output classes of the final Linear (default 1000; 10 for the CIFAR ResNets). */
  classes?: number;
  /** Dropout rate before MobileNetV2's classifier (default 0.2); the ResNets have none. */
  dropout?: number;
}

/** ResNet50V2's BatchNorm: Keras's epsilon 1.001e-5 and momentum 0.99 (0.01 in PyTorch's terms). */
const KERAS_V2_BN = { eps: 1.001e-5, momentum: 0.01 };

const TORCHVISION_CONV_INIT: InitScheme = { scale: 2, mode: 'fan_out', distribution: 'normal' };

interface Ctx {
  rng: Random;
  init: InitScheme;
}

function ctxOf(o: BackboneOptions): Ctx {
  return { rng: new Random(o.seed ?? 0), init: o.init ?? TORCHVISION_CONV_INIT };
}

function conv(c: Ctx, cin: number, cout: number, k: number, opts: { stride?: number; padding?: number; groups?: number; bias?: boolean } = {}): Conv2d {
  return new Conv2d(cin, cout, k, { rng: c.rng, init: c.init, stride: opts.stride ?? 1, padding: opts.padding ?? 0, groups: opts.groups ?? 1, bias: opts.bias ?? false });
}

// ---------------------------------------------------------------- ResNet (torchvision names)

/** Two 3×3 convs (CIFAR ResNets). */
class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(c: Ctx, cin: number, cout: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', conv(c, cin, cout, 3, { stride, padding: 1 }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(cout));
    this.conv2 = this.registerModule('conv2', conv(c, cout, cout, 3, { padding: 1 }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(cout));
    this.downsample = stride !== 1 || cin !== cout ? this.registerModule('downsample', new Sequential(conv(c, cin, cout, 1, { stride }), new BatchNorm2d(cout))) : null;
  }
  private readonly relu = new ReLU();
  forward(x: Tensor): Tensor {
    const h = this.relu.call(this.bn1.call(this.conv1.call(x)));
    const y = this.bn2.call(this.conv2.call(h));
    return this.relu.call(add(y, this.downsample ? this.downsample.call(x) : x));
  }
}

/** 1×1 → 3×3 (stride here, torchvision v1.5) → 1×1 ×4. */
class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly downsample: Sequential | null;
  private readonly layers: Module[];
  constructor(c: Ctx, cin: number, planes: number, stride: number) {
    super();
    const cout = planes * Bottleneck.expansion;
    this.layers = [
      this.registerModule('conv1', conv(c, cin, planes, 1)),
      this.registerModule('bn1', new BatchNorm2d(planes)),
      this.registerModule('conv2', conv(c, planes, planes, 3, { stride, padding: 1 })),
      this.registerModule('bn2', new BatchNorm2d(planes)),
      this.registerModule('conv3', conv(c, planes, cout, 1)),
      this.registerModule('bn3', new BatchNorm2d(cout)),
    ];
    this.downsample = stride !== 1 || cin !== cout ? this.registerModule('downsample', new Sequential(conv(c, cin, cout, 1, { stride }), new BatchNorm2d(cout))) : null;
  }
  private readonly relu = new ReLU();
  forward(x: Tensor): Tensor {
    const [c1, b1, c2, b2, c3, b3] = this.layers;
    let h = this.relu.call(b1.call(c1.call(x)));
    h = this.relu.call(b2.call(c2.call(h)));
    h = b3.call(c3.call(h));
    return this.relu.call(add(h, this.downsample ? this.downsample.call(x) : x));
  }
}

/** torchvision.models.ResNet's layout (conv1, bn1, maxpool, layer1…, fc), or the CIFAR stem. */
export class ResNet extends Module {
  /** The classifier: pooled features → classes. */
  fc: Linear;
  private readonly stages: Sequential[] = [];
  private readonly relu = new ReLU();
  private readonly pool = new GlobalAvgPool2d();
  /** Stem convolution: 7×7 stride 2 to 64 channels (ImageNet) or 3×3 to 16 (CIFAR). */
  readonly conv1: Conv2d;
  /** The stem's BatchNorm. */
  readonly bn1: BatchNorm2d;
  /** The ImageNet stem's 3×3 stride-2 max pool; null for the CIFAR stem. */
  readonly maxpool: MaxPool2d | null;
  /**
   * @param kind 'imagenet-bottleneck' (torchvision ResNet-50 style) or 'cifar-basic' (He et al.'s CIFAR ResNets).
   * @param blocks Number of blocks in each stage (layer1, layer2, …).
   */
  constructor(kind: 'imagenet-bottleneck' | 'cifar-basic', blocks: number[], o: BackboneOptions) {
    super();
    const c = ctxOf(o);
    const imagenet = kind === 'imagenet-bottleneck';
    const stem = imagenet ? 64 : 16;
    this.conv1 = this.registerModule('conv1', imagenet ? conv(c, 3, stem, 7, { stride: 2, padding: 3 }) : conv(c, 3, stem, 3, { padding: 1 }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(stem));
    this.maxpool = imagenet ? new MaxPool2d({ kernel: 3, stride: 2, padding: 1 }) : null;
    let cin = stem;
    blocks.forEach((n, i) => {
      const planes = stem * 2 ** i;
      const layer: Module[] = [];
      for (let b = 0; b < n; b++) {
        const stride = b === 0 && i > 0 ? 2 : 1;
        if (imagenet) {
          layer.push(new Bottleneck(c, cin, planes, stride));
          cin = planes * Bottleneck.expansion;
        } else {
          layer.push(new BasicBlock(c, cin, planes, stride));
          cin = planes;
        }
      }
      this.stages.push(this.registerModule(`layer${i + 1}`, new Sequential(...layer)));
    });
    this.fc = this.registerModule('fc', new Linear(cin, o.classes ?? (imagenet ? 1000 : 10), { rng: c.rng }));
  }
  /** Pooled features before the classifier, [N, channels]. */
  features(x: Tensor): Tensor {
    let h = this.relu.call(this.bn1.call(this.conv1.call(x)));
    if (this.maxpool) h = this.maxpool.call(h);
    for (const s of this.stages) h = s.call(h);
    return this.pool.call(h);
  }
  forward(x: Tensor): Tensor {
    return this.fc.call(this.features(x));
  }
}

// ------------------------------------------------------------ MobileNetV2 (torchvision names)

/** torchvision's _make_divisible: round to a multiple of 8, never more than 10% down. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** Conv2dNormActivation: Sequential(conv, bn, relu6) → names .0 and .1. */
function convBnRelu6(c: Ctx, cin: number, cout: number, k: number, stride = 1, groups = 1): Sequential {
  return new Sequential(conv(c, cin, cout, k, { stride, padding: (k - 1) >> 1, groups }), new BatchNorm2d(cout), new ReLU6());
}

class InvertedResidual extends Module {
  readonly conv: Sequential;
  readonly residual: boolean;
  constructor(c: Ctx, cin: number, cout: number, stride: number, expand: number) {
    super();
    const hidden = Math.round(cin * expand);
    this.residual = stride === 1 && cin === cout;
    const layers: Module[] = [];
    if (expand !== 1) layers.push(convBnRelu6(c, cin, hidden, 1));
    layers.push(convBnRelu6(c, hidden, hidden, 3, stride, hidden), conv(c, hidden, cout, 1), new BatchNorm2d(cout));
    this.conv = this.registerModule('conv', new Sequential(...layers));
  }
  forward(x: Tensor): Tensor {
    const y = this.conv.call(x);
    return this.residual ? add(x, y) : y;
  }
}

/** torchvision.models.MobileNetV2: features (0…18), global average pool, classifier (dropout, linear). */
export class MobileNetV2 extends Module {
  /** Stem conv, 17 inverted residual blocks and the final 1×1 conv (indices 0…18). */
  readonly features: Sequential;
  /** Dropout then Linear (indices 0 and 1). */
  readonly classifier: Sequential;
  private readonly pool = new GlobalAvgPool2d();
  constructor(o: BackboneOptions & { width?: number }) {
    super();
    const c = ctxOf(o);
    const w = o.width ?? 1;
    if (!(w > 0)) throw new Error(`kdgpu: mobilenet-v2: width multiplier must be > 0, got ${w}`);
    const settings: [number, number, number, number][] = [
      [1, 16, 1, 1],
      [6, 24, 2, 2],
      [6, 32, 3, 2],
      [6, 64, 4, 2],
      [6, 96, 3, 1],
      [6, 160, 3, 2],
      [6, 320, 1, 1],
    ];
    let cin = makeDivisible(32 * w);
    const last = makeDivisible(1280 * Math.max(1, w));
    const layers: Module[] = [convBnRelu6(c, 3, cin, 3, 2)];
    for (const [t, ch, n, s] of settings) {
      const cout = makeDivisible(ch * w);
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(c, cin, cout, i === 0 ? s : 1, t));
        cin = cout;
      }
    }
    layers.push(convBnRelu6(c, cin, last, 1));
    this.features = this.registerModule('features', new Sequential(...layers));
    this.classifier = this.registerModule('classifier', new Sequential(new Dropout(o.dropout ?? 0.2), new Linear(last, o.classes ?? 1000, { rng: c.rng })));
  }
  forward(x: Tensor): Tensor {
    return this.classifier.call(this.pool.call(this.features.call(x)));
  }
}

// ---------------------------------------------------------- ResNet50V2 (Keras, pre-activation)

/** Keras's ZeroPadding2D: zeros around H and W (a pool after it sees zeros, not −∞). */
export function zeroPad2d(x: Tensor, p: number): Tensor {
  const [n, ch, h, w] = x.shape;
  const rows = zeros([n, ch, p, w]);
  const tall = concat([rows, x, rows], 2);
  const cols = zeros([n, ch, h + 2 * p, p]);
  const out = concat([cols, tall, cols], 3);
  for (const t of [rows, tall, cols]) t.dispose();
  return out;
}

/** Keras block2: BN-ReLU pre-activation, 1×1 → 3×3 (stride) → 1×1 ×4, shortcut conv or subsample. */
class PreActBottleneck extends Module {
  private readonly relu = new ReLU();
  readonly preact_bn: BatchNorm2d;
  readonly shortcut: Conv2d | MaxPool2d | null;
  private readonly body: Module[];
  constructor(c: Ctx, cin: number, filters: number, stride: number, convShortcut: boolean) {
    super();
    // Registration order is Keras's layer order (preact_bn, 0_conv, 1_conv, 1_bn, 2_conv, 2_bn, 3_conv).
    this.preact_bn = this.registerModule('preact_bn', new BatchNorm2d(cin, KERAS_V2_BN));
    this.shortcut = convShortcut
      ? this.registerModule('shortcut', conv(c, cin, 4 * filters, 1, { stride, bias: true }))
      : stride > 1
        ? new MaxPool2d({ kernel: 1, stride })
        : null;
    this.body = [
      this.registerModule('conv1', conv(c, cin, filters, 1)),
      this.registerModule('bn1', new BatchNorm2d(filters, KERAS_V2_BN)),
      this.registerModule('conv2', conv(c, filters, filters, 3, { stride, padding: 1 })),
      this.registerModule('bn2', new BatchNorm2d(filters, KERAS_V2_BN)),
      this.registerModule('conv3', conv(c, filters, 4 * filters, 1, { bias: true })),
    ];
    this.convShortcut = convShortcut;
  }
  private readonly convShortcut: boolean;
  forward(x: Tensor): Tensor {
    const pre = this.relu.call(this.preact_bn.call(x));
    const sc = this.shortcut ? this.shortcut.call(this.convShortcut ? pre : x) : x;
    const [c1, b1, c2, b2, c3] = this.body;
    let h = this.relu.call(b1.call(c1.call(pre)));
    h = this.relu.call(b2.call(c2.call(h)));
    return add(c3.call(h), sc);
  }
}

/** Keras's ResNet50V2 with PyTorch-style names (conv1, layer1…4, post_bn, fc). */
export class ResNet50V2 extends Module {
  /** Stem convolution: 7×7 stride 2 to 64 channels, with bias. */
  readonly conv1: Conv2d;
  /** The BatchNorm after the last stage (pre-activation nets normalize once more at the end). */
  readonly post_bn: BatchNorm2d;
  /** The classifier: pooled features → classes. */
  fc: Linear;
  private readonly stages: Sequential[] = [];
  private readonly pool1 = new MaxPool2d({ kernel: 3, stride: 2 });
  private readonly relu = new ReLU();
  private readonly pool = new GlobalAvgPool2d();
  constructor(o: BackboneOptions) {
    super();
    const c = ctxOf(o);
    this.conv1 = this.registerModule('conv1', conv(c, 3, 64, 7, { stride: 2, padding: 3, bias: true }));
    let cin = 64;
    // stack2(filters, blocks, stride1): the stride is on the stack's LAST block.
    const stacks: [number, number, number][] = [
      [64, 3, 2],
      [128, 4, 2],
      [256, 6, 2],
      [512, 3, 1],
    ];
    stacks.forEach(([f, n, s], i) => {
      const blocks: Module[] = [];
      for (let b = 0; b < n; b++) {
        blocks.push(new PreActBottleneck(c, cin, f, b === n - 1 ? s : 1, b === 0));
        cin = 4 * f;
      }
      this.stages.push(this.registerModule(`layer${i + 1}`, new Sequential(...blocks)));
    });
    this.post_bn = this.registerModule('post_bn', new BatchNorm2d(cin, KERAS_V2_BN));
    this.fc = this.registerModule('fc', new Linear(cin, o.classes ?? 1000, { rng: c.rng }));
  }
  forward(x: Tensor): Tensor {
    const c1 = this.conv1.call(x);
    const padded = zeroPad2d(c1, 1);
    let h = this.pool1.call(padded);
    for (const s of this.stages) h = s.call(h);
    h = this.relu.call(this.post_bn.call(h));
    return this.fc.call(this.pool.call(h));
  }
}
