/**
 * Shared engine types. Dimension legend used in shape comments throughout the engine:
 *   V vocab, E embedding, H hidden, L layers, G gates per cell (LSTM 4, GRU 3, RNN 1, tanh or ReLU),
 *   T time (sequence length), B batch (lanes), P total parameter count.
 */

/**
 * Recurrent cell types, named as PyTorch's modules are (nn.LSTM, nn.GRU, nn.RNN with nonlinearity 'tanh' or
 * 'relu'; PyTorch's own mode names RNN_TANH and RNN_RELU).
 */
export type CellType = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';

export const CELL_TYPES: readonly CellType[] = ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'];

/** The plain (vanilla) RNNs: h_t = act(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh), no gates, no cell state. */
export type PlainRnnCell = 'rnn_tanh' | 'rnn_relu';

/** Gates per cell, in PyTorch's order: LSTM i, f, g, o; GRU r, z, n; RNN a single pre-activation. */
export const GATE_NAMES: Readonly<Record<CellType, readonly string[]>> = {
  lstm: ['i', 'f', 'g', 'o'],
  gru: ['r', 'z', 'n'],
  rnn_tanh: ['a'],
  rnn_relu: ['a'],
};

/** The cells' names as users read them (the ids above are PyTorch's, for files and the command line). */
export const CELL_NAMES: Readonly<Record<CellType, string>> = {
  lstm: 'LSTM',
  gru: 'GRU',
  rnn_tanh: 'RNN (tanh)',
  rnn_relu: 'RNN (ReLU)',
};

export function gateCount(cell: CellType): number {
  return GATE_NAMES[cell].length;
}

/** Whether the cell is a plain RNN: its one block of rows is a pre-activation, not a gate to show. */
export function isPlainRnn(cell: CellType): cell is PlainRnnCell {
  return cell === 'rnn_tanh' || cell === 'rnn_relu';
}

export function isCellType(s: unknown): s is CellType {
  return typeof s === 'string' && (CELL_TYPES as readonly string[]).includes(s);
}

/** The architecture: everything needed to lay out the parameters. */
export interface ModelConfig {
  readonly cell: CellType;
  readonly vocabSize: number; // V
  readonly embed: number;     // E
  readonly hidden: number;    // H
  readonly layers: number;    // L
}

/** Engine buffers are float32 in production and float64 in gradient checks; kernels accept both. */
export type FloatArray = Float32Array | Float64Array;
export type FloatArrayConstructor = Float32ArrayConstructor | Float64ArrayConstructor;

// ---- what crosses the engine's boundaries (worker, host, webview, CLI) ----------------------------------------
// Kept here, in a module that imports nothing, so that src/protocol can name them without pulling in the engine.

/** How gradients are clipped, as PyTorch's torch.nn.utils.clip_grad_norm_ (global) or clip_grad_value_ (element-wise). */
export type ClipMode = 'norm' | 'value';

/** Every hyperparameter of a training run. Sizes of the model live here too so a run can be resumed. */
export interface TrainOptions {
  readonly cell: CellType;
  readonly layers: number;
  readonly hidden: number;
  readonly embed: number;
  readonly seq: number;      // T, truncated-BPTT length
  readonly batch: number;    // B, lanes over the text
  readonly lr: number;
  readonly clip: number;     // 0 disables clipping
  readonly clipMode: ClipMode;
  readonly steps: number;    // total optimisation steps of the run
  readonly valFrac: number;  // fraction of the text (its end) held out for validation
  readonly seed: number;
  /**
   * Workers the run trained on (1 … MAX_WORKERS): its gradients are summed over that many shards of the batch, so
   * a resume needs the same count to continue bit for bit. Recorded in the model file; absent in older files.
   */
  readonly workers?: number;
  /**
   * Steps between two diagnostics steps (per-tensor norms, update ratios, gate saturation: engine/diagnostics.ts);
   * absent: DEFAULT_STATS_EVERY. Only what is logged, not the training, depends on it.
   */
  readonly statsEvery?: number;
  /**
   * Scale of the recurrent weights W_hh at initialisation (U(−s/√H, s/√H); absent: 1, PyTorch's). Recorded so the
   * model says how it started; the `explode` preset raises it.
   */
  readonly initScale?: number;
}

