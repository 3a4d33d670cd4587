/**
 * Errors the engine raises for bad input. `GatescopeError` is a user error: its message is one clear,
 * actionable sentence meant to be shown as is (the CLI prints it and exits 1; the extension shows it).
 * Anything else that escapes the engine is an internal error (CLI exit 2).
 */
export class GatescopeError extends Error {
  constructor(message: string, readonly code: GatescopeErrorCode = 'invalid-input') {
    super(message);
    this.name = 'GatescopeError';
  }
}

/** Machine-readable category of a user error, for callers that react differently (e.g. offer to convert). */
export type GatescopeErrorCode =
  | 'invalid-input'      // a bad argument or hyperparameter
  | 'not-text'           // empty, binary or not UTF-8
  | 'too-short'          // fewer characters than a training chunk needs
  | 'unknown-chars'      // characters outside the model's vocabulary
  | 'bad-model-file'     // a truncated, corrupt or foreign safetensors file
  | 'needs-vocabulary'   // a model from elsewhere without its vocabulary (ask for one)
  | 'choose-module'      // a model from elsewhere with several recurrent modules (ask which)
  | 'non-finite'         // NaN or Inf in a loss, gradient or parameter
  | 'too-large'          // more than a memory budget or a format can hold
  | 'cancelled';         // the caller asked to stop

export function isGatescopeError(e: unknown): e is GatescopeError {
  return e instanceof GatescopeError;
}
