/**
 * The third boundary's own messages: custom DAP events the Gatescope debug adapter (src/debug/session.ts) sends,
 * for the extension (editor decoration, inline values) and the inspector (which follows the debugger's t). The
 * rest of that boundary is the Debug Adapter Protocol itself. Receive them with
 * `vscode.debug.onDidReceiveDebugSessionCustomEvent` and check `event === DID_STEP_EVENT`.
 */

/** Sent after every stop, and after Set Value changes the state: where the sequence is and what it predicts. */
export const DID_STEP_EVENT = 'gatescope.didStep';

export interface DidStepBody {
  /** The document (path or URI string) the text belongs to. */
  readonly program: string;
  /** The model file. */
  readonly model: string;
  /** The program counter: the character just read (0-based token index), and the text's length in tokens. */
  readonly t: number;
  readonly length: number;
  /** The layer in focus after Step Into (0-based), or null at the timestep level. */
  readonly layer: number | null;
  /** The character at t and its place in the document: 0-based line, UTF-16 columns [column, endColumn), UTF-16 offset. */
  readonly char: string;
  readonly line: number;
  readonly column: number;
  readonly endColumn: number;
  readonly offset: number;
  /** The five likeliest next characters. */
  readonly top: readonly { readonly ch: string; readonly p: number }[];
  /** The actual next character, its probability and loss (−ln p); null at the last character. */
  readonly next: { readonly ch: string; readonly p: number; readonly loss: number } | null;
  /** True when an intervention (Set Value) at or before t makes this state differ from the plain run. */
  readonly diverged: boolean;
  /** When diverged, the state at t for views that show it (the inspector); null otherwise, which keeps the event small. */
  readonly state: DidStepState | null;
  /** Why the sequence stopped: 'entry', 'step', 'breakpoint', … or 'setValue'. */
  readonly reason: string;
}

/** The debugger's state at t, interventions included: what a plain trace of the text cannot show. H units, L layers. */
export interface DidStepState {
  /**
   * Per layer, 0-based (L): h and c (LSTM; null otherwise) after step t with its interventions, the gates of step t by
   * name (LSTM i f g o, GRU r z n, none for a plain RNN), and h and c after step t − 1, which step t read (zeros at
   * t = 0). Each (H).
   */
  readonly layers: readonly {
    readonly h: readonly number[];
    readonly c: readonly number[] | null;
    readonly gates: Readonly<Record<string, readonly number[]>>;
    readonly hPrev: readonly number[];
    readonly cPrev: readonly number[] | null;
  }[];
  /** The probability step t − 1 gave the character at t (null at t = 0). */
  readonly pChar: number | null;
  /** The interventions at or before t in time order, each with the UTF-16 document offset of its character. */
  readonly edits: readonly {
    readonly t: number; readonly offset: number; readonly layer: number; readonly state: 'h' | 'c'; readonly unit: number; readonly value: number;
  }[];
}
