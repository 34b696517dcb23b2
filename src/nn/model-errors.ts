/** Typed errors of model resolution, so callers branch on a code rather than on a message. */

/** What went wrong when resolving or loading a model. */
export type ModelSourceErrorCode =
  /** No built-in model has this name. */
  | 'unknown-model'
  /** A model spec is malformed (the message names the layer and field). */
  | 'bad-spec'
  /** The weights file's metadata names no model (no `kdgpu.model` / `kdgpu.spec`). */
  | 'no-model-in-metadata'
  /** The weights file's `kdgpu.spec` metadata is not valid JSON. */
  | 'bad-metadata'
  /** The weights do not fit the model (a missing parameter, a wrong shape). */
  | 'weights-mismatch'
  /** A dataset's samples or classes do not match the model's input or output. */
  | 'data-mismatch'
  /** A file is missing, not a file, or not in the expected format. */
  | 'bad-file';

/** An error from model resolution or loading; `code` says which, the message says it to a person. */
export class ModelSourceError extends Error {
  /**
   * @param code - What went wrong.
   * @param message - Said to a person (without the "kdgpu: " prefix, which `message` gets).
   */
  constructor(
    readonly code: ModelSourceErrorCode,
    message: string,
  ) {
    super(`kdgpu: ${message}`);
    this.name = 'ModelSourceError';
  }
}
