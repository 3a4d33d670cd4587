/**
 * The gradient reach as it crosses worker → host → webview (src/engine/reach.ts computes it). Arrays are typed
 * arrays indexed by k = steps back from the prediction's position T (timestep T − k).
 * Dimension legend: K steps back, L layers, N positions.
 */

/** The loss of one prediction, L_T = −log p(x_{T+1} | x_0..x_T), backpropagated K steps. */
export interface PredictionReach {
  readonly at: number;            // T
  readonly maxK: number;          // K (at most T)
  readonly loss: number;          // L_T in nats
  readonly target: number;        // x_{T+1}
  readonly layers: readonly { readonly gradH: Float64Array; readonly gradC: Float64Array | null }[]; // each (K+1) ‖∂L_T/∂h_{T−k}‖, ‖∂L_T/∂c_{T−k}‖
  readonly saliency: Float64Array; // (K+1) ‖∂L_T/∂e_{T−k}‖
}

/** A curve over k summarised over N predictions spread over the text: each normalised by its value at k = 0. */
export interface ReachBand {
  readonly median: Float64Array; // (K+1)
  readonly q10: Float64Array;    // (K+1)
  readonly q90: Float64Array;    // (K+1)
}

export interface ReachSummaryData {
  readonly positions: number;     // N
  readonly maxK: number;          // K
  readonly layers: readonly { readonly gradH: ReachBand; readonly gradC: ReachBand | null }[];
  /** Per layer, the smallest k where the median of h's curve falls below `threshold`; null: not within K. */
  readonly horizon: readonly (number | null)[];
  readonly horizonC: readonly (number | null)[] | null;
  readonly threshold: number;
}

/** The factor each step back multiplies the gradient by (see stepFactors in src/engine/reach.ts). */
export interface StepFactorData {
  readonly layer: number;
  /** 'f' LSTM forget gate (mean over units), 'z' GRU update gate (mean), 'sigma' RNN ‖diag(1 − h²)·W_hh‖₂ (ReLU: ‖diag(h > 0)·W_hh‖₂). */
  readonly kind: 'f' | 'z' | 'sigma';
  readonly factor: Float64Array;  // (K+1)
  readonly product: Float64Array; // (K+1) the product over the steps T − k + 1..T (1 at k = 0): gated cells the largest over units
}

/** One model's reach at one position of its kept trace. What cannot be computed says why instead. */
export interface ReachData {
  readonly cell: string;
  readonly prediction: PredictionReach | null;
  /** Why there is no prediction (the last character has nothing to predict). */
  readonly predictionNote: string | null;
  readonly summary: ReachSummaryData | null;
  /** Why the summary is missing or shorter than asked (a text shorter than K). */
  readonly summaryNote: string | null;
  readonly factors: StepFactorData | null;
}

/** The host's reply to the webview's `reach` request: the model's, and the comparison model's when there is one. */
export interface ReachView {
  readonly at: number;
  readonly model: ReachData;
  readonly compare: ReachData | null;
  readonly compareLabel: string | null;
  /** Why the comparison has no reach (another vocabulary, …). */
  readonly compareNote: string | null;
}
