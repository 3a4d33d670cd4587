import { decodeHistory, encodeHistory } from './diagnostics';
import { GatescopeError } from './errors';
import { parseUntrustedJson } from './json';
import { layerInputSize, paramLayout } from './layout';
import type { Kernels } from './kernels';
import { Network } from './network';
import { parseSafetensors, serializeSafetensors, tensorToFloat32, tensorToFloat64, type SafetensorsFile, type SafetensorsHeader, type TensorToWrite } from './safetensors';
import { validateTrainOptions, type TrainingState, type TrainOptions } from './trainer';
import { CELL_TYPES, gateCount, isCellType, MAX_WORKERS, type FloatArrayConstructor, type ModelConfig, type TensorHistory } from './types';
import { MAX_TOKEN_LENGTH, MAX_VOCAB, Vocabulary } from './vocab';
import { TEXT_JOINS, type ComparisonOf, type ModelInfo, type TextJoin, type TrainingSource } from './types';
export { TEXT_JOINS, type ComparisonOf, type ModelInfo, type TextJoin, type TrainingSource };

/**
 * The model file: safetensors whose tensors are the state_dict of PyTorch's word_language_model RNNModel
 * (names, shapes and gate order as layout.ts describes: LSTM i, f, g, o), `__metadata__` with `cell` and
 * `vocab` (a JSON array of one-code-point strings; index = token id). Sizes come from the shapes.
 * Training state for an exact resume sits beside it under names PyTorch's model never uses:
 *   optim.exp_avg, optim.exp_avg_sq  (P)        Adam moments in the flat parameter layout
 *   optim.carry_h, optim.carry_c     (L, B, H)  hidden state carried into the next chunk
 * and metadata `gatescope.train` (JSON: step, epoch, data position, RNG state, hyperparameters and workers), and
 * `gatescope.history` (JSON, engine/diagnostics.ts encodeHistory: the bounded per-tensor training history). A PyTorch
 * user loads the weights with {k: v for k, v in load_file(p).items() if not k.startswith('optim.')}.
 */
export const TRAIN_PREFIX = 'optim.';

export { MAX_VOCAB };

export interface ModelFile {
  readonly net: Network;
  readonly vocab: Vocabulary;
  readonly info: ModelInfo;
  readonly training: TrainingState | null;
  /** The training history saved with the model (per-tensor norms and update ratios over the run), when it has one. */
  readonly history: TensorHistory | null;
  /** Things the loader tolerated, for the user (e.g. tensors it does not know). */
  readonly warnings: readonly string[];
}

export function encodeModelFile(net: Network, vocab: Vocabulary, info: ModelInfo, training: TrainingState | null): Uint8Array {
  if (vocab.size !== net.cfg.vocabSize) throw new Error(`vocabulary of ${vocab.size} for a model of ${net.cfg.vocabSize}`);
  const f32 = (a: Float32Array | Float64Array): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));
  const tensors: TensorToWrite[] = net.layout.tensors.map((t) => ({
    name: t.name, shape: t.shape, data: f32(net.params.subarray(t.offset, t.offset + t.size)),
  }));
  const metadata: Record<string, string> = {
    cell: net.cfg.cell,
    vocab: JSON.stringify(vocab.chars),
    format: 'gatescope/1',
    'gatescope.info': JSON.stringify(info),
  };
  if (training) {
    const { layers: L, hidden: H } = net.cfg;
    const B = training.carryH.length / (L * H);
    tensors.push({ name: 'optim.exp_avg', shape: [training.m.length], data: f32(training.m) });
    tensors.push({ name: 'optim.exp_avg_sq', shape: [training.v.length], data: f32(training.v) });
    tensors.push({ name: 'optim.carry_h', shape: [L, B, H], data: f32(training.carryH) });
    if (training.carryC) tensors.push({ name: 'optim.carry_c', shape: [L, B, H], data: f32(training.carryC) });
    const { m: _m, v: _v, carryH: _h, carryC: _c, history, ...scalars } = training;
    metadata['gatescope.train'] = JSON.stringify(scalars);
    if (history && history.rows.length > 0) metadata['gatescope.history'] = encodeHistory(history);
  }
  return serializeSafetensors(tensors, metadata);
}

/**
 * Parses and checks a model file; every problem is a GatescopeError that names it. Never evaluates anything.
 * The network computes in `Float` on `kernels` (by default the best the host runs for that precision).
 */
