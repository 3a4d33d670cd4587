import { GatescopeError } from './errors';
import { parseUntrustedJson } from './json';
import { encodeModelFile } from './modelfile';
import { Network } from './network';
import { readTorchSave } from './pytorch/torchSave';
import { isTorchTensor, type TorchDict, type TorchValue } from './pytorch/values';
import { looksLikeZip } from './pytorch/zip';
import { parseSafetensors, tensorToFloat32 } from './safetensors';
import { CELL_TYPES, gateCount, isCellType, type CellType, type ModelConfig } from './types';
import { MAX_VOCAB, Vocabulary } from './vocab';

/**
 * Bring your own PyTorch model: a `torch.save` state_dict (or a checkpoint dict holding one) or a safetensors file
 * under any tensor names, made a Gatescope model file. The recurrent module is found by PyTorch's own parameter
 * names (weight_ih_l0, weight_hh_l0, … of nn.LSTM / nn.GRU / nn.RNN), the cell by the gate multiple of its rows
 * (4H LSTM, 3H GRU, H RNN; gate order i, f, g, o and r, z, n, as PyTorch stores them and as Gatescope computes),
 * the embedding and the output layer by shape, and by common names where the shapes leave a choice. Nothing in
 * the file is executed (pytorch/pickle.ts).
 *
 * Dimension legend: V vocabulary, E embedding (the first layer's input), H hidden, G gates, L layers.
 */

/** A floating-point tensor of the foreign file, by its (normalised) name. */
interface Source {
  /** The name in the file. */
  readonly original: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  /** Row-major float32 values; null for an integer or boolean tensor (never a weight). */
  readonly values: Float32Array | null;
  /** Tensors that share storage (tied weights) name the same storage; safetensors: null. */
  readonly storage: string | null;
}

export interface ImportOptions {
  /** The file's name, for messages and the model's record of where it came from. */
  readonly fileName: string;
  /** The vocabulary, index = token id (from --vocab or the user); else the file's own, if it has one. */
  readonly vocab?: readonly string[] | null;
  /** The cell (--cell); else the file's metadata, else the gate multiple (a vanilla RNN is read as tanh). */
  readonly cell?: CellType | null;
  /**
   * Renames applied after the wrapper prefixes are stripped, the first that applies: [from, to] of whole names, or
   * of prefixes when both end with '.' (`lstm.=rnn.`); an empty `to` leaves the tensors out (`rnn2.=`).
   */
  readonly map?: readonly (readonly [string, string])[];
  /** The recurrent module to use where the file has several (its name prefix, '' for the top level); the rest are ignored. */
  readonly module?: string | null;
}

export interface ImportResult {
  /** The Gatescope model file. */
  readonly bytes: Uint8Array;
  readonly config: ModelConfig;
  readonly vocab: readonly string[];
  /** Each Gatescope tensor and where it came from: a name in the file, or how it was made (zeros, identity, tied). */
  readonly mapping: readonly { readonly to: string; readonly from: string }[];
  /** What the user should know: stripped prefixes, zero biases, tied weights, ignored tensors, the vocabulary's source. */
  readonly notes: readonly string[];
  readonly format: 'torch.save' | 'safetensors';
}

/** Prefixes that wrappers add to every name: DistributedDataParallel, Lightning and friends, torch.compile. */
const WRAPPER_PREFIXES = ['module.', '_orig_mod.', 'model.'];
/** Name parts that say "this is the embedding" / "the output layer", most telling first. */
const EMBEDDING_NAMES = ['encoder', 'embedding', 'embed', 'emb', 'embeddings', 'wte', 'tok_emb', 'word_embeddings', 'token_embedding'];
const OUTPUT_NAMES = ['decoder', 'fc', 'head', 'lm_head', 'out', 'output', 'linear', 'proj', 'classifier', 'logits', 'dense'];
/** Checkpoint-dict keys under which the weights and the vocabulary usually sit. */
const STATE_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'module', 'weights', 'params'];
const VOCAB_KEYS = ['vocab', 'chars', 'itos', 'idx2char', 'idx_to_char', 'vocabulary', 'stoi', 'char2idx', 'char_to_idx', 'tokens'];
/** PyTorch's recurrent parameter names: weight_ih_l0, bias_hh_l1_reverse, weight_hr_l0 (proj_size), weight_ih (a Cell). */
const RECURRENT = /^(?:(.*)\.)?(weight|bias)_(ih|hh|hr)(?:_l(\d+))?(_reverse)?$/;

