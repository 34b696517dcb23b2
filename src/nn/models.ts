/**
 * Built-in model definitions of the distillation recipes. Layer order (and so state_dict names)
 * is that of the equivalent PyTorch nn.Sequential, so weights move between the two; ReLU layers
 * after Linear/Conv2d are fused into their kernels at run time.
 */
import { Random } from '../autograd/random.js';
import type { Tensor } from '../autograd/tensor.js';
import { MobileNetV2, ResNet, ResNet50V2 } from './backbones.js';
import { Conv2d, Dropout, MaxPool2d } from './conv-layers.js';
import type { InitScheme } from './init.js';
import { Flatten, Linear, ReLU, Sequential } from './layers.js';
import { Module, type ModuleOutput } from './module.js';
import { layerSequence } from './summary.js';

/** Options of the built-in models (`buildModel`); each model reads the ones it has. */
export interface ModelOptions {
  /** Seed of the weight initialization (default 0). */
  seed?: number;
  /** Initializer (default 'pytorch'; the Keras recipes use 'keras'). */
  init?: InitScheme;
  /** Dropout rate, for models that take one. */
  dropout?: number;
  /** Output classes (default 10; 1000 for the ImageNet backbones). */
  classes?: number;
  /** Width multiplier (mobilenet-v2; default 1). */
  width?: number;
}

/** A built-in model: its name, input shape, one-line description and constructor. */
export interface ModelInfo {
  /** The registry key, e.g. 'mnist-cnn-teacher'. */
  name: string;
  /** One sample's shape, e.g. [1, 28, 28]. */
  inputShape: number[];
  /** Its layers in one line, for listings. */
  description: string;
  /** Builds a freshly initialized model. */
  build(opts?: ModelOptions): Module;
}

/** features → flatten → classifier, named like the PyTorch tutorial's DeepNN/LightNN. */
export class FeaturesClassifier extends Module {
  constructor(
    /** Convolutional feature extractor (state_dict prefix 'features'). */
    readonly features: Sequential,
    /** Classifier applied to the flattened features (state_dict prefix 'classifier'). */
    readonly classifier: Sequential,
  ) {
    super();
    this.registerModule('features', features);
    this.registerModule('classifier', classifier);
  }
  private readonly flat = new Flatten();
  forward(x: Tensor): ModuleOutput {
    const f = this.features.call(x);
    const h = this.flat.call(f);
    return this.classifier.forward(h);
  }
  /** The layers in run order (features.*, flatten, classifier.*), for summaries. */
  sequence(): [string, Module][] {
    return [...layerSequence(this.features, 'features'), ['flatten', this.flat], ...layerSequence(this.classifier, 'classifier')];
  }
}

function mnistCnn(filters: [number, number], dropout: number, firstPoolStride: number, opts: ModelOptions): Sequential {
  const rng = new Random(opts.seed ?? 0);
  const init = opts.init ?? 'pytorch';
  const l = { rng, init };
  const size1 = 28 - 2; // after the first valid 3×3 conv
  const pooled1 = Math.floor((size1 - 2) / firstPoolStride) + 1;
  const size2 = pooled1 - 2;
  const pooled2 = Math.floor((size2 - 2) / 2) + 1;
  const flat = filters[1] * pooled2 * pooled2;
  return new Sequential(
    new Conv2d(1, filters[0], 3, l),
    new ReLU(),
    new MaxPool2d({ kernel: 2, stride: firstPoolStride }),
    new Conv2d(filters[0], filters[1], 3, l),
    new ReLU(),
    new MaxPool2d({ kernel: 2, stride: 2 }),
    new Flatten(),
    new Dropout(opts.dropout ?? dropout),
    new Linear(flat, 128, l),
    new ReLU(),
    new Dropout(opts.dropout ?? dropout),
    new Linear(128, opts.classes ?? 10, l),
  );
}

