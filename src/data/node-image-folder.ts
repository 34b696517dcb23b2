/** Node-only: reads an image folder's CSV and image files from disk and decodes PNGs with pngjs. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { buildImageFolder, type ImageFolder, type ImageFolderOptions, type PngPixels } from './image-folder.js';

/** Options of `loadImageFolder`: those of `buildImageFolder` (PNG decoding defaults to pngjs), plus the image root. */
export interface NodeImageFolderOptions extends ImageFolderOptions {
  /** Folder that relative file names in the CSV start from. Default: the CSV's folder. */
  root?: string;
}

/** pngjs's decoder, unscaled samples (16-bit PNGs keep their precision). */
export function decodePngWithPngjs(bytes: Uint8Array): PngPixels {
  return PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
}

/**
 * The image folder whose annotations are the CSV at `csvPath` (see image-folder.ts for the
 * columns, the pixel pipeline and how bad files are handled).
 */
export function loadImageFolder(csvPath: string, opts: NodeImageFolderOptions): ImageFolder {
  if (!existsSync(csvPath)) throw new Error(`kdgpu: image folder: the annotations file ${csvPath} does not exist`);
  if (!statSync(csvPath).isFile()) throw new Error(`kdgpu: image folder: the annotations path ${csvPath} is not a file (expected a CSV)`);
  const root = opts.root ?? dirname(csvPath);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`kdgpu: image folder: the image root ${root} is not a folder`);
  const read = (file: string): Uint8Array | undefined => {
    const path = isAbsolute(file) ? file : resolve(root, file);
    if (!existsSync(path)) return undefined;
    if (!statSync(path).isFile()) throw new Error(`${path} is not a file`);
    return new Uint8Array(readFileSync(path));
  };
  return buildImageFolder(readFileSync(csvPath), csvPath, read, { ...opts, decodePng: opts.decodePng ?? decodePngWithPngjs });
}
