import * as vscode from 'vscode';
import type { TrainOptions } from '../engine/trainer';
import { describeSizedDefaults, sizedDefaults } from '../engine/schedule';
import { SETTINGS, type Setting, type SettingKey } from './settings';

/** Reads a `gatescope.*` setting declared in settings.ts, falling back to its default and clamped to its bounds. */
function get<K extends SettingKey>(key: K, scope?: vscode.ConfigurationScope): (typeof SETTINGS)[K]['default'] {
  const s = SETTINGS[key] as Setting;
  const v = vscode.workspace.getConfiguration('gatescope', scope).get<unknown>(key);
  if ('anyOf' in s) {
    // "auto", or a whole number clamped to the integer branch's bounds
    const { minimum, maximum } = s.anyOf[1];
    if (v === 'auto') return v as never;
    return (typeof v === 'number' && Number.isFinite(v) ? Math.min(maximum, Math.max(minimum, Math.round(v))) : s.default) as never;
  }
  if (s.type === 'number' || s.type === 'integer') {
    const n = typeof v === 'number' && Number.isFinite(v) ? v : s.default;
    const clamped = Math.min(s.maximum ?? Infinity, Math.max(s.minimum, n));
    return (s.type === 'integer' ? Math.round(clamped) : clamped) as never;
  }
  if (s.type === 'string' && 'enum' in s) return (typeof v === 'string' && s.enum.includes(v) ? v : s.default) as never;
  if (s.type === 'array') return (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : s.default) as never;
  return (typeof v === 'string' ? v : s.default) as never;
}

/** The hyperparameters of a new training run, from settings. */
export function trainOptions(scope?: vscode.ConfigurationScope): TrainOptions {
  return {
    cell: get('training.cell', scope) as TrainOptions['cell'],
    layers: get('training.layers', scope), hidden: get('training.hidden', scope), embed: get('training.embed', scope),
    seq: get('training.seq', scope), batch: get('training.batch', scope), lr: get('training.lr', scope),
    clip: get('training.clip', scope), clipMode: get('training.clipMode', scope) as TrainOptions['clipMode'],
    steps: get('training.steps', scope), seed: get('training.seed', scope), valFrac: get('training.valFrac', scope),
  };
}

/** Whether the user set a `gatescope.*` setting anywhere (user, workspace, folder), rather than leaving its default. */
function isSet(key: SettingKey, scope?: vscode.ConfigurationScope): boolean {
  const i = vscode.workspace.getConfiguration('gatescope', scope).inspect(key);
  return i !== undefined && (i.globalValue !== undefined || i.workspaceValue !== undefined || i.workspaceFolderValue !== undefined);
}

/**
 * The hyperparameters of a new run on a text of `chars` characters: the settings, with the steps and the hidden size
 * the user left at their defaults sized to the text (engine/schedule.ts); `sized` says what was chosen, or null.
 */
export function trainOptionsFor(chars: number, scope?: vscode.ConfigurationScope): { options: TrainOptions; sized: string | null } {
  const o = trainOptions(scope);
  const d = sizedDefaults(chars, o.batch, o.seq);
  const steps = isSet('training.steps', scope) ? o.steps : d.steps;
  const hidden = isSet('training.hidden', scope) ? o.hidden : d.hidden;
  if (steps === o.steps && hidden === o.hidden) return { options: o, sized: null };
  const options = { ...o, steps, hidden };
  return { options, sized: `${describeSizedDefaults(chars, options)} (settings gatescope.training.steps and .hidden choose others)` };
}

export const config = {
  trainOptions,
  trainOptionsFor,
  evalEvery: (): number => get('training.evalEvery'),
  /** Threads that train: a count, or 'auto' (parallel/workers.ts resolves it, leaving a core to the editor). */
  workers: (): number | 'auto' => get('training.workers'),
  checkpointEvery: (): number => get('training.checkpointEvery'),
  modelsDir: (): string => get('modelsDir'),
  workspaceInclude: (): readonly string[] => get('workspace.include'),
  workspaceMaxBytes: (): number => get('workspace.maxBytes'),
  maxFileBytes: (): number => get('maxFileBytes'),
  inspectorMaxCharacters: (): number => get('inspector.maxCharacters'),
  inspectorMemoryBytes: (): number => get('inspector.memoryMB') * 2 ** 20,
  inspectorSampleEvery: (): number => get('inspector.sampleEvery'),
  sampleTemperature: (): number => get('sample.temperature'),
  sampleLength: (): number => get('sample.length'),
};