/** The built-in models by name (what `buildModel` and the CLI's `--model` accept). */
export const MODELS: Record<string, ModelInfo> = {
  'mnist-cnn-teacher': {
    name: 'mnist-cnn-teacher',
    inputShape: [1, 28, 28],
    description: 'conv32 relu → maxpool 2×2 s1 → conv64 relu → maxpool 2×2 s2 → dropout .5 → dense128 relu → dropout .5 → dense10',
    build: (o = {}) => mnistCnn([32, 64], 0.5, 1, o),
  },
  'mnist-cnn-ta': {
    name: 'mnist-cnn-ta',
    inputShape: [1, 28, 28],
    description: 'the teacher with 16 and 32 filters and dropout .25 (teaching assistant)',
    build: (o = {}) => mnistCnn([16, 32], 0.25, 1, o),
  },
  'mnist-cnn-small': {
    name: 'mnist-cnn-small',
    inputShape: [1, 28, 28],
    description: 'conv32 relu → maxpool 2 → conv64 relu → maxpool 2 → dropout .5 → dense128 relu → dropout .5 → dense10',
    build: (o = {}) => mnistCnn([32, 64], 0.5, 2, o),
  },
  'mnist-mlp-student': {
    name: 'mnist-mlp-student',
    inputShape: [1, 28, 28],
    description: '784 → 784 relu → 784 relu → 10',
    build: (o = {}) => {
      const l = { rng: new Random(o.seed ?? 0), init: o.init ?? 'pytorch' };
      return new Sequential(new Flatten(), new Linear(784, 784, l), new ReLU(), new Linear(784, 784, l), new ReLU(), new Linear(784, o.classes ?? 10, l));
    },
  },
  'hinton-mlp-teacher': {
    name: 'hinton-mlp-teacher',
    inputShape: [1, 28, 28],
    description: "784 → 1200 relu → dropout → 1200 relu → dropout → 10 (Hinton et al. 2015's MNIST teacher; dropout .3 by default)",
    build: (o = {}) => {
      const l = { rng: new Random(o.seed ?? 0), init: o.init ?? 'pytorch' };
      const p = o.dropout ?? 0.3;
      return new Sequential(new Flatten(), new Linear(784, 1200, l), new ReLU(), new Dropout(p), new Linear(1200, 1200, l), new ReLU(), new Dropout(p), new Linear(1200, o.classes ?? 10, l));
    },
  },
  'mnist-cnn-ensemble-member': {
    name: 'mnist-cnn-ensemble-member',
    inputShape: [1, 28, 28],
    description: "3 × (conv 'same' relu → maxpool 2 'same' s2 → dropout) with 32/64/128 filters → dense625 relu → dropout → dense10",
    build: (o = {}) => {
      const l = { rng: new Random(o.seed ?? 0), init: o.init ?? 'pytorch' };
      const p = o.dropout ?? 0.3;
      const block = (cin: number, cout: number) => [
        new Conv2d(cin, cout, 3, { ...l, padding: 'same' }),
        new ReLU(),
        new MaxPool2d({ kernel: 2, stride: 2, padding: 'same' }),
        new Dropout(p),
      ];
      return new Sequential(
        ...block(1, 32),
        ...block(32, 64),
        ...block(64, 128),
        new Flatten(),
        new Linear(128 * 4 * 4, 625, l),
        new ReLU(),
        new Dropout(p),
        new Linear(625, o.classes ?? 10, l),
      );
    },
  },
  'cifar-deep-cnn': {
    name: 'cifar-deep-cnn',
    inputShape: [3, 32, 32],
    description: "the PyTorch KD tutorial's DeepNN (teacher)",
    build: (o = {}) => {
      const l = { rng: new Random(o.seed ?? 0), init: o.init ?? 'pytorch' };
      const conv = (a: number, b: number) => new Conv2d(a, b, 3, { ...l, padding: 1 });
      return new FeaturesClassifier(
        new Sequential(conv(3, 128), new ReLU(), conv(128, 64), new ReLU(), new MaxPool2d({ kernel: 2, stride: 2 }), conv(64, 64), new ReLU(), conv(64, 32), new ReLU(), new MaxPool2d({ kernel: 2, stride: 2 })),
        new Sequential(new Linear(2048, 512, l), new ReLU(), new Dropout(o.dropout ?? 0.1), new Linear(512, o.classes ?? 10, l)),
      );
    },
  },
  'cifar-light-cnn': {
    name: 'cifar-light-cnn',
    inputShape: [3, 32, 32],
    description: "the PyTorch KD tutorial's LightNN (student)",
    build: (o = {}) => {
      const l = { rng: new Random(o.seed ?? 0), init: o.init ?? 'pytorch' };
      const conv = (a: number, b: number) => new Conv2d(a, b, 3, { ...l, padding: 1 });
      return new FeaturesClassifier(
        new Sequential(conv(3, 16), new ReLU(), new MaxPool2d({ kernel: 2, stride: 2 }), conv(16, 16), new ReLU(), new MaxPool2d({ kernel: 2, stride: 2 })),
        new Sequential(new Linear(1024, 256, l), new ReLU(), new Dropout(o.dropout ?? 0.1), new Linear(256, o.classes ?? 10, l)),
      );
    },
  },
  'resnet-8': {
    name: 'resnet-8',
    inputShape: [3, 32, 32],
    description: "He et al.'s CIFAR ResNet-8: 3×3 conv16 → 3 stages of 1 basic block (16/32/64, BatchNorm) → global pool → dense",
    build: (o = {}) => new ResNet('cifar-basic', [1, 1, 1], o),
  },
  'resnet-20': {
    name: 'resnet-20',
    inputShape: [3, 32, 32],
    description: "He et al.'s CIFAR ResNet-20: 3 stages of 3 basic blocks (16/32/64, BatchNorm)",
    build: (o = {}) => new ResNet('cifar-basic', [3, 3, 3], o),
  },
  resnet50: {
    name: 'resnet50',
    inputShape: [3, 224, 224],
    description: "torchvision's ResNet-50 (bottlenecks 3/4/6/3, 1000 classes unless told), torchvision state_dict names",
    build: (o = {}) => new ResNet('imagenet-bottleneck', [3, 4, 6, 3], { ...o, classes: o.classes ?? 1000 }),
  },
  'resnet50-v2': {
    name: 'resnet50-v2',
    inputShape: [3, 224, 224],
    description: "Keras's pre-activation ResNet50V2 (layers in Keras's order), 1000 classes unless told",
    build: (o = {}) => new ResNet50V2({ ...o, classes: o.classes ?? 1000 }),
  },
  'mobilenet-v2': {
    name: 'mobilenet-v2',
    inputShape: [3, 224, 224],
    description: "torchvision's MobileNetV2 (ReLU6, inverted residuals, depthwise 3×3; option width), 1000 classes unless told",
    build: (o = {}) => new MobileNetV2({ ...o, classes: o.classes ?? 1000 }),
  },
};

/** Builds a model by name; unknown names get an error that lists the known ones. */
export function buildModel(name: string, opts: ModelOptions = {}): Module {
  const info = Object.hasOwn(MODELS, name) ? MODELS[name] : undefined;
  if (!info) throw new Error(`kdgpu: unknown model '${name}'; built-in models: ${Object.keys(MODELS).join(', ')}`);
  return info.build(opts);
}