export function importModel(bytes: Uint8Array, options: ImportOptions): ImportResult {
  const notes: string[] = [];
  const read = readForeign(bytes);
  const sources = normalise(read.tensors, options.map ?? [], notes);
  const model = mapTensors(sources, options.cell ?? read.cell, options.module ?? null, notes);
  const vocabChars = chooseVocab(options.vocab ?? null, read.vocab, model.config.vocabSize, notes);
  const vocab = new Vocabulary(vocabChars);
  const net = new Network(model.config);
  for (const t of net.layout.tensors) {
    const values = model.values.get(t.name)!;
    if (values.length !== t.size) throw new Error(`import: ${t.name} has ${values.length} values for ${t.size}`);
    net.params.set(values, t.offset);
  }
  for (const [i, v] of net.params.entries()) {
    if (!Number.isFinite(v)) {
      const t = net.layout.tensors.find((x) => i >= x.offset && i < x.offset + x.size)!;
      throw new GatescopeError(`${model.sourceOf.get(t.name) ?? t.name} holds ${v} (at index ${i - t.offset}): the model's weights must be finite numbers`, 'bad-model-file');
    }
  }
  const file = encodeModelFile(net, vocab, { source: `imported from ${options.fileName} (${read.format})` }, null);
  const mapping = net.layout.tensors.map((t) => ({ to: t.name, from: model.sourceOf.get(t.name)! }));
  return { bytes: file, config: model.config, vocab: vocab.chars, mapping, notes, format: read.format };
}

// ---- reading ------------------------------------------------------------------------------------------------

interface Foreign {
  readonly format: 'torch.save' | 'safetensors';
  readonly tensors: Source[];
  readonly vocab: { readonly chars: string[]; readonly where: string } | null;
  readonly cell: CellType | null;
}

function readForeign(bytes: Uint8Array): Foreign {
  if (bytes.length === 0) throw new GatescopeError('the file is empty', 'bad-model-file');
  // a torch.save file is a zip (PyTorch ≥ 1.6) or, in the legacy format, a pickle (0x80 = PROTO): the reader
  // knows both and says what to do with the legacy one
  if (looksLikeZip(bytes) || bytes[0] === 0x80) return fromTorch(readTorchSave(bytes));
  const file = parseSafetensors(bytes);
  const tensors: Source[] = [];
  for (const [name, entry] of file.tensors) {
    const float = entry.dtype === 'F32' || entry.dtype === 'F16' || entry.dtype === 'BF16' || entry.dtype === 'F64';
    tensors.push({ original: name, shape: entry.shape, dtype: entry.dtype, values: float ? tensorToFloat32(name, entry) : null, storage: null });
  }
  const meta = file.metadata;
  let vocab: Foreign['vocab'] = null;
  if (meta['vocab'] !== undefined) {
    const v = parseUntrustedJson(meta['vocab'], { maxDepth: 1, maxArrayLength: MAX_VOCAB, maxKeys: MAX_VOCAB, maxStringLength: 64 },
      (reason) => { throw new GatescopeError(`metadata "vocab" ${reason}`, 'bad-model-file'); });
    const chars = vocabFromValue(v);
    if (chars === null) throw new GatescopeError(`metadata "vocab" is not a list of tokens or an object token → id`, 'bad-model-file');
    vocab = { chars, where: 'the file\'s metadata "vocab"' };
  }
  const cell = meta['cell'];
  if (cell !== undefined && !isCellType(cell)) {
    throw new GatescopeError(`metadata "cell" is ${JSON.stringify(cell)}, not one of ${CELL_TYPES.join(', ')}`, 'bad-model-file');
  }
  return { format: 'safetensors', tensors, vocab, cell: (cell as CellType | undefined) ?? null };
}