export function decodeModelFile(bytes: Uint8Array, Float: FloatArrayConstructor = Float32Array, kernels?: Kernels): ModelFile {
  const file = parseSafetensors(bytes);
  const meta = file.metadata;
  const warnings: string[] = [];
  const bad = (msg: string): never => {
    throw new GatescopeError(`not a usable Gatescope/PyTorch model: ${msg}`, 'bad-model-file');
  };

  const { vocab, cfg } = headerFacts(file, bad);
  const net = new Network(cfg, Float, kernels);
  // float32 parameters are read as views of the file's bytes (copied into net.params at once)
  const read = Float === Float64Array ? tensorToFloat64 : (name: string, e: Parameters<typeof tensorToFloat32>[1]): Float32Array => tensorToFloat32(name, e, true);
  for (const t of net.layout.tensors) {
    const entry = file.tensors.get(t.name)!;
    net.params.set(read(t.name, entry), t.offset);
  }
  for (const name of file.tensors.keys()) {
    if (!net.layout.byName.has(name) && !name.startsWith(TRAIN_PREFIX)) warnings.push(`ignored tensor ${name}, which the model does not use`);
  }
  const info = checkInfo(parseJson<Record<string, unknown>>(meta['gatescope.info'], 'gatescope.info', bad) ?? {}, bad);
  const historyJson = meta['gatescope.history'];
  const history = historyJson === undefined ? null : decodeHistory(historyJson, net.layout.tensors.map((t) => t.name), bad);
  const state = readTraining(file, net, Float, warnings, bad);
  const training = state && history ? { ...state, history } : state;
  return { net, vocab, info, training, history, warnings };
}

/** What the header says the model is: its cell and vocabulary (metadata) and its sizes (the tensors' shapes), checked. */
function headerFacts(file: { readonly metadata: Readonly<Record<string, string>>; readonly tensors: ReadonlyMap<string, { readonly shape: readonly number[] }> },
  bad: (m: string) => never): { vocab: Vocabulary; cfg: ModelConfig } {
  const meta = file.metadata;
  const cell = meta['cell'];
  if (cell === undefined) bad(`the metadata has no "cell" key (one of ${CELL_TYPES.join(', ')}); add it when saving, e.g. metadata={"cell": "lstm", ...}`);
  if (!isCellType(cell)) bad(`metadata "cell" is ${JSON.stringify(cell)}, expected one of ${CELL_TYPES.join(', ')}`);
  const vocabJson = meta['vocab'];
  if (vocabJson === undefined) bad('the metadata has no "vocab" key (a JSON array of single characters, index = token id)');
  let chars: unknown;
  try {
    chars = parseUntrustedJson(vocabJson!, { maxDepth: 1, maxArrayLength: MAX_VOCAB, maxKeys: MAX_VOCAB, maxStringLength: 2 * MAX_TOKEN_LENGTH },
      (reason) => bad(`metadata "vocab" ${reason}; it is a JSON array of at most ${MAX_VOCAB.toLocaleString('en-US')} characters (or special tokens of up to ${MAX_TOKEN_LENGTH})`));
  } catch (e) {
    if (e instanceof GatescopeError) throw e;
    bad('metadata "vocab" is not valid JSON');
  }
  if (!Array.isArray(chars) || !chars.every((c) => typeof c === 'string')) bad('metadata "vocab" must be a JSON array of strings');
  let vocab: Vocabulary;
  try {
    vocab = new Vocabulary(chars as string[]);
  } catch (e) {
    bad(`metadata "vocab": ${(e as Error).message}`);
  }
  const cfg = inferConfig(file, cell as ModelConfig['cell'], vocab!.size, bad);
  return { vocab: vocab!, cfg };
}

/** What a model file's header alone says, for views that describe a model without reading its weights (the model editor). */
export interface ModelHeaderSummary {
  readonly config: ModelConfig;
  readonly parameters: number;
  readonly vocab: readonly string[];
  readonly info: ModelInfo;
  /** The step a resume continues from, when the file holds a training state. */
  readonly resumableFrom: number | null;
}

