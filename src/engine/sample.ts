import { GatescopeError } from './errors';
import type { Network } from './network';
import type { Rng } from './rng';
import { softmaxInto, Stepper } from './stepper';
import type { Vocabulary } from './vocab';
import type { SampleOptions } from './types';
export type { SampleOptions };


export const DEFAULT_SAMPLE_OPTIONS: SampleOptions = { prime: '', length: 500, temperature: 1, topK: 0, greedy: false };

/**
 * Generates text one character at a time (char-rnn's sampling: temperature, top-k, priming, greedy).
 * A generator, so callers can stream the characters and stop at any point.
 */
export function* sample(net: Network, vocab: Vocabulary, options: SampleOptions, rng: Rng): Generator<string, void, void> {
  const { length, temperature, topK, greedy } = options;
  if (!Number.isInteger(length) || length < 0) throw new GatescopeError(`length must be a whole number of characters, not ${length}`);
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new GatescopeError(`temperature must be a positive number, not ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new GatescopeError(`top-k must be 0 (off) or a positive whole number, not ${topK}`);
  const stepper = new Stepper(net);
  const prime = vocab.encode(options.prime);
  const V = vocab.size;
  const probs = new Float64Array(V);
  const order = Array.from({ length: V }, (_, i) => i);
  let next: number;
  if (prime.length > 0) {
    for (const tok of prime) stepper.step(tok);
  } else {
    // with nothing to condition on, start from a newline where the vocabulary has one, as if at a line start
    stepper.step(vocab.idOf('\n') ?? rng.nextUint32() % V);
  }
  for (let n = 0; n < length; n++) {
    if (greedy) {
      next = 0;
      for (let v = 1; v < V; v++) if (stepper.logits[v]! > stepper.logits[next]!) next = v;
    } else {
      softmaxInto(stepper.logits, probs, temperature);
      if (topK > 0 && topK < V) {
        order.sort((a, b) => probs[b]! - probs[a]!);
        const threshold = probs[order[topK - 1]!]!;
        let kept = 0;
        for (const v of order) {
          if (kept < topK && probs[v]! >= threshold) kept++;
          else probs[v] = 0;
        }
      }
      next = draw(probs, rng);
    }
    yield vocab.chars[next]!;
    stepper.step(next);
  }
}

/** Index drawn from unnormalised non-negative weights. */
function draw(weights: Float64Array, rng: Rng): number {
  let total = 0;
  for (let v = 0; v < weights.length; v++) total += weights[v]!;
  let u = rng.next() * total;
  for (let v = 0; v < weights.length; v++) {
    u -= weights[v]!;
    if (u < 0) return v;
  }
  for (let v = weights.length - 1; v >= 0; v--) if (weights[v]! > 0) return v;
  return 0;
}