/** The state_dict of a torch.save value: the value itself, or the dict of tensors a checkpoint dict holds. */
function fromTorch(value: TorchValue): Foreign {
  const dicts: { path: string; dict: TorchDict; tensors: number }[] = [];
  let vocab: Foreign['vocab'] = null;
  const visit = (v: TorchValue, path: string, depth: number): void => {
    if (!(v instanceof Map) || depth > 3) return;
    let tensors = 0;
    for (const [k, x] of v) {
      if (isTorchTensor(x)) tensors++;
      else if (x instanceof Map) visit(x, path ? `${path}.${String(k)}` : String(k), depth + 1);
      if (vocab === null && typeof k === 'string' && VOCAB_KEYS.includes(k.toLowerCase())) {
        const chars = vocabFromValue(x);
        if (chars !== null) vocab = { chars, where: `the checkpoint's "${path ? `${path}.` : ''}${k}"` };
      }
    }
    if (tensors > 0) dicts.push({ path, dict: v, tensors });
  };
  if (isTorchTensor(value)) throw new GatescopeError(`the file holds one tensor, not a model's state_dict: save it with torch.save(model.state_dict(), PATH)`, 'bad-model-file');
  visit(value, '', 0);
  if (dicts.length === 0) {
    throw new GatescopeError(`the file holds ${describeValue(value)}, with no tensors: save the model's weights with torch.save(model.state_dict(), PATH)`, 'bad-model-file');
  }
  // the dict of the most tensors; among equals, the one under a usual key (an optimizer's state holds tensors too)
  const rank = (d: (typeof dicts)[number]): number => d.tensors * 10 + (STATE_KEYS.includes(d.path.split('.').pop() ?? '') ? 1 : 0);
  dicts.sort((a, b) => rank(b) - rank(a));
  const chosen = dicts[0]!;
  const tensors: Source[] = [];
  for (const [k, x] of chosen.dict) {
    if (!isTorchTensor(x)) continue;
    tensors.push({ original: String(k), shape: x.shape, dtype: x.dtype, values: x.data instanceof Float32Array ? x.data : null, storage: x.storageKey });
  }
  return { format: 'torch.save', tensors, vocab, cell: null };
}

/** A vocabulary from a JSON or pickled value: a list of tokens, or a mapping token → id (or id → token). */
function vocabFromValue(v: unknown): string[] | null {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? (v as string[]) : null;
  const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : v !== null && typeof v === 'object' ? Object.entries(v) : [];
  if (entries.length === 0) return null;
  const byId: string[] = [];
  for (const [a, b] of entries) {
    const [token, id] = typeof a === 'string' && typeof b === 'number' ? [a, b] : typeof b === 'string' ? [b, Number(a)] : [null, NaN];
    if (token === null || !Number.isInteger(id) || id < 0 || id >= entries.length || byId[id] !== undefined) return null;
    byId[id] = token;
  }
  return byId.length === entries.length && byId.every((x) => x !== undefined) ? byId : null;
}

function describeValue(v: TorchValue): string {
  if (v instanceof Map) return `a dict of ${v.size} entr${v.size === 1 ? 'y' : 'ies'}`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return v === null ? 'None' : typeof v === 'string' ? 'a string' : `a ${typeof v}`;
}

// ---- names --------------------------------------------------------------------------------------------------

/** Names as the mapping sees them: wrapper prefixes stripped, the user's renames applied; duplicates refused. */
function normalise(tensors: readonly Source[], map: readonly (readonly [string, string])[], notes: string[]): Map<string, Source> {
  const stripped = new Set<string>();
  const droppedNames: string[] = [];
  const applied = new Set<string>();
  const out = new Map<string, Source>();
  for (const t of tensors) {
    let name = t.original;
    for (let again = true; again;) {
      again = false;
      for (const p of WRAPPER_PREFIXES) {
        if (name.startsWith(p) && name.length > p.length) {
          name = name.slice(p.length);
          stripped.add(p);
          again = true;
        }
      }
    }
    let dropped = false;
    for (const [from, to] of map) {
      const prefix = from.endsWith('.') && (to.endsWith('.') || to === '');
      if (prefix ? name.startsWith(from) : name === from) {
        applied.add(from);
        if (to === '') dropped = true;
        else name = prefix ? to + name.slice(from.length) : to;
        break;
      }
    }
    if (dropped) {
      droppedNames.push(t.original);
      continue;
    }
    const before = out.get(name);
    if (before) throw new GatescopeError(`two tensors become ${name}: ${before.original} and ${t.original}; rename one with --map FROM=TO`, 'invalid-input');
    out.set(name, t);
  }
  if (droppedNames.length) notes.push(`left out ${droppedNames.length} tensor${droppedNames.length > 1 ? 's' : ''} as --map asked: ${droppedNames.slice(0, 8).join(', ')}${droppedNames.length > 8 ? ', …' : ''}`);
  if (stripped.size) notes.push(`stripped the wrapper prefix${stripped.size > 1 ? 'es' : ''} ${[...stripped].map((p) => `"${p}"`).join(', ')} from the names`);
  for (const [from] of map) if (!applied.has(from)) notes.push(`--map ${from}=…: no tensor is named so (after the wrapper prefixes are stripped)`);
  return out;
}

