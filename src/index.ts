/** Node entry point: Dawn (the `webgpu` package), with SwiftShader as the fallback adapter. */
import { setDeviceFactory } from './gpu/context.js';
import { createNodeDevice, profileFromEnv } from './gpu/node.js';

setDeviceFactory(async (opts) => {
  const profile = profileFromEnv(); // a bad value fails before a device is made
  return { ...(await createNodeDevice({ adapter: opts.adapter })), profile };
});

export * from './core.js';
export { createNodeDevice, profileFromEnv, SWIFTSHADER_ICD_PATHS, type NodeDeviceOptions } from './gpu/node.js';
export { readIdxFile, loadCifar10, fashionMnistDataset, loadFashionMnist, loadMnistLike, fashionMnistDirs, FASHION_MNIST_DEBIAN_DIR } from './data/node-files.js';
export { saveWeights, loadWeights } from './nn/node-weights.js';
export { writeFileAtomic } from './data/node-atomic-write.js';
export { loadKerasH5File, readKerasH5File } from './nn/node-keras-h5.js';
export { readModelSpecFile, readSafetensorsFile, readWeightsFile } from './nn/node-model-files.js';
export { loadOnnxFile, readOnnxFile, folderDataReader, onnxModelSource, isOnnxFile } from './onnx/node-onnx.js';
export { loadImageFolder, decodePngWithPngjs, type NodeImageFolderOptions } from './data/node-image-folder.js';
// Image folders live in the Node entry: jpeg-js and csv-parse carry Buffer code paths (unused
// with our options) that the browser bundle check rejects; the decoding itself is browser-safe.
export {
  buildImageFolder,
  decodeImage,
  imageFormat,
  imageToPlanes,
  resizeBilinear,
  PARTITIONS,
  DEFAULT_PARTITION_NAMES,
  DEFAULT_COLUMNS,
  type ImageFolder,
  type ImageFolderOptions,
  type SkippedFile,
  type SkipKind,
  type Partition,
  type PngPixels,
  type PngDecoder,
  type DecodedImage,
  type FileReader,
} from './data/image-folder.js';

export { svgToPng, writeSweepOutputs, type SvgToPngOptions, type WriteSweepOptions } from './kd/node-report.js';
export { ProgressBar, type ProgressOptions, type ProgressStream } from './nn/progress.js';
