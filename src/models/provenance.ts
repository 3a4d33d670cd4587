import { createHash } from 'node:crypto';
import type { ComparisonOf, ModelInfo, TextJoin, TrainingSource } from '../engine/modelfile';
import { checkTextLength } from '../engine/text';
import type { CellType } from '../engine/types';

/**
 * What a model was trained on, and the comparison models kept beside it. No vscode: the extension host and the
 * CLI share it, and file reading is injected, so every rule here is unit-tested in Node. The engine never hashes
 * (it imports no Node); the host records the hash when it starts a run.
 */

/** SHA-256 (hex) of a text's UTF-8 bytes, or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * SHA-256 (hex) of a text's UTF-8 bytes (or of bytes), hashed in slices with a yield to the event loop between
 * them, so that a workspace's worth of text does not hold up the extension host. Slices never split a surrogate pair.
 */
export async function sha256HexYielding(data: string | Uint8Array, slice = 1 << 20): Promise<string> {
  const h = createHash('sha256');
  for (let i = 0; i < data.length;) {
    let end = Math.min(data.length, i + slice);
    if (typeof data === 'string') {
      if (end < data.length && (data.charCodeAt(end - 1) & 0xfc00) === 0xd800) end++;
      h.update(data.slice(i, end));
    } else {
      h.update(data.subarray(i, end));
    }
    i = end;
    if (i < data.length) await new Promise((r) => setImmediate(r));
  }
  return h.digest('hex');
}

/** Joins the pieces of a training text as `join` says (see TextJoin). */
export function joinPieces(pieces: readonly string[], join: TextJoin): string {
  // at most a newline after each piece: refuse before building a string longer than any can be
  checkTextLength(pieces.reduce((n, p) => n + p.length + 1, 0), `the text joined from ${pieces.length} pieces`);
  switch (join) {
    case 'newline-between':
      return pieces.join('\n');
    case 'newline-if-missing':
      return pieces.reduce((acc, t) => (acc === '' ? t : acc.endsWith('\n') ? acc + t : acc + '\n' + t), '');
    case 'newline-after-each':
      return pieces.map((p) => (p.endsWith('\n') ? p : p + '\n')).join('');
  }
}

/** What a run records about its text in the model's `gatescope.info`. */
export interface Provenance {
  readonly sources: TrainingSource[];
  readonly join: TextJoin;
  readonly textHash: string;
}

export async function provenanceOf(text: string, sources: TrainingSource[], join: TextJoin): Promise<Provenance> {
  return { sources, join, textHash: await sha256HexYielding(text) };
}

/**
 * What a resumed run records: the model's own record when the text is the one it was trained on; the new text's
 * (with a warning that says so) when it is another; the new text's when the model recorded none.
 */
export function resumeProvenance(old: ModelInfo, fresh: Provenance, name: (uri: string) => string): { provenance: Provenance; warning: string | null } {
  if (!old.textHash || !old.sources || !old.join) return { provenance: fresh, warning: null };
  if (old.textHash === fresh.textHash) return { provenance: { sources: old.sources, join: old.join, textHash: old.textHash }, warning: null };
  return {
    provenance: fresh,
    warning: `resuming on another text than the model was trained on (${describeSources(old.sources, name)}; the SHA-256 of the text differs): ` +
      `the model now records ${describeSources(fresh.sources, name)} as its training text, so "Compare with RNN" trains its comparison on that text alone`,
  };
}

/** "sample.txt", "sample.txt (selection)", "3 files (a.py, b.py, c.py)", "12 files (a.py, b.py, c.py, …)". */
export function describeSources(sources: readonly TrainingSource[], name: (uri: string) => string): string {
  const files = [...new Set(sources.map((s) => s.uri))];
  const ranges = sources.filter((s) => s.range).length;
  if (files.length === 1) {
    const what = ranges === 1 ? ' (selection)' : ranges > 1 ? ` (${ranges} selections)` : sources[0]!.bytes !== undefined ? ' (its beginning)' : '';
    return `${name(files[0]!)}${what}`;
  }
  const shown = files.slice(0, 3).map(name).join(', ');
  return `${files.length} files (${shown}${files.length > 3 ? ', …' : ''})`;
}

/**
 * A recorded source's location as a URI string. The extension records URIs; the CLI records paths relative to
 * the model file's folder (so a repository's models find their texts on any machine), or absolute ones.
 */
export function resolveSourceRef(ref: string, modelUri: string): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(ref) && !/^[a-z]:[\\/]/i.test(ref)) return ref;
  const posix = ref.replace(/\\/g, '/');
  const encode = (p: string): string => p.split('/').map((s) => (s === '..' || s === '.' ? s : encodeURIComponent(s))).join('/');
  if (/^[a-z]:\//i.test(posix)) return `file:///${posix[0]!.toLowerCase()}%3A${encode(posix.slice(2))}`;
  if (posix.startsWith('/')) return `file://${encode(posix)}`;
  return new URL(encode(posix), modelUri).toString();
}

