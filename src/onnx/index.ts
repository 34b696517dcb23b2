/** The ONNX importer's public API (browser-safe: no Node module is reached from here). */
export { OnnxError, MAX_ELEMENTS } from './errors.js';
export { parseOnnx, SUPPORTED_OPS, OPSET_RANGE, type OnnxGraph, type OnnxNode, type OnnxValueInfo, type AttributeValue, type ParseOnnxOptions } from './graph.js';
export { loadOnnx, OnnxModel, type OnnxModelOptions, type OnnxPreprocess } from './model.js';
export { OnnxBatchNorm, OnnxScope } from './layers.js';
export { bytesDataReader } from './bytes-reader.js';
export type { HostTensor, HostFloatTensor, HostIntTensor, ExternalDataReader } from './tensor-data.js';
export type { GraphPlan, PlannedNode, StrippedActivation } from './plan.js';