/** One tensor's numbers at a training step (engine/diagnostics.ts). */
export interface TensorStats {
  readonly grad: number;   // ‖∂L/∂θ‖₂ of the tensor before clipping
  readonly weight: number; // ‖θ‖₂ after the update
  readonly update: number; // ‖Δθ‖₂ / ‖θ_before‖₂ of this step
}

/** A training step's diagnostics (every statsEvery steps). */
export interface StepDiagnostics {
  readonly step: number;
  readonly tensors: Readonly<Record<string, TensorStats>>; // by the model file's tensor names (encoder.weight, rnn.weight_ih_l0, …)
  /** Per layer, the share of saturated gate activations over the step's batch (σ < 0.05 or > 0.95, tanh |g| > 0.95); null when not measured (not an LSTM/GRU, or training on several workers). */
  readonly saturation: readonly number[] | null;
}

/**
 * The training history saved with a model (metadata `gatescope.history`): one row per kept stats step, at most
 * MAX_HISTORY_ROWS; when full, every other row is dropped, so the rows stay spread over the whole run.
 * grad[k] and update[k] are those of tensors[k]; update is null where the ratio was not defined (a zero tensor).
 */
export interface TensorHistory {
  readonly tensors: readonly string[];
  /** Smallest step gap between two new rows (doubles at each thinning). */
  readonly gap: number;
  readonly rows: readonly TensorHistoryRow[];
}

export interface TensorHistoryRow {
  readonly step: number;
  readonly loss: number;
  readonly gradNorm: number;
  readonly clipRatio: number;
  readonly grad: readonly number[];            // (K) per-tensor gradient norms before clipping
  readonly update: readonly (number | null)[]; // (K) per-tensor update ratios
}

/** The most rows a TensorHistory keeps. */
export const MAX_HISTORY_ROWS = 512;

/** The most workers a run may name (the command line, the setting, a model file): each is a thread and a gradient copy. */
export const MAX_WORKERS = 64;

export interface SampleOptions {
  readonly prime: string;       // text fed first (it conditions the sample; it is not repeated in the output)
  readonly length: number;      // characters to generate
  readonly temperature: number; // > 0; 1 samples the model's distribution, lower is more conservative
  readonly topK: number;        // 0 = all characters
  readonly greedy: boolean;     // always the most likely character (ignores temperature and topK)
}

/** Facts about a model shown in the UI; all optional, stored as JSON in `gatescope.info`. */
export interface ModelInfo {
  source?: string;
  steps?: number;
  loss?: number;
  valLoss?: number;
  trainedChars?: number;
  created?: string;
  /** Where the training text came from, in order (files, or ranges of a file); `join` rebuilds the text from them. */
  sources?: TrainingSource[];
  join?: TextJoin;
  /** SHA-256 (hex) of the UTF-8 training text, exactly as trained on. */
  textHash?: string;
  /** Set on a comparison model: what it was trained to be compared with. */
  comparisonOf?: ComparisonOf;
}

/** One piece of the training text: a file (URI or path), a UTF-16 range of it (a selection), or its first `bytes`. */
export interface TrainingSource {
  uri: string;
  range?: { start: number; end: number };
  bytes?: number;
}

/**
 * How the pieces were joined into one text: `newline-between` puts "\n" between two pieces (selections),
 * `newline-if-missing` only where the earlier piece does not end with one (CLI files), `newline-after-each` ends
 * every piece with one (workspace files).
 */
export const TEXT_JOINS = ['newline-between', 'newline-if-missing', 'newline-after-each'] as const;
export type TextJoin = (typeof TEXT_JOINS)[number];

/** A comparison model's origin: the model it is compared with and the text it was trained on. */
export interface ComparisonOf {
  /** SHA-256 (hex) of the compared model's file. */
  modelHash: string;
  /** SHA-256 (hex) of the text the comparison trained on. */
  textHash: string;
  /** Whether that text is the compared model's own training text. */
  likeForLike: boolean;
}