function shapeOf(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

/** The tensors of a file, for a message that must say what was found. */
function listTensors(sources: ReadonlyMap<string, Source>): string {
  const all = [...sources].map(([n, t]) => `${n} ${shapeOf(t.shape)}${t.values === null ? ` ${t.dtype}` : ''}`);
  return `the file holds ${all.length} tensor${all.length === 1 ? '' : 's'}: ${all.slice(0, 24).join(', ')}${all.length > 24 ? `, and ${all.length - 24} more` : ''}`;
}

// ---- roles --------------------------------------------------------------------------------------------------

interface Mapped {
  readonly config: ModelConfig;
  /** Gatescope tensor name → its values in Gatescope's layout. */
  readonly values: Map<string, Float32Array>;
  /** Gatescope tensor name → where it came from. */
  readonly sourceOf: Map<string, string>;
}

function mapTensors(sources: Map<string, Source>, cellOption: CellType | null, chosen: string | null, notes: string[]): Mapped {
  const fail = (msg: string): never => {
    throw new GatescopeError(`${msg}; ${listTensors(sources)}`, 'bad-model-file');
  };
  // the recurrent module: PyTorch's parameter names, grouped by the module that holds them
  const modules = recurrentModules(sources);
  if (chosen !== null && modules.size > 1) {
    if (!modules.has(chosen)) fail(`there is no recurrent module "${chosen}" (the file's are ${[...modules.keys()].map((p) => `"${p}"`).join(', ')})`);
    notes.push(`used the recurrent module "${chosen}" of ${modules.size}; the others are ignored`);
    for (const p of [...modules.keys()]) if (p !== chosen) modules.delete(p);
  }
  if (modules.size === 0) {
    fail('found no recurrent module (PyTorch nn.LSTM, nn.GRU or nn.RNN parameters named weight_ih_l0, weight_hh_l0, …); ' +
      'if yours has other names, map them with --map, e.g. --map cell.W=rnn.weight_ih_l0');
  }
  if (modules.size > 1) {
    const names = [...modules.keys()].map((p) => `"${p || '(top level)'}"`).join(', ');
    const other = [...modules.keys()][1] || 'rnn2';
    throw new GatescopeError(`found ${modules.size} recurrent modules (${names}); Gatescope's model has one (its layers are one module's): ` +
      `leave the others out with --map, e.g. --map ${other}.=; ${listTensors(sources)}`, 'choose-module');
  }
  const [prefix, rec] = [...modules][0]!;
  const at = (n: string): string => (prefix ? `${prefix}.${n}` : n);
  if ([...rec.keys()].some((k) => k.endsWith('_reverse'))) {
    fail(`${prefix || 'the recurrent module'} is bidirectional (${at('weight_ih_l0_reverse')}): its output reads a right-to-left pass too, ` +
      'which a language model predicting the next character cannot have and Gatescope does not run; train it with bidirectional=False');
  }
  if ([...rec.keys()].some((k) => k.startsWith('weight_hr'))) {
    const hr = rec.get('weight_hr_l0') ?? [...rec.entries()].find(([k]) => k.startsWith('weight_hr'))![1];
    fail(`${prefix || 'the recurrent module'} is an LSTM with proj_size = ${hr.shape[0]} (${at('weight_hr_l0')} ${shapeOf(hr.shape)}): ` +
      'its hidden state is projected to that size after every step, which Gatescope does not compute; train with proj_size=0');
  }
  const cellStyle = rec.has('weight_ih') && !rec.has('weight_ih_l0');
  const layerName = (kind: string, l: number): string => (cellStyle ? kind : `${kind}_l${l}`);
  let L = 0;
  while (rec.has(layerName('weight_ih', L)) && !(cellStyle && L > 0)) L++;
  if (L === 0) fail(`${at('weight_ih_l0')} is missing from the recurrent module`);
  const weight = (kind: string, l: number): Source => {
    const t = rec.get(layerName(kind, l));
    if (!t) return fail(`${at(layerName(kind, l))} is missing`);
    if (t.values === null) return fail(`${at(layerName(kind, l))} is ${t.dtype}: a model's weights are floating point`);
    return t;
  };
  const whh0 = weight('weight_hh', 0);
  if (whh0.shape.length !== 2 || whh0.shape[1]! < 1 || whh0.shape[0]! % whh0.shape[1]! !== 0) {
    fail(`${at(layerName('weight_hh', 0))} has shape ${shapeOf(whh0.shape)}, not [G·H, H] of a recurrent layer`);
  }
  const H = whh0.shape[1]!;
  const G = whh0.shape[0]! / H;
  const byGates: Record<number, CellType> = { 4: 'lstm', 3: 'gru', 1: 'rnn_tanh' };
  let cell: CellType;
  if (cellOption) {
    if (gateCount(cellOption) !== G) {
      fail(`--cell ${cellOption} has ${gateCount(cellOption)} gate block${gateCount(cellOption) > 1 ? 's' : ''} of H rows, but ${at(layerName('weight_hh', 0))} ${shapeOf(whh0.shape)} has ${G}`);
    }
    cell = cellOption;
  } else {
    const c = byGates[G];
    if (c === undefined) fail(`${at(layerName('weight_hh', 0))} ${shapeOf(whh0.shape)} has ${G} blocks of H = ${H} rows: an LSTM has 4, a GRU 3, an RNN 1`);
    cell = c!;
    if (cell === 'rnn_tanh') notes.push('a vanilla RNN reads as nonlinearity=\'tanh\'; if yours used \'relu\', import with --cell rnn_relu');
  }
  const GH = G * H;
  const E = weight('weight_ih', 0).shape[1] ?? 0;
  const values = new Map<string, Float32Array>();
  const sourceOf = new Map<string, string>();
  const used = new Set<Source>();
  const take = (to: string, t: Source, want: readonly number[]): void => {
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      fail(`${t.original} has shape ${shapeOf(t.shape)}, expected ${shapeOf(want)} for ${to} (${cell}, ${L} layer${L > 1 ? 's' : ''}, hidden ${H}, input ${E})`);
    }
    if (t.values === null) fail(`${t.original} is ${t.dtype}: a model's weights are floating point`);
    values.set(to, t.values!);
    sourceOf.set(to, t.original);
    used.add(t);
  };
  let zeroBiases = 0;
  for (let l = 0; l < L; l++) {
    take(`rnn.weight_ih_l${l}`, weight('weight_ih', l), [GH, l === 0 ? E : H]);
    take(`rnn.weight_hh_l${l}`, weight('weight_hh', l), [GH, H]);
    for (const kind of ['bias_ih', 'bias_hh']) {
      const b = rec.get(layerName(kind, l));
      if (b) take(`rnn.${kind}_l${l}`, b, [GH]);
      else {
        values.set(`rnn.${kind}_l${l}`, new Float32Array(GH));
        sourceOf.set(`rnn.${kind}_l${l}`, 'zeros (no bias in the file: bias=False)');
        zeroBiases++;
      }
    }
  }
  if (zeroBiases) notes.push(`the recurrent module has no biases (bias=False): ${zeroBiases} zero bias vectors`);

  // the output layer: a matrix [V, H] outside the recurrent module, by name where several fit
  const rest = [...sources].filter(([, t]) => !used.has(t) && t.values !== null);
  const nameScore = (name: string, words: readonly string[]): number => {
    const parts = name.toLowerCase().split('.');
    const i = words.findIndex((w) => parts.includes(w));
    return i < 0 ? 0 : words.length - i;
  };
  const pick = (candidates: [string, Source][], words: readonly string[], what: string, hint: string): [string, Source] | null => {
    if (candidates.length <= 1) return candidates[0] ?? null;
    const scored = candidates.map((c) => [c, nameScore(c[0], words)] as const).sort((a, b) => b[1] - a[1]);
    if (scored[0]![1] > scored[1]![1]) return scored[0]![0];
    return fail(`${candidates.length} tensors could be the ${what} (${candidates.map(([n, t]) => `${n} ${shapeOf(t.shape)}`).join(', ')}); name it with --map ${candidates[0]![0]}=${hint}`);
  };
  const outputs = rest.filter(([n, t]) => t.shape.length === 2 && t.shape[1] === H && n.endsWith('weight'));
  const embeddings = rest.filter(([n, t]) => t.shape.length === 2 && t.shape[1] === E && (n.endsWith('weight') || !n.includes('.')));
  let out = pick(outputs.filter(([n]) => nameScore(n, OUTPUT_NAMES) > 0).length ? outputs.filter(([n]) => nameScore(n, OUTPUT_NAMES) > 0 || nameScore(n, EMBEDDING_NAMES) === 0) : outputs,
    OUTPUT_NAMES, 'output layer', 'decoder.weight');
  // an output layer that is really the embedding (E = H, no other candidate): the tied case, handled below
  if (out && nameScore(out[0], EMBEDDING_NAMES) > 0 && nameScore(out[0], OUTPUT_NAMES) === 0) out = null;
  let emb = pick(embeddings.filter(([, t]) => !out || t !== out[1] || t.storage !== null), EMBEDDING_NAMES, 'embedding', 'encoder.weight');
  if (emb && out && emb[1] === out[1]) emb = null;
  let V: number;
  if (out) {
    V = out[1].shape[0]!;
    take('decoder.weight', out[1], [V, H]);
    const biasName = out[0].replace(/weight$/, 'bias');
    const bias = sources.get(biasName);
    if (bias && bias.values !== null) take('decoder.bias', bias, [V]);
    else {
      values.set('decoder.bias', new Float32Array(V));
      sourceOf.set('decoder.bias', 'zeros (the output layer has no bias)');
      notes.push(`the output layer ${out[0]} has no bias: decoder.bias is zeros`);
    }
    if (emb && emb[1].storage !== null && emb[1].storage === out[1].storage) notes.push(`${emb[0]} and ${out[0]} share one storage: tied weights`);
  } else if (emb && E === H) {
    V = emb[1].shape[0]!;
    values.set('decoder.weight', emb[1].values!);
    sourceOf.set('decoder.weight', `${emb[0]} (tied weights)`);
    const bias = [...sources].find(([n, t]) => t.shape.length === 1 && t.shape[0] === V && nameScore(n, OUTPUT_NAMES) > 0 && n.endsWith('bias'));
    if (bias) take('decoder.bias', bias[1], [V]);
    else {
      values.set('decoder.bias', new Float32Array(V));
      sourceOf.set('decoder.bias', 'zeros (no output bias in the file)');
    }
    notes.push(`no separate output layer: the decoder is ${emb[0]} (tied weights, word_language_model's --tied)`);
  } else {
    return fail(`found no output layer: a matrix [V, ${H}] (V the vocabulary, ${H} the hidden size) outside the recurrent module; name it with --map NAME=decoder.weight`);
  }
  if (emb) {
    take('encoder.weight', emb[1], [V, E]);
  } else if (E === V) {
    // one-hot input: the first layer's W_ih is the embedding; Gatescope's embedding is then the identity
    const eye = new Float32Array(V * V);
    for (let i = 0; i < V; i++) eye[i * V + i] = 1;
    values.set('encoder.weight', eye);
    sourceOf.set('encoder.weight', 'the identity (one-hot input, no embedding in the file)');
    notes.push(`no embedding: the input is one-hot (weight_ih_l0 has ${V} columns, the vocabulary's size), so encoder.weight is the ${V} × ${V} identity`);
  } else {
    return fail(`found no embedding: a matrix [${V}, ${E}] (the vocabulary by the first layer's input); name it with --map NAME=encoder.weight`);
  }
  const ignored = [...sources].filter(([, t]) => !used.has(t) && ![...sourceOf.values()].some((s) => s.startsWith(`${t.original} `) || s === t.original));
  if (ignored.length) notes.push(`ignored ${ignored.length} tensor${ignored.length > 1 ? 's' : ''} the model does not use: ${ignored.slice(0, 12).map(([n, t]) => `${n} ${shapeOf(t.shape)}`).join(', ')}${ignored.length > 12 ? ', …' : ''}`);
  return { config: { cell, vocabSize: V, embed: E, hidden: H, layers: L }, values, sourceOf };
}

