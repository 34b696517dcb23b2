/** Node entry point: Dawn (the `webgpu` package), with SwiftShader as the fallback adapter. */
import { setDeviceFactory } from './gpu/context.js';
import { createNodeDevice } from './gpu/node.js';

setDeviceFactory((opts) => createNodeDevice({ adapter: opts.adapter }));

export * from './core.js';
export { createNodeDevice, SWIFTSHADER_ICD_PATHS } from './gpu/node.js';
export { readIdxFile, loadCifar10, fashionMnistDataset, loadFashionMnist, loadMnistLike, fashionMnistDirs, FASHION_MNIST_DEBIAN_DIR } from './data/node-files.js';
export { saveWeights, loadWeights } from './nn/node-weights.js';
export { svgToPng, writeSweepOutputs, type SvgToPngOptions, type WriteSweepOptions } from './kd/node-report.js';
export { ProgressBar } from './nn/progress.js';
