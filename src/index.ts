/** Node entry point: Dawn (the `webgpu` package), with SwiftShader as the fallback adapter. */
import { setDeviceFactory } from './gpu/context.js';
import { createNodeDevice, profileFromEnv } from './gpu/node.js';

setDeviceFactory(async (opts) => {
  const profile = profileFromEnv(); // a bad value fails before a device is made
  return { ...(await createNodeDevice({ adapter: opts.adapter })), profile };
});

export * from './core.js';
export { createNodeDevice, profileFromEnv, SWIFTSHADER_ICD_PATHS } from './gpu/node.js';
export { readIdxFile, loadCifar10, fashionMnistDataset, loadFashionMnist, loadMnistLike, fashionMnistDirs, FASHION_MNIST_DEBIAN_DIR } from './data/node-files.js';
export { saveWeights, loadWeights } from './nn/node-weights.js';
export { loadKerasH5File, readKerasH5File } from './nn/node-keras-h5.js';
export { loadImageFolder, decodePngWithPngjs, type NodeImageFolderOptions } from './data/node-image-folder.js';
export { svgToPng, writeSweepOutputs, type SvgToPngOptions, type WriteSweepOptions } from './kd/node-report.js';
export { ProgressBar } from './nn/progress.js';
