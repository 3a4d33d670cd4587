import { GatescopeError } from './errors';
import type { ModelFile } from './modelfile';
import { Network } from './network';
import { Rng } from './rng';
import { Trainer, validateTrainOptions, type TrainOptions } from './trainer';
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
    // a larger recurrent scale (the explode preset): the same draws, stretched, so initScale 1 is PyTorch's init
    const s = options.initScale ?? 1;
    if (s !== 1) for (const l of net.p.layers) for (let i = 0; i < l.whh.length; i++) l.whh[i] *= s;
  }
  const tokens = vocab.encodeCompact(text);
  if (tokens.length < 2) throw new GatescopeError('the text has fewer than 2 characters: nothing to predict', 'too-short');
  const trainer = new Trainer(net, tokens, options, resume?.training ?? undefined);
  const warnings = [...trainer.plan.warnings, ...trainer.notices];
  if (resume && !resume.training) warnings.push('the model has no training state: resuming with fresh optimiser moments');
  return { net, vocab, tokens, trainer, warnings };
}