/** The training text rebuilt and verified, or why it could not be (for the message that asks the user for it). */
export type TextResolution =
  | { readonly ok: true; readonly text: string; readonly sources: string }
  | { readonly ok: false; readonly reason: 'unrecorded' | 'missing' | 'changed'; readonly message: string };

/**
 * Rebuilds a model's training text from its recorded sources and checks it against the recorded hash.
 * `read(uri, bytes)` returns a file's decoded text (its first `bytes` bytes when given) and throws when the
 * file cannot be read; `name` shortens a URI for messages.
 */
export async function resolveTrainingText(info: ModelInfo, modelUri: string,
  read: (uri: string, bytes: number | undefined) => Promise<string>, name: (uri: string) => string): Promise<TextResolution> {
  const { sources, join, textHash } = info;
  if (!sources?.length || !join || !textHash) {
    return { ok: false, reason: 'unrecorded', message: 'The model does not record what it was trained on (it was trained elsewhere, e.g. in PyTorch, or by an older Gatescope).' };
  }
  const what = describeSources(sources, (u) => name(resolveSourceRef(u, modelUri)));
  const files = new Map<string, string>();
  const pieces: string[] = [];
  for (const s of sources) {
    const uri = resolveSourceRef(s.uri, modelUri);
    const key = `${uri}\u0000${s.bytes ?? ''}`;
    let text = files.get(key);
    if (text === undefined) {
      try {
        text = await read(uri, s.bytes);
      } catch (e) {
        return { ok: false, reason: 'missing', message: `The model was trained on ${what}, but ${name(uri)} cannot be read (${(e as Error).message}): it moved or was deleted.` };
      }
      files.set(key, text);
    }
    if (s.range && s.range.end > text.length) {
      return { ok: false, reason: 'changed', message: `The model was trained on ${what}, which changed since (it is shorter now).` };
    }
    pieces.push(s.range ? text.slice(s.range.start, s.range.end) : text);
  }
  const text = joinPieces(pieces, join);
  if (await sha256HexYielding(text) !== textHash) {
    return { ok: false, reason: 'changed', message: `The model was trained on ${what}, which changed since (the SHA-256 of the text differs).` };
  }
  return { ok: true, text, sources: what };
}

// ---- comparison models kept beside a model ---------------------------------------------------------------------

const COMPARISON = /\.compare-(lstm|gru|rnn_tanh)\.safetensors$/;

/** The kept comparison of `model` (a file name, path or URI) with a `cell` network: `<stem>.compare-<cell>.safetensors`. */
export function comparisonName(model: string, cell: CellType): string {
  return `${model.replace(/\.safetensors$/, '')}.compare-${cell}.safetensors`;
}

/** The model a comparison file belongs to and its cell, or null when the name is not a comparison's. */
export function comparedModel(name: string): { model: string; cell: CellType } | null {
  const m = COMPARISON.exec(name);
  return m ? { model: `${name.slice(0, m.index)}.safetensors`, cell: m[1] as CellType } : null;
}

/** What a comparison must be to stand for the model now. */
export interface ComparisonWanted {
  readonly cell: CellType;
  readonly modelHash: string;
  readonly vocab: readonly string[];
  /** The model's recorded training-text hash; null when it records none (the kept comparison then says what it was trained on). */
  readonly textHash: string | null;
}

/** A kept comparison's facts, from its file. */
export interface ComparisonKept {
  readonly cell: CellType;
  readonly vocab: readonly string[];
  readonly info: ModelInfo;
}

/** Why a kept comparison cannot be reused (null when it can): the model or its text changed, or it is another kind. */
export function keptComparisonMismatch(kept: ComparisonKept, want: ComparisonWanted): string | null {
  const of: ComparisonOf | undefined = kept.info.comparisonOf;
  if (!of) return 'it does not say what it is a comparison of';
  if (kept.cell !== want.cell) return `it is a ${kept.cell}, not a ${want.cell}`;
  if (of.modelHash !== want.modelHash) return 'the model changed since it was trained';
  if (want.textHash !== null && of.textHash !== want.textHash) return 'it was not trained on the model\'s training text';
  return vocabularyDifference(want.vocab, kept.vocab, 'it');
}

/** One line saying how another model's vocabulary differs from the model's; null when they are the same. */
export function vocabularyDifference(model: readonly string[], other: readonly string[], otherName: string): string | null {
  if (model.length === other.length && model.every((c, i) => c === other[i])) return null;
  const mine = new Set(model), theirs = new Set(other);
  const only = (a: readonly string[], b: Set<string>): string => a.filter((c) => !b.has(c)).slice(0, 5).map((c) => JSON.stringify(c)).join(' ');
  const missing = only(model, theirs), extra = only(other, mine);
  const diff = [missing && `lacks ${missing}`, extra && `has ${extra}`].filter(Boolean).join(', ');
  return `${otherName} has another vocabulary than the model (${other.length} characters against ${model.length}${diff ? `; it ${diff}` : ', in another order'}), ` +
    'so its gradients are not of the same predictions';
}
