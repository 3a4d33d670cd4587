import { GatescopeError } from './errors';
import { defaultKernels, type Kernels } from './kernels';
import { layerInputSize, paramLayout, type ParamLayout } from './layout';
import type { Rng } from './rng';
import { CELL_TYPES, gateCount, isCellType, type FloatArray, type FloatArrayConstructor, type ModelConfig } from './types';

/** Named views into one flat buffer (parameters or gradients), created once. */
export interface LayerViews {
  readonly wih: FloatArray; // (G·H, in)
  readonly whh: FloatArray; // (G·H, H)
  readonly bih: FloatArray; // (G·H)
  readonly bhh: FloatArray; // (G·H)
}

export interface ParamViews {
  readonly encoder: FloatArray;  // (V, E)
  readonly layers: readonly LayerViews[];
  readonly decoderW: FloatArray; // (V, H)
  readonly decoderB: FloatArray; // (V)
}

export function viewsOf(layout: ParamLayout, cfg: ModelConfig, flat: FloatArray): ParamViews {
  const view = (name: string): FloatArray => {
    const t = layout.byName.get(name)!;
    return flat.subarray(t.offset, t.offset + t.size);
  };
  const layers: LayerViews[] = [];
  for (let k = 0; k < cfg.layers; k++) {
    layers.push({
      wih: view(`rnn.weight_ih_l${k}`),
      whh: view(`rnn.weight_hh_l${k}`),
      bih: view(`rnn.bias_ih_l${k}`),
      bhh: view(`rnn.bias_hh_l${k}`),
    });
  }
  return { encoder: view('encoder.weight'), layers, decoderW: view('decoder.weight'), decoderB: view('decoder.bias') };
}

/** Largest sizes accepted, so that a typo cannot ask for terabytes. */
export const LIMITS = { vocab: 1 << 20, embed: 8192, hidden: 8192, layers: 16 } as const;

export function validateConfig(cfg: ModelConfig): void {
  if (!isCellType(cfg.cell)) {
    throw new GatescopeError(`unknown cell type ${JSON.stringify(cfg.cell)}: use ${CELL_TYPES.slice(0, -1).join(', ')} or ${CELL_TYPES[CELL_TYPES.length - 1]}`);
  }
  const check = (name: string, v: number, max: number): void => {
    if (!Number.isInteger(v) || v < 1 || v > max) {
      throw new GatescopeError(`${name} must be a whole number from 1 to ${max}, not ${v}`);
    }
  };
  check('vocabulary size', cfg.vocabSize, LIMITS.vocab);
  check('embedding size', cfg.embed, LIMITS.embed);
  check('hidden size', cfg.hidden, LIMITS.hidden);
  check('number of layers', cfg.layers, LIMITS.layers);
}

/**
 * A character-level language model: embedding → L recurrent layers → linear decoder → softmax.
 * Owns the flat parameter and gradient buffers; the computations over sequences live in Unroll (training,
 * tracing) and Stepper (one character at a time). Everything numeric runs on `kernels`: by default those the
 * wiring module installed (backend.ts: the WebAssembly SIMD ones for float32 where the host runs them), else
 * (and always for float64) the TypeScript reference. Its buffers, and those of every Unroll and Stepper on it,
 * come from the kernels' allocation hook.
 */
export class Network {
  readonly layout: ParamLayout;
  readonly params: FloatArray; // (P)
  readonly grads: FloatArray;  // (P), same layout
  readonly p: ParamViews;
  readonly g: ParamViews;
  readonly gates: number;      // G

  constructor(
    readonly cfg: ModelConfig,
    readonly Float: FloatArrayConstructor = Float32Array,
    readonly kernels: Kernels = defaultKernels(Float),
  ) {
    validateConfig(cfg);
    this.layout = paramLayout(cfg);
    this.params = kernels.allocate(Float, this.layout.total);
    this.grads = kernels.allocate(Float, this.layout.total);
    this.p = viewsOf(this.layout, cfg, this.params);
    this.g = viewsOf(this.layout, cfg, this.grads);
    this.gates = gateCount(cfg.cell);
  }

  /**
   * Initialises as PyTorch does: every recurrent weight and bias U(−1/√H, 1/√H) (nn.LSTM/GRU/RNN's
   * reset_parameters); encoder and decoder weights U(−0.1, 0.1) and decoder bias 0 (word_language_model's
   * init_weights).
   */
  initialize(rng: Rng): void {
    const k = 1 / Math.sqrt(this.cfg.hidden);
    fillUniform(this.p.encoder, rng, 0.1);
    for (const l of this.p.layers) {
      fillUniform(l.wih, rng, k);
      fillUniform(l.whh, rng, k);
      fillUniform(l.bih, rng, k);
      fillUniform(l.bhh, rng, k);
    }
    fillUniform(this.p.decoderW, rng, 0.1);
    this.p.decoderB.fill(0);
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  inputSize(layer: number): number {
    return layerInputSize(this.cfg, layer);
  }

  /**
   * The first layer's input projection of every token: table(V, G·H) = encoder(V, E) · W_ih0ᵀ + b_ih0.
   * Looking a token's row up replaces the (T·B, E)·(E, G·H) product of the embedded sequence.
   */
  inputTable(table: FloatArray): void {
    const { vocabSize: V, embed: E } = this.cfg;
    const GH = this.gates * this.cfg.hidden;
    const l0 = this.p.layers[0]!;
    this.kernels.gemmNT(V, GH, E, this.p.encoder, 0, l0.wih, 0, table, 0, false);
    this.kernels.addBias(V, GH, table, 0, l0.bih, 0);
  }

  /**
   * The rows of inputTable for the tokens `ids` only (distinct, ascending), the others left as they are: what a text
   * that uses U of a large vocabulary's V tokens needs, for U/V of the work (U·E·G·H multiply-adds). The same numbers
   * as inputTable's rows: each row is the same dot products in the same order, gathered and scattered around them.
   */
  inputTableRows(table: FloatArray, ids: Int32Array): void {
    const { embed: E } = this.cfg;
    const GH = this.gates * this.cfg.hidden;
    const U = ids.length;
    const l0 = this.p.layers[0]!;
    const k = this.kernels;
    const emb = k.allocate(this.Float, U * E);   // (U, E) the tokens' embedding rows
    const rows = k.allocate(this.Float, U * GH); // (U, G·H)
    k.gatherRows(U, E, ids, this.p.encoder, emb, 0);
    k.gemmNT(U, GH, E, emb, 0, l0.wih, 0, rows, 0, false);
    k.addBias(U, GH, rows, 0, l0.bih, 0);
    for (let u = 0; u < U; u++) table.set(rows.subarray(u * GH, (u + 1) * GH), ids[u]! * GH);
  }
}

function fillUniform(a: FloatArray, rng: Rng, bound: number): void {
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-bound, bound);
}
