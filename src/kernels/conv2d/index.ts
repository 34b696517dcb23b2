/** 2-D convolution kernels: what the ops, tests and benchmarks use. */
export { convFlops, convTiles, groupedConvFlops, groupedConvTiles, type ConvEpilogue, type ConvGeometry, type ConvTiles, type GroupedConvGeometry, type GroupedConvTiles } from './geometry.js';
export { runConv2d, runConv2dGradInput } from './dense.js';
export { runGroupedConv2d, runGroupedConv2dGradInput } from './grouped.js';
export { runConv2dGradWeight } from './weight-grad.js';
export { runGroupedConv2dGradWeight } from './grouped-weight-grad.js';
export { MAX_COLS_BYTES, planWeightGemm, runConv2dGradWeightGemm, type WeightGemmPlan } from './weight-gemm.js';
export { runConv2dGradBias } from './bias-grad.js';
export { convCandidates, convPlanKey, forwardTile, planConvTiles, weightTile, type ConvPass, type ConvPlanKey } from './plan.js';