/** The recurrent modules of a state_dict by name prefix ('' at the top level): PyTorch's parameter names per module. */
function recurrentModules(sources: ReadonlyMap<string, Source>): Map<string, Map<string, Source>> {
  const modules = new Map<string, Map<string, Source>>();
  for (const [name, t] of sources) {
    const m = RECURRENT.exec(name);
    if (!m) continue;
    const prefix = m[1] ?? '';
    if (!modules.has(prefix)) modules.set(prefix, new Map());
    modules.get(prefix)!.set(name.slice(prefix ? prefix.length + 1 : 0), t);
  }
  return modules;
}

/** The recurrent modules of a foreign file, each with its first layer's W_hh shape: what to offer when it has several. */
export function listRecurrentModules(bytes: Uint8Array): { readonly name: string; readonly detail: string }[] {
  const sources = normalise(readForeign(bytes).tensors, [], []);
  return [...recurrentModules(sources)].map(([name, rec]) => {
    const whh = rec.get('weight_hh_l0') ?? rec.get('weight_hh');
    let layers = 0;
    while (rec.has(`weight_ih_l${layers}`)) layers++;
    return { name, detail: `${Math.max(layers, 1)} layer${layers > 1 ? 's' : ''}, weight_hh ${whh ? shapeOf(whh.shape) : '?'}` };
  });
}

