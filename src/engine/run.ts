import { GatescopeError } from './errors';
import type { ModelFile } from './modelfile';
import { Network } from './network';
import { Rng } from './rng';
import { Trainer, validateTrainOptions, type TrainOptions } from './trainer';
import { gateCount, type ModelConfig } from './types';
import { Vocabulary, type TokenArray } from './vocab';

/** A training run ready to step: the network, its vocabulary, the encoded text and the trainer. */
export interface PreparedRun {
  readonly net: Network;
  readonly vocab: Vocabulary;
  readonly tokens: TokenArray;
  readonly trainer: Trainer;
  /** Warnings for the user: shrunk batch or seq, no validation split, resume on other text. */
  readonly warnings: readonly string[];
}

/** Matrix-product speed the engine reaches on one core of a recent machine (README, Performance: 35–55 GFLOP/s). */
const ASSUMED_FLOPS = 30e9;

/**
 * What a training run of this size costs, before anything is allocated: parameters, memory for them, their gradients
 * and Adam's two moments (float32), and the floating-point operations of one step (forward and backward ≈ 6 per
 * parameter per character). `warning` says so when a step takes over half a minute or the model over 4 GB.
 */
export function estimateRun(c: { vocabSize: number; embed: number; hidden: number; layers: number; cell: ModelConfig['cell'] }, seq: number, batch: number):
  { parameters: number; bytes: number; flopsPerStep: number; secondsPerStep: number; warning: string | null } {
  const G = gateCount(c.cell), H = c.hidden;
  let parameters = c.vocabSize * c.embed + c.vocabSize * H + c.vocabSize;
  for (let l = 0; l < c.layers; l++) parameters += G * H * ((l === 0 ? c.embed : H) + H) + 2 * G * H;
  const bytes = parameters * 4 * 4;
  const flopsPerStep = 6 * parameters * seq * batch;
  const secondsPerStep = flopsPerStep / ASSUMED_FLOPS;
  const slow = secondsPerStep > 30, big = bytes > 4 * 2 ** 30;
  const warning = slow || big
    ? `this model has ${parameters.toLocaleString('en-US')} parameters: ${slow ? `a training step is about ${flopsPerStep.toExponential(1)} operations, ` +
      `roughly ${secondsPerStep >= 120 ? `${Math.round(secondsPerStep / 60)} minutes` : `${Math.round(secondsPerStep)} s`} a step on one core` : ''}` +
      `${slow && big ? ', and ' : ''}${big ? `it needs about ${(bytes / 2 ** 30).toFixed(1)} GB with its gradients and optimiser state` : ''}; ` +
      'a smaller hidden size, embedding, batch or sequence length trains faster'
    : null;
  return { parameters, bytes, flopsPerStep, secondsPerStep, warning };
}

/**
 * Builds a fresh run on `text`, or continues `resume` (its architecture, vocabulary, parameters and, when
 * present, its optimiser state; the text must use only characters of its vocabulary). A fresh run takes its
 * vocabulary from the text, or `fixedVocab` (the text must then use only its characters). The training length
 * (`options.steps`) counts from step 0 of the original run.
 */
export function prepareRun(text: string, options: TrainOptions, resume?: ModelFile, fixedVocab?: readonly string[]): PreparedRun {
  validateTrainOptions(options);
  let net: Network;
  let vocab: Vocabulary;
  if (resume) {
    net = resume.net;
    vocab = resume.vocab;
    const c = net.cfg;
    options = { ...options, cell: c.cell, layers: c.layers, hidden: c.hidden, embed: c.embed };
  } else {
    vocab = fixedVocab ? new Vocabulary([...fixedVocab]) : Vocabulary.fromText(text);
    net = new Network({ cell: options.cell, vocabSize: vocab.size, embed: options.embed, hidden: options.hidden, layers: options.layers });
    net.initialize(new Rng(options.seed));
  }
  const tokens = vocab.encodeCompact(text);
  if (tokens.length < 2) throw new GatescopeError('the text has fewer than 2 characters: nothing to predict', 'too-short');
  const trainer = new Trainer(net, tokens, options, resume?.training ?? undefined);
  const warnings = [...trainer.plan.warnings, ...trainer.notices];
  if (resume && !resume.training) warnings.push('the model has no training state: resuming with fresh optimiser moments');
  return { net, vocab, tokens, trainer, warnings };
}