/** Languages whose strings and comments the lexer knows; `plain` has neither (every bracket counts). */
export type Lang = 'python' | 'c' | 'js' | 'shell' | 'plain';
export const LANGS: readonly Lang[] = ['python', 'c', 'js', 'shell', 'plain'];

export type FeatureSpec =
  /** characters since the last newline before t (0 for a line's first character) */
  | { readonly kind: 'column' }
  /** length of the line t is on, without its line break (\n or \r\n) */
  | { readonly kind: 'line-length' }
  /** leading spaces and tabs of the line t is on (each counts 1) */
  | { readonly kind: 'indent' }
  /** unclosed (, [, { after reading t, outside strings and comments; never below 0 */
  | { readonly kind: 'depth'; readonly lang: Lang }
  /** 1 inside a string literal (its quotes included), 0 elsewhere */
  | { readonly kind: 'string'; readonly lang: Lang }
  /** 1 inside a comment (its markers included), 0 elsewhere */
  | { readonly kind: 'comment'; readonly lang: Lang }
  /** 1 inside matches of a JavaScript regular expression (flags g, m, u), 0 elsewhere */
  | { readonly kind: 'regex'; readonly source: string }
  /** 1 inside half-open ranges [start, end) of positions */
  | { readonly kind: 'ranges'; readonly ranges: readonly (readonly [number, number])[] };

export type FeatureKind = FeatureSpec['kind'];
export const BUILTIN_FEATURES = ['column', 'line-length', 'indent', 'depth', 'string', 'comment'] as const;

/** What a unit's value is: the LSTM cell state raw or squashed, the hidden state, or a gate by name. */
export type UnitQuantity = 'c' | 'tanh(c)' | 'h' | 'i' | 'f' | 'g' | 'o' | 'r' | 'z' | 'n';

export interface UnitCorrelation {
  readonly layer: number;
  readonly unit: number;
  readonly quantity: UnitQuantity;
  /** Pearson's r between the unit's value and the feature over the text. */
  readonly r: number;
  /** 0/1 features: the unit's mean where the feature is 1, and where it is 0. */
  readonly meanIn?: number;
  readonly meanOut?: number;
}

/** One layer of a trace; every (T, H) array is row-major: value of unit j at time t at t·H + j. */
export interface TraceLayer {
  /** Post-activation gates by name: LSTM i, f, g, o; GRU r, z, n. Empty for the plain RNNs (tanh and ReLU). */
  readonly gates: Readonly<Record<string, Float32Array>>; // each (T, H)
  readonly c: Float32Array | null; // (T, H) LSTM cell state
  readonly h: Float32Array;        // (T, H)
  readonly gradH: Float32Array;    // (T) ‖∂loss/∂h_t‖₂
  readonly gradC: Float32Array | null; // (T) ‖∂loss/∂c_t‖₂, LSTM
}

/**
 * What a trace keeps of the next-character distribution at each position t (it predicts character t + 1):
 * the k most likely tokens, the probability of the one that came, the entropy (engine/predictions.ts).
 */
export interface TracePredictions {
  readonly k: number;              // kept per position: min(top-k asked, V)
  readonly topIds: Int32Array;     // (T, k) token ids, most likely first
  readonly topProbs: Float32Array; // (T, k) their probabilities
  readonly pNext: Float32Array;    // (T) p(x_{t+1} | x_0..x_t) of the character that came; NaN at the last position
  readonly entropy: Float32Array;  // (T) −Σ_v p_v·ln p_v, nats
}

/** Everything the inspector, the debugger and `gatescope trace` show about one text. */
export interface Trace {
  readonly tokens: Int32Array;  // (T)
  /** Mean cross-entropy of the T − 1 next-character predictions (the last position has no target). */
  readonly loss: number;
  readonly predictions: TracePredictions;
  /** (T, V) the whole next-character distribution at every position: only when asked for (`--full-probs`). */
  readonly probs: Float32Array | null;
  readonly layers: readonly TraceLayer[];
  /** ∂loss/∂θ per tensor in the model file's layout, when asked for. */
  readonly paramGrads: ReadonlyMap<string, Float32Array> | null;
}
