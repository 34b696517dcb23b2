export { Module, type ModuleOutput } from './module.js';
export { Linear, ReLU, Identity, Flatten, Sequential, rngOf, type LayerInit } from './layers.js';
export { initWeight, initBias, fans, varianceScalingValues, type InitScheme, type VarianceScaling } from './init.js';
export {
  Optimizer,
  SGD,
  Adam,
  AdamW,
  clipScale,
  LRScheduler,
  StepLR,
  CosineAnnealingLR,
  type OptimizerOptions,
  type SGDOptions,
  type AdamOptions,
} from './optim.js';
export { parseSafetensors, serializeSafetensors, type SafeFile, type SafeEntry, type SafeDType } from './safetensors.js';
export { weightsToBytes, loadWeightsFromBytes } from './weights.js';
