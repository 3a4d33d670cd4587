import type { DidStepBody } from '../protocol/debug';
import { quoteChar } from './expr/format';
import { Commands, TestCommands } from '../host/ids';

/**
 * The parts of the VS Code wiring that need no VS Code: launch configurations from an editor's state, and the
 * places and texts of the editor decoration and inline values. Kept here so that they are unit-tested in plain Node.
 */

export const DEBUG_TYPE = 'gatescope';

/** Command ids the debugger contributes (all ids live in host/ids.ts). */
export const DebugCommands = {
  stepThrough: Commands.stepThrough,
} as const;

/** Commands for tests only: registered when the extension runs in development or tests, never contributed. */
export const DebugTestCommands = {
  /** What the editor shows of the current step: the decorations and the inline values last given to VS Code. */
  editorState: TestCommands.debugEditor,
} as const;

/** A `gatescope` launch configuration, as launch.json holds it. */
export interface GatescopeDebugConfiguration {
  type: typeof DEBUG_TYPE;
  request: 'launch';
  name: string;
  program: string;
  model?: string;
  stopOnEntry?: boolean;
  text?: string;
  startOffset?: number;
  startLine?: number;
  startColumn?: number;
  [key: string]: unknown;
}

/** What the editor shows: the document and, when something is selected, the selection. */
export interface EditorState {
  /** A file path, or a URI string for a document that is not a file (untitled). */
  readonly program: string;
  readonly fileName: string;
  /** Unsaved changes, or no file at all: the adapter must get the text, not read the file. */
  readonly unsaved: boolean;
  readonly text: string;
  readonly selection: { readonly text: string; readonly startOffset: number; readonly startLine: number; readonly startColumn: number } | null;
}

/** The configuration that steps through the selection, or else the whole document. */
export function launchConfigFor(editor: EditorState, model: string): GatescopeDebugConfiguration {
  const base = { type: DEBUG_TYPE, request: 'launch', program: editor.program, model, stopOnEntry: true } as const;
  const sel = editor.selection;
  if (sel && sel.text.length > 0) {
    return {
      ...base, name: `Step through the selection of ${editor.fileName}`,
      text: sel.text, startOffset: sel.startOffset, startLine: sel.startLine, startColumn: sel.startColumn,
    };
  }
  return { ...base, name: `Step through ${editor.fileName}`, ...(editor.unsaved ? { text: editor.text } : {}) };
}

/** The configurations offered in launch.json and in the Run and Debug list. */
export const INITIAL_CONFIGURATION: GatescopeDebugConfiguration = {
  type: DEBUG_TYPE, request: 'launch', name: 'Step through file with LSTM', program: '${file}', stopOnEntry: true,
};

/** "31%", "4.2%", "0.31%", "<0.01%". */
export function percent(p: number): string {
  const x = p * 100;
  if (x >= 10) return `${Math.round(x)}%`;
  if (x >= 1) return `${x.toFixed(1)}%`;
  if (x >= 0.01) return `${x.toFixed(2)}%`;
  return '<0.01%';
}

/** A stretch of one line of a document: 0-based line, UTF-16 columns [start, end). */
export interface LineSpan {
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

/**
 * How the editor shows a step: the current character highlighted, with the readout (inlineValueText) as its hover.
 * Nothing is drawn inside the line, where text would split the word the character is in ("c → 'o' 66%lass"): the
 * readout sits after the end of the line, as VS Code's inline value (see inlineValueSpan).
 */
export interface StepDecoration {
  /** The character just read. */
  readonly current: LineSpan;
  readonly hover: string;
}

export function stepDecoration(body: DidStepBody): StepDecoration {
  return { current: { line: body.line, start: body.column, end: body.endColumn }, hover: inlineValueText(body) };
}

/** The range of line `line`'s inline value: the whole line, as VS Code draws an inline value after its range's end. */
export function inlineValueSpan(line: number, lineText: string): LineSpan {
  return { line, start: 0, end: lineText.length };
}

/** The inline value after the end of the current line: where the run is, what comes next and how surprised the model is. */
export function inlineValueText(body: DidStepBody): string {
  const where = `t=${body.t} ${quoteChar(body.char)}${body.layer !== null ? ` · layer ${body.layer}` : ''}`;
  const next = body.next ? ` · next ${quoteChar(body.next.ch)} p=${percent(body.next.p)} loss ${body.next.loss.toFixed(2)}` : ' · end of the text';
  const top = body.top.slice(0, 3).map((c) => `${quoteChar(c.ch)} ${percent(c.p)}`).join(', ');
  return `${where}${next} · top ${top}${body.diverged ? ' · edited state (Set Value)' : ''}`;
}

/** Paths compare equal across separators and, on Windows, the drive letter's case. */
export function samePath(a: string, b: string): boolean {
  const norm = (p: string): string => p.replace(/\\/g, '/').replace(/^([a-z]):/i, (_, d: string) => `${d.toLowerCase()}:`);
  return norm(a) === norm(b);
}
