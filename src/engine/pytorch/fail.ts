/**
 * The errors the torch.save reader raises: every one a GatescopeError with code 'bad-model-file' whose message is one
 * sentence saying what is wrong with the file and what to do.
 */
import { GatescopeError } from '../errors';

/** How to write a file this reader accepts, quoted by the messages. */
export const SAVE_WEIGHTS = 'torch.save(model.state_dict(), PATH)';

export function badFile(message: string): GatescopeError {
  return new GatescopeError(message, 'bad-model-file');
}

/** A file that breaks the format's own rules: truncated, bit-flipped or written by a broken tool. */
export function damaged(what: string): GatescopeError {
  return badFile(`This PyTorch file is damaged or truncated (${what}); copy it again, or save it again with ${SAVE_WEIGHTS}.`);
}

/** Quotes text from the file for a message, shortened, with control characters escaped by JSON. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
