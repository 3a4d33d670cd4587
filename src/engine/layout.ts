import { gateCount, type ModelConfig } from './types';

/**
 * The parameters live in one flat buffer of P numbers; gradients and Adam moments share this layout.
 * Each tensor is a contiguous row-major block named and shaped exactly as the state_dict of PyTorch's
 * word_language_model RNNModel, so a checkpoint maps to the buffer one tensor at a time:
 *   encoder.weight      (V, E)
 *   rnn.weight_ih_l{k}  (G·H, in)   in = E for k = 0, else H
 *   rnn.weight_hh_l{k}  (G·H, H)
 *   rnn.bias_ih_l{k}    (G·H)
 *   rnn.bias_hh_l{k}    (G·H)
 *   decoder.weight      (V, H)
 *   decoder.bias        (V)
 * Rows of the G·H dimension are blocks of H in PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n.
 */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

export interface ParamLayout {
  readonly tensors: readonly TensorSpec[];
  readonly byName: ReadonlyMap<string, TensorSpec>;
  readonly total: number; // P
}

export function layerInputSize(cfg: ModelConfig, layer: number): number {
  return layer === 0 ? cfg.embed : cfg.hidden;
}

export function paramLayout(cfg: ModelConfig): ParamLayout {
  const { vocabSize: V, embed: E, hidden: H, layers: L } = cfg;
  const GH = gateCount(cfg.cell) * H;
  const shapes: [string, number[]][] = [['encoder.weight', [V, E]]];
  for (let k = 0; k < L; k++) {
    shapes.push([`rnn.weight_ih_l${k}`, [GH, layerInputSize(cfg, k)]]);
    shapes.push([`rnn.weight_hh_l${k}`, [GH, H]]);
    shapes.push([`rnn.bias_ih_l${k}`, [GH]]);
    shapes.push([`rnn.bias_hh_l${k}`, [GH]]);
  }
  shapes.push(['decoder.weight', [V, H]], ['decoder.bias', [V]]);
  let offset = 0;
  const tensors = shapes.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const spec = { name, shape, offset, size };
    offset += size;
    return spec;
  });
  return { tensors, byName: new Map(tensors.map((t) => [t.name, t])), total: offset };
}
