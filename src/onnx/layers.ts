/** The few Module classes the importer adds to kdgpu's layers. */
import { batchNorm1d, batchNorm2d } from '../autograd/ops-batchnorm.js';
import type { Tensor } from '../autograd/tensor.js';
import { BatchNorm, type BatchNormLayerOptions } from '../nn/batchnorm.js';
import { Module } from '../nn/module.js';

/**
 * ONNX BatchNormalization: kdgpu's BatchNorm (same parameters, buffers, train/eval and freezing
 * behaviour) for [N, C], [N, C, L] and [N, C, H, W] inputs alike, as ONNX has one op for all.
 */
export class OnnxBatchNorm extends BatchNorm {
  protected op = batchNorm2d;
  constructor(numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super(numFeatures, opts, true);
  }
  override forward(x: Tensor): Tensor {
    this.op = x.rank === 4 ? batchNorm2d : batchNorm1d;
    return super.forward(x);
  }
}

/**
 * A level of the module tree the importer rebuilds from dotted initializer names ('layer1' of
 * 'layer1.0.conv1.weight'), so parameters keep the exporter's state_dict names and `freeze`
 * finds modules by path. It only groups: the model runs its layers itself.
 */
export class OnnxScope extends Module {
  forward(): Tensor {
    throw new Error('kdgpu: OnnxScope groups imported layers by name and is not run on its own; call the OnnxModel');
  }
  /** Adds a child under `name` (the importer builds the tree). */
  add<M extends Module>(name: string, m: M): M {
    return this.registerModule(name, m);
  }
  /** The child named `name`, if any. */
  child(name: string): Module | undefined {
    return this.namedChildren().find(([n]) => n === name)?.[1];
  }
}