// ---- vocabulary ---------------------------------------------------------------------------------------------

function chooseVocab(given: readonly string[] | null, inFile: Foreign['vocab'], V: number, notes: string[]): string[] {
  const chosen = given ? { chars: [...given], where: 'the given vocabulary' } : inFile;
  if (chosen === null) {
    throw new GatescopeError(`the file has no vocabulary (its ${V} token ids need their characters): pass one with --vocab FILE — a JSON list ` +
      '["a", "b", …] (index = id), a JSON object {"a": 0, …}, or a text file of one token per line (\\n, \\t, \\\\ escaped)', 'needs-vocabulary');
  }
  if (chosen.chars.length !== V) {
    throw new GatescopeError(`${chosen.where} has ${chosen.chars.length} tokens but the model has ${V} (its output layer's rows): pass the vocabulary it was trained with`, 'invalid-input');
  }
  if (!given) notes.push(`vocabulary of ${V} from ${chosen.where}`);
  const special = chosen.chars.filter((t) => [...t].length > 1);
  if (special.length) notes.push(`${special.length} special token${special.length > 1 ? 's' : ''} (${special.slice(0, 5).join(', ')}) never occur in text: shown as written where the model predicts them`);
  return chosen.chars;
}

/**
 * A vocabulary file: a JSON list of tokens (index = id), a JSON object token → id, or a text file of one token per
 * line with \n, \t, \r, \\ and \s (space) escaped; an empty last line is ignored.
 */
export function parseVocabFile(text: string, fileName: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    const v = parseUntrustedJson(trimmed, { maxDepth: 1, maxArrayLength: MAX_VOCAB, maxKeys: MAX_VOCAB, maxStringLength: 64 },
      (reason) => { throw new GatescopeError(`${fileName}: ${reason}`, 'invalid-input'); });
    const chars = vocabFromValue(v);
    if (chars === null) throw new GatescopeError(`${fileName} is JSON but not a list of tokens or an object token → id (ids 0 … N−1, each once)`, 'invalid-input');
    return chars;
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    const token = line.replace(/\r$/, '').replace(/\\([ntr\\s])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\', s: ' ' })[c]!);
    if (token === '') throw new GatescopeError(`${fileName} line ${i + 1} is empty: write a space as \\s and a newline as \\n`, 'invalid-input');
    return token;
  });
}
