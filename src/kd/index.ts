/** Knowledge distillation: losses, teachers and their cache, workflows, sweeps and reports. */
export * from './types.js';
export * from './losses.js';
export { Teacher, asTeacher, type EnsembleCombine } from './teacher.js';
export { TeacherCache, defaultTeacherCache, type CacheLookup } from './cache.js';
export { hashDataset, hashWeights, hashSettings, hashParts, stableJson } from './hash.js';
export { trainModel, distill, distillChain, hardLabelLoss, RunStoppedError, type TrainConfig, type DistillConfig, type HiddenLossConfig, type ChainResult, type OptimizerName } from './workflows.js';
export * from './subclass.js';
export { T_GRID, ALPHA_GRID, expandGrid, validateGrid, runSweep, type Grid, type SweepResult, type SweepOptions } from './sweep.js';
export { runsToJson, runsToCsv, historyToCsv, summarizeBy, type Summary } from './report.js';
export {
  renderSvg,
  metricVsParamSpec,
  plotMetricVsParam,
  trainingCurvesSpec,
  plotTrainingCurves,
  comparisonBarsSpec,
  plotComparisonBars,
  transferCurvesSpec,
  plotTransferCurves,
  RUN_POINTS_LAYER,
  type TestMetric,
  type CurveMetric,
  type MetricVsParamOptions,
  type TrainingCurvesOptions,
  type ComparisonEntry,
} from './plots.js';
export { SubclassCollapse, trainSubclassTeacher, distillSubclasses, type SubclassConfig, type SubclassDistillConfig } from './subclass-workflows.js';
export { sweepDistillation, type DistillSweepOptions } from './distill-sweep.js';
export { hiddenLossConfig, tapShape, type HiddenSetup, type HiddenSetupOptions } from './hidden-config.js';
export * from './transfer-recipe.js';