/** The header's facts, checked as decodeModelFile checks them (the weights are checked when the model is used). */
export function describeModelHeader(header: SafetensorsHeader): ModelHeaderSummary {
  const bad = (msg: string): never => {
    throw new GatescopeError(`not a usable Gatescope/PyTorch model: ${msg}`, 'bad-model-file');
  };
  const { vocab, cfg } = headerFacts(header, bad);
  const parameters = paramLayout(cfg).total;
  const info = checkInfo(parseJson<Record<string, unknown>>(header.metadata['gatescope.info'], 'gatescope.info', bad) ?? {}, bad);
  const train = parseJson<{ step?: unknown }>(header.metadata['gatescope.train'], 'gatescope.train', bad);
  const step = train && header.tensors.has('optim.exp_avg') && Number.isSafeInteger(train.step) ? train.step as number : null;
  return { config: cfg, parameters, vocab: vocab.chars, info, resumableFrom: step };
}

function inferConfig(file: { readonly tensors: ReadonlyMap<string, { readonly shape: readonly number[] }> }, cell: ModelConfig['cell'], V: number, bad: (m: string) => never): ModelConfig {
  const shape = (name: string): readonly number[] => {
    const t = file.tensors.get(name);
    if (!t) bad(`tensor ${name} is missing`);
    return t!.shape;
  };
  const enc = shape('encoder.weight');
  if (enc.length !== 2) bad(`encoder.weight has shape [${enc}], expected [V, E]`);
  if (enc[0] !== V) bad(`encoder.weight has ${enc[0]} rows but the vocabulary has ${V} characters`);
  const whh = shape('rnn.weight_hh_l0');
  const G = gateCount(cell);
  if (whh.length !== 2 || whh[0] !== G * whh[1]!) {
    bad(`rnn.weight_hh_l0 has shape [${whh}], expected [${G}·H, H] for cell ${cell}` +
      (whh.length === 2 && whh[1]! > 0 && whh[0]! % whh[1]! === 0 ? ` (it looks like a cell with ${whh[0]! / whh[1]!} gates: is "cell" right?)` : ''));
  }
  let L = 0;
  while (file.tensors.has(`rnn.weight_ih_l${L}`)) L++;
  if (L === 0) bad('tensor rnn.weight_ih_l0 is missing');
  const cfg: ModelConfig = { cell, vocabSize: V, embed: enc[1]!, hidden: whh[1]!, layers: L };
  if (cfg.embed < 1 || cfg.hidden < 1) bad('the embedding and hidden sizes must be at least 1');
  const GH = G * cfg.hidden;
  const expect: [string, number[]][] = [];
  for (let k = 0; k < L; k++) {
    expect.push([`rnn.weight_ih_l${k}`, [GH, layerInputSize(cfg, k)]], [`rnn.weight_hh_l${k}`, [GH, cfg.hidden]],
      [`rnn.bias_ih_l${k}`, [GH]], [`rnn.bias_hh_l${k}`, [GH]]);
  }
  expect.push(['decoder.weight', [V, cfg.hidden]], ['decoder.bias', [V]]);
  for (const [name, want] of expect) {
    const got = shape(name);
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      bad(`tensor ${name} has shape [${got.join(', ')}], expected [${want.join(', ')}] (cell ${cell}, ${L} layer${L > 1 ? 's' : ''}, hidden ${cfg.hidden}, embed ${cfg.embed}, vocab ${V})`);
    }
  }
  return cfg;
}

