/**
 * `--dataset`: a known name (fashion-mnist, mnist, cifar10), a folder holding MNIST-layout IDX
 * files or CIFAR-10 binary batches, or `images:annotations.csv` — an image folder (PNG/JPEG
 * files and a CSV of file, label, partition; see data/image-folder.ts) with --image-size and
 * --channels (options.ts: imageFolderOptions). Resolution and loading happen on the CPU, before
 * the GPU starts, so a wrong path fails fast.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fashionMnistDataset, fromImageSet, loadCifar10, loadImageFolder, loadMnistLike, take, type ArrayDataset, type Partition } from '../index.js';
import { CliError } from './output.js';

export type Split = 'train' | 'test';

export interface DatasetSource {
  name: string;
  classNames: string[];
  load(split: Split): ArrayDataset;
  /** The dataset's own validation partition, where it has one (image folders). */
  validation?(): ArrayDataset;
}

/** `--dataset images:<csv>` options (see imageFolderOptions in options.ts). */
export interface ImageDataOptions {
  imageSize?: [number, number];
  channels?: string | number;
  convertChannels?: boolean;
  strict?: boolean;
}

export const IMAGE_PREFIX = 'images:';

export const DATASET_NAMES = ['fashion-mnist', 'mnist', 'cifar10'] as const;

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** The package root (this file is src/cli/ or dist/cli/). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = (name: string) => join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kdgpu', name);

function mnistDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.KDGPU_MNIST) dirs.push(process.env.KDGPU_MNIST);
  dirs.push('/usr/share/datasets/mnist', cache('mnist'));
  return dirs;
}

const IDX_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
const hasIdx = (dir: string) => IDX_FILES.some((f) => existsSync(join(dir, f)) || existsSync(join(dir, `${f}.gz`)));
const hasCifar = (dir: string) => existsSync(join(dir, 'test_batch.bin')) || existsSync(join(dir, 'data_batch_1.bin'));

function cifarDir(dirs: string[]): string | undefined {
  for (const d of dirs) {
    if (hasCifar(d)) return d;
    if (hasCifar(join(d, 'cifar-10-batches-bin'))) return join(d, 'cifar-10-batches-bin');
  }
  return undefined;
}

function idxFolder(name: string, dirs: string[], classNames: string[], hint: string): DatasetSource {
  return { name, classNames, load: (split) => fromImageSet(loadMnistLike(split, dirs, name, hint)) };
}

/** An image folder, decoded now (skipped files are reported on stderr). */
function imageFolderSource(csv: string, o: ImageDataOptions): DatasetSource {
  if (csv === '') throw new CliError(`--dataset ${IMAGE_PREFIX} needs the annotations CSV, e.g. --dataset ${IMAGE_PREFIX}data/annotations.csv`);
  if (!existsSync(csv)) throw new CliError(`the annotations file ${csv} (--dataset ${IMAGE_PREFIX}${csv}) does not exist`);
  const channels = Number(o.channels);
  if (!o.imageSize || (channels !== 1 && channels !== 3)) {
    throw new CliError(`--dataset ${IMAGE_PREFIX}${csv} needs --image-size and --channels (the model's input, e.g. --image-size 28 --channels 1)`);
  }
  let folder;
  try {
    folder = loadImageFolder(csv, { size: o.imageSize, channels, convert: o.convertChannels ?? false, strict: o.strict ?? false });
  } catch (e) {
    throw new CliError((e as Error).message.replace(/^kdgpu: /, ''));
  }
  const part = (p: Partition): ArrayDataset => {
    const d = folder[p];
    if (d.count === 0) throw new CliError(`${csv} has no usable images in the '${p}' partition`);
    return d;
  };
  return { name: csv, classNames: folder.classNames, load: (split) => part(split), validation: () => part('validation') };
}

export function resolveDataset(arg: string, image: ImageDataOptions = {}): DatasetSource {
  if (arg.startsWith(IMAGE_PREFIX)) return imageFolderSource(arg.slice(IMAGE_PREFIX.length), image);
  if (arg === 'fashion-mnist') return { name: arg, classNames: FASHION_CLASSES, load: (split) => fashionMnistDataset(split) };
  if (arg === 'mnist') {
    const hint = 'Put the IDX files (train-images-idx3-ubyte.gz, …) in one of those folders or set KDGPU_MNIST; machines without the MNIST training files can use --dataset fashion-mnist.';
    return idxFolder('MNIST', mnistDirs(), DIGITS, hint);
  }
  if (arg === 'cifar10') {
    const dirs = [process.env.KDGPU_CIFAR10, cache('cifar-10-batches-bin'), cache('cifar10')].filter((d): d is string => Boolean(d));
    const dir = cifarDir(dirs);
    if (!dir) throw new CliError(`CIFAR-10 not found; looked in ${dirs.join(', ')} (set KDGPU_CIFAR10 to the folder with data_batch_1.bin … test_batch.bin)`);
    return { name: 'CIFAR-10', classNames: CIFAR_CLASSES, load: (split) => loadCifar10(split, dir) };
  }
  if (!existsSync(arg)) throw new CliError(`dataset '${arg}' is neither one of ${DATASET_NAMES.join(', ')} nor an existing folder`);
  if (!statSync(arg).isDirectory()) throw new CliError(`dataset path ${arg} is not a folder (expected a folder of IDX files or CIFAR-10 .bin batches)`);
  const cifar = cifarDir([arg]);
  if (cifar) return { name: arg, classNames: CIFAR_CLASSES, load: (split) => loadCifar10(split, cifar) };
  if (hasIdx(arg)) return idxFolder(arg, [arg], DIGITS, `The folder needs ${IDX_FILES.join(', ')} (optionally .gz).`);
  throw new CliError(`dataset folder ${arg} has neither MNIST-layout IDX files (${IDX_FILES[0]}[.gz], …) nor CIFAR-10 batches (data_batch_1.bin, test_batch.bin)`);
}

/** The source's own validation set (an image folder's 'validation' partition), if it has a non-empty one. */
export function ownValidation(src: DatasetSource): ArrayDataset | undefined {
  if (!src.validation) return undefined;
  try {
    return src.validation();
  } catch {
    return undefined;
  }
}

/** The first `size` samples (all when undefined); `option` names the flag in errors. */
export function firstN(d: ArrayDataset, size: number | undefined, option: string, what: string): ArrayDataset {
  if (size === undefined || size === d.count) return d;
  if (size > d.count) throw new CliError(`${option} ${size} is more than the ${d.count} samples of the ${what}`);
  return take(d, 0, size);
}

/** Loads a split, turning the library's error into a CLI one (keeping its install hint). */
export function loadSplit(src: DatasetSource, split: Split): ArrayDataset {
  try {
    return src.load(split);
  } catch (e) {
    throw new CliError((e as Error).message.replace(/^kdgpu: /, ''));
  }
}
