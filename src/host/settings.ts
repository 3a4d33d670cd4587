import { DEFAULT_TRAIN_OPTIONS } from '../engine/trainer';
import { AUTO_WORKERS_CAP } from '../engine/parallel/workers';
import { CELL_TYPES, MAX_WORKERS } from '../engine/types';

/**
 * Every `gatescope.*` setting, typed once. The manifest's `contributes.configuration` is generated from
 * SETTINGS (test/unit/host/manifest.test.ts checks they agree), so a setting's type, default, bounds and description
 * live here only.
 */
export interface NumberSetting { type: 'number' | 'integer'; default: number; minimum: number; maximum?: number; description: string; exclusiveMinimum?: boolean }
interface EnumSetting { type: 'string'; default: string; enum: readonly string[]; description: string }
interface StringSetting { type: 'string'; default: string; description: string }
interface ArraySetting { type: 'array'; default: string[]; items: { type: 'string' }; description: string }
/** "auto" (the extension decides) or a whole number; VS Code's settings editor links such a setting to settings.json. */
export interface AutoOrIntegerSetting {
  anyOf: readonly [{ type: 'string'; enum: readonly ['auto'] }, { type: 'integer'; minimum: number; maximum: number }];
  default: 'auto' | number;
  description: string;
}
export type Setting = NumberSetting | EnumSetting | StringSetting | ArraySetting | AutoOrIntegerSetting;

const d = DEFAULT_TRAIN_OPTIONS;
export const SETTINGS = {
  'training.cell': { type: 'string', enum: CELL_TYPES, default: d.cell, description: 'Recurrent cell: lstm (gates i, f, g, o), gru (r, z, n), rnn_tanh or rnn_relu (a vanilla RNN with tanh or ReLU).' },
  'training.layers': { type: 'integer', default: d.layers, minimum: 1, maximum: 8, description: 'Number of stacked recurrent layers.' },
  'training.hidden': { type: 'integer', default: d.hidden, minimum: 1, maximum: 4096, description: 'Hidden units per layer (H).' },
  'training.embed': { type: 'integer', default: d.embed, minimum: 1, maximum: 4096, description: 'Size of the character embedding (E).' },
  'training.seq': { type: 'integer', default: d.seq, minimum: 2, maximum: 4096, description: 'Truncated-BPTT length: characters per chunk (T).' },
  'training.batch': { type: 'integer', default: d.batch, minimum: 1, maximum: 1024, description: 'Lanes trained in parallel over the text (B).' },
  'training.lr': { type: 'number', default: d.lr, minimum: 0, exclusiveMinimum: true, maximum: 1, description: 'Adam learning rate.' },
  'training.clip': { type: 'number', default: d.clip, minimum: 0, description: 'Gradient clipping threshold (0 = off).' },
  'training.clipMode': { type: 'string', enum: ['norm', 'value'], default: d.clipMode, description: 'Clip the global gradient norm (PyTorch clip_grad_norm_) or each value (clip_grad_value_).' },
  'training.steps': { type: 'integer', default: d.steps, minimum: 1, maximum: 10_000_000, description: 'Optimisation steps per training run.' },
  'training.seed': { type: 'integer', default: d.seed, minimum: 0, maximum: 4294967295, description: 'Random seed: the same seed, text and worker count give the same model.' },
  'training.valFrac': { type: 'number', default: d.valFrac, minimum: 0, maximum: 0.45, description: 'Fraction of the text (its end) held out to measure validation loss.' },
  'training.workers': {
    anyOf: [{ type: 'string', enum: ['auto'] }, { type: 'integer', minimum: 1, maximum: MAX_WORKERS }], default: 'auto' as 'auto' | number,
    description: `Threads that split each batch: "auto" (the cores less one for the editor, at most ${AUTO_WORKERS_CAP}, lowered to a count that divides the batch; ` +
      `a resumed model keeps the count it was trained on) or a number from 1 to ${MAX_WORKERS}. On an idle machine two workers train about 1.7–2× as fast as one; ` +
      'a helper whose core is busy is left out. The same count and seed always give the same model; different counts agree to float rounding.',
  },
  'training.evalEvery': { type: 'integer', default: 50, minimum: 1, description: 'Measure validation loss every N steps.' },
  'training.checkpointEvery': { type: 'integer', default: 200, minimum: 0, description: 'Save a checkpoint every N steps (0 = only at the end).' },
  'modelsDir': { type: 'string', default: '.gatescope/models', description: 'Where models are saved, relative to the first workspace folder (or absolute). Without a folder, the extension\'s global storage is used.' },
  'workspace.include': { type: 'array', items: { type: 'string' }, default: ['**/*.{txt,md,rst,ts,tsx,js,jsx,py,rs,go,java,c,h,cpp,hpp,cs,rb,php,swift,kt,scala,sh,lua,hs,ml,tex,html,css,json,yaml,yml,toml}'], description: 'Files used by "Train LSTM on Workspace" (glob patterns); files.exclude, search.exclude and git-ignored files are left out.' },
  // at most 500 MB: the joined text must fit in one JavaScript string (2^29 − 24 units)
  'workspace.maxBytes': { type: 'integer', default: 20_000_000, minimum: 1000, maximum: 500_000_000, description: 'Most bytes of text "Train LSTM on Workspace" reads (at most 500 MB: the text must fit in one JavaScript string).' },
  'inspector.maxCharacters': { type: 'integer', default: 10_000, minimum: 100, maximum: 200_000, description: 'Most characters the Inspector traces at once; longer texts are traced from the start (select a range and run Inspect Model on Selection to look elsewhere).' },
  'inspector.memoryMB': { type: 'integer', default: 1024, minimum: 64, maximum: 65536, description: 'Most memory (MB) a trace may hold in the Inspector and the engine together. The engine keeps its own copy of the gates and states only when both copies fit (else it recomputes windows from checkpoints); a trace whose data alone is larger is refused with what to do instead.' },
  'inspector.sampleEvery': { type: 'integer', default: 200, minimum: 1, description: 'The live training dashboard samples text from the model at checkpoints, at most once every N steps.' },
  'sample.temperature': { type: 'number', default: 0.8, minimum: 0, exclusiveMinimum: true, maximum: 10, description: 'Sampling temperature "Sample from Model" proposes first (then the last one used): below 1 the likeliest characters win more often, above 1 less.' },
  'sample.length': { type: 'integer', default: 2000, minimum: 1, maximum: 1_000_000, description: 'Characters "Sample from Model" proposes to generate first (then the last number used).' },
  'maxFileBytes': { type: 'integer', default: 50_000_000, minimum: 1000, description: 'Files larger than this are offered in part (the first N MB) before training.' },
} as const satisfies Record<string, Setting>;

export type SettingKey = keyof typeof SETTINGS;

/** The manifest's `contributes.configuration.properties`, generated from SETTINGS. */
export function manifestProperties(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => {
    const { exclusiveMinimum, ...rest } = s as Setting & { exclusiveMinimum?: boolean };
    return [`gatescope.${k}`, exclusiveMinimum ? { ...rest, exclusiveMinimum: (rest as NumberSetting).type === 'number' ? (rest as NumberSetting).minimum : undefined, minimum: undefined } : rest];
  }));
}