function readTraining(file: SafetensorsFile, net: Network, Float: FloatArrayConstructor, warnings: string[],
  bad: (m: string) => never): TrainingState | null {
  const scalars = parseJson<Omit<TrainingState, 'm' | 'v' | 'carryH' | 'carryC'>>(file.metadata['gatescope.train'], 'gatescope.train', bad);
  if (!scalars) return null;
  const read = (name: string, size: number | null): Float32Array | Float64Array | null => {
    const t = file.tensors.get(name);
    if (!t) return null;
    // a view of the file's bytes: the trainer copies the moments and carried state into its own buffers (resume)
    const data = Float === Float64Array ? tensorToFloat64(name, t) : tensorToFloat32(name, t, true);
    if (size !== null && data.length !== size) bad(`training tensor ${name} has ${data.length} values, expected ${size}`);
    return Float === Float64Array ? data : data;
  };
  const P = net.params.length;
  const m = read('optim.exp_avg', P);
  const v = read('optim.exp_avg_sq', P);
  const carryH = read('optim.carry_h', null);
  if (!m || !v || !carryH) {
    warnings.push('the training state is incomplete; the model loads for inference, but cannot resume exactly');
    return null;
  }
  const { layers: L, hidden: H } = net.cfg;
  if (carryH.length % (L * H) !== 0) bad(`optim.carry_h has ${carryH.length} values, not a multiple of L·H = ${L * H}`);
  const carryC = read('optim.carry_c', carryH.length);
  const o = scalars.options as TrainOptions | undefined;
  const nonNegative = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!o || typeof o !== 'object' || Array.isArray(o)) bad('metadata "gatescope.train" has no "options" object (the training settings)');
  // settings a resume could not train with are the file's fault, found when it is read, not at the first step
  try {
    validateTrainOptions(o!);
  } catch (e) {
    if (!(e instanceof GatescopeError)) throw e;
    bad(`metadata "gatescope.train" options: ${e.message}`);
  }
  // the worker count a resume reproduces (absent before it was recorded): each worker is a thread and a gradient copy
  const w = o!.workers as unknown;
  if (w !== undefined && !(Number.isInteger(w) && (w as number) >= 1 && (w as number) <= MAX_WORKERS)) {
    bad(`metadata "gatescope.train" options: workers is ${JSON.stringify(w)}, not a whole number from 1 to ${MAX_WORKERS}`);
  }
  for (const k of ['step', 'position', 'adamStep'] as const) {
    if (!nonNegative(scalars[k])) bad(`metadata "gatescope.train" field "${k}" is ${JSON.stringify(scalars[k]) ?? 'missing'}, not a non-negative integer`);
  }
  const rng = scalars.rng as unknown;
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) || rng.every((w) => w === 0)) {
    bad('metadata "gatescope.train" field "rng" must be the random generator\'s state: four 32-bit unsigned integers, not all zero');
  }
  return { ...scalars, m: m!, v: v!, carryH, carryC: net.cfg.cell === 'lstm' ? carryC : null };
}

const isHash = (v: unknown): boolean => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isCount = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;

/** Checks the types of `gatescope.info`'s fields (all optional); unknown fields are kept as they are. */
function checkInfo(o: Record<string, unknown>, bad: (m: string) => never): ModelInfo {
  // JSON writes NaN as null: older files may hold a null loss, which means "not measured"
  for (const k of ['loss', 'valLoss', 'steps', 'trainedChars']) if (o[k] === null) delete o[k];
  const field = (key: string, ok: boolean, want: string): void => {
    if (o[key] !== undefined && !ok) bad(`metadata "gatescope.info" field "${key}" must be ${want}`);
  };
  field('source', typeof o['source'] === 'string', 'a string');
  field('created', typeof o['created'] === 'string', 'a string');
  for (const k of ['steps', 'trainedChars']) field(k, isCount(o[k]), 'a non-negative integer');
  for (const k of ['loss', 'valLoss']) field(k, typeof o[k] === 'number', 'a number');
  field('textHash', isHash(o['textHash']), 'a SHA-256 hex string');
  field('join', (TEXT_JOINS as readonly unknown[]).includes(o['join']), `one of ${TEXT_JOINS.join(', ')}`);
  const sources = o['sources'];
  field('sources', Array.isArray(sources) && sources.every((x: unknown) => {
    if (x === null || typeof x !== 'object') return false;
    const { uri, range, bytes } = x as Record<string, unknown>;
    const r = range as Record<string, unknown> | undefined;
    return typeof uri === 'string' && (bytes === undefined || isCount(bytes)) &&
      (r === undefined || (r !== null && typeof r === 'object' && isCount(r['start']) && isCount(r['end']) && (r['start'] as number) <= (r['end'] as number)));
  }), 'an array of {uri, range?: {start, end}, bytes?}');
  const c = o['comparisonOf'] as Record<string, unknown> | undefined;
  field('comparisonOf', c !== null && typeof c === 'object' && isHash(c['modelHash']) && isHash(c['textHash']) && typeof c['likeForLike'] === 'boolean',
    'an object {modelHash, textHash, likeForLike}');
  return o as ModelInfo;
}

function parseJson<T>(s: string | undefined, key: string, bad: (m: string) => never): T | null {
  if (s === undefined) return null;
  try {
    // gatescope.info and gatescope.train are objects of fields, a few levels deep (sources[k].range)
    const v = parseUntrustedJson(s, { maxDepth: 4, maxArrayLength: 1_000_000, maxKeys: 4_000_000, maxStringLength: 1 << 20 },
      (reason) => bad(`metadata "${key}" ${reason}`));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(`metadata "${key}" is not a JSON object`);
    return v as T;
  } catch (e) {
    if (e instanceof GatescopeError) throw e;
    return bad(`metadata "${key}" is not valid JSON`);
  }
}
