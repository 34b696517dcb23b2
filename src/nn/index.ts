export { Module, observeCalls, type CallObserver, type ModuleOutput } from './module.js';
export { freeze, freezeUntil, replaceHead, unfreeze, type FreezeOptions, type FrozenBatchNorm } from './freeze.js';
export { Linear, ReLU, ReLU6, Identity, Flatten, Sequential, rngOf, type LayerInit } from './layers.js';
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
export { weightsToBytes, loadWeightsFromBytes, type LoadWeightsOptions, type SaveWeightsOptions } from './weights.js';
export { nonFiniteWeights, nonFiniteValues, describeNonFinite, type NonFiniteReport } from './finite-weights.js';
export { Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, AvgPool1d, Dropout, type Conv2dLayerOptions } from './conv-layers.js';
export { summary, formatSummary, layerSequence, type ModelSummary, type LayerSummary, type LayerSequence } from './summary.js';
export { forwardWithHidden, type HiddenOutput } from './hidden.js';
export { BatchNorm, BatchNorm2d, BatchNorm1d, type BatchNormLayerOptions } from './batchnorm.js';
export { ResNet, ResNet50V2, MobileNetV2, makeDivisible, zeroPad2d, type BackboneOptions } from './backbones.js';
export {
  readKerasH5,
  loadKerasH5Weights,
  applyKerasH5,
  planKerasLoad,
  kerasTargets,
  isHdf5,
  convKernelToOIHW,
  depthwiseKernelToOIHW,
  denseKernelToLinear,
  KERAS_TO_KDGPU_NAMES,
  type KerasH5File,
  type KerasLayer,
  type KerasWeight,
  type KerasTarget,
  type KerasLoadOptions,
  type LayoutArray,
} from './keras-h5.js';
export { MODELS, buildModel, FeaturesClassifier, type ModelInfo, type ModelOptions } from './models.js';
export { parseModelSpec, buildFromSpec, SPEC_LIMITS, type SpecLimits, type ModelSpec, type LayerSpec, type SpecPadding, type ParsedModelSpec, type BuildOptions } from './model-spec.js';
export { ModelSourceError, type ModelSourceErrorCode } from './model-errors.js';
export {
  META_MODEL,
  META_SPEC,
  modelMetadata,
  builtinModel,
  specModel,
  modelFromMetadata,
  loadInto,
  checkInputs,
  type ModelSource,
  type ModelSourceBuildOptions,
  type WeightsFile,
} from './model-source.js';
export { createOptimizer, defaultLearningRate, OPTIMIZER_NAMES, type OptimizerName, type CreateOptimizerOptions } from './optim-factory.js';
export { FiniteFlag, type FlagState } from './finite-flag.js';
export type { FlagTarget } from '../kernels/optimizer.js';
export type { FlagWhat } from '../kernels/finite-flag.js';
export { trainClassifier, type TrainClassifierOptions, type TrainClassifierResult } from './train-classifier.js';
export { classificationMetrics, rocAuc, argmaxRows, type ClassificationMetrics } from './metrics.js';
export {
  fit,
  evaluate,
  predict,
  checkpointBytes,
  restoreCheckpoint,
  restoreCheckpointAt,
  TrainingDivergedError,
  MAX_QUEUED_STEPS,
  type CheckpointPosition,
  type MidEpochState,
  type EarlyStoppingState,
  crossEntropyLoss,
  logitsOf,
  type FitOptions,
  type FitResult,
  type EpochLog,
  type StepInfo,
  type LossInfo,
  type TrainCallbacks,
  type EarlyStopping,
  type LossFn,
  type EvaluateOptions,
} from './train.js';
