import * as path from 'node:path';
import { GatescopeError } from '../engine/errors';
import { importModel, parseVocabFile } from '../engine/importModel';
import { decodeModelFile } from '../engine/modelfile';
import { isCellType, CELL_TYPES, type CellType } from '../engine/types';
import { lockOutput, outputName, prepareOutput, readBytes, readTextFile, STDOUT, writeOutput } from './files';
import { printable } from './terminal';

export interface ImportCliOptions {
  readonly out: string;
  readonly vocab?: string;
  readonly cell?: string;
  readonly map?: readonly string[];
  readonly json?: boolean;
}

/**
 * `gatescope import FILE --out M.safetensors`: a PyTorch model (a torch.save state_dict or checkpoint, or
 * safetensors under any names) made a Gatescope model; says what became what. Nothing is written on failure.
 */
export function runImport(file: string, o: ImportCliOptions): void {
  if (o.cell !== undefined && !isCellType(o.cell)) throw new GatescopeError(`--cell ${o.cell}: use one of ${CELL_TYPES.join(', ')}`);
  const map = (o.map ?? []).map((m): [string, string] => {
    const i = m.indexOf('=');
    if (i <= 0) throw new GatescopeError(`--map ${m}: write FROM=TO, e.g. --map fc.weight=decoder.weight or --map lstm.=rnn. (an empty TO leaves FROM out)`);
    return [m.slice(0, i), m.slice(i + 1)];
  });
  const vocab = o.vocab !== undefined ? parseVocabFile(readTextFile(o.vocab), o.vocab) : null;
  if (o.out !== STDOUT && !o.out.endsWith('.safetensors')) throw new GatescopeError(`--out ${o.out}: a Gatescope model is a .safetensors file`);
  prepareOutput(o.out, [file, ...(o.vocab ? [o.vocab] : [])], '--out');
  const bytes = readBytes(file, 'model file');
  let result;
  try {
    result = importModel(bytes, { fileName: path.basename(file), vocab, cell: (o.cell as CellType | undefined) ?? null, map });
  } catch (e) {
    if (e instanceof GatescopeError) throw new GatescopeError(`${file}: ${e.message}`, e.code);
    throw e;
  }
  // the file must load as every Gatescope model does before it takes the output's name
  decodeModelFile(result.bytes);
  const unlock = lockOutput(o.out);
  try {
    writeOutput(o.out, result.bytes);
  } finally {
    unlock();
  }
  const c = result.config;
  // the model itself on standard output: what was done goes to standard error
  const say = (s: string): boolean => (o.out === STDOUT ? process.stderr.write(s) : process.stdout.write(s));
  if (o.json) {
    say(JSON.stringify({ out: o.out, format: result.format, config: c, mapping: result.mapping, notes: result.notes }, null, 2) + '\n');
    return;
  }
  const width = Math.max(...result.mapping.map((m) => m.to.length));
  const lines = [
    `${file} (${result.format}) → ${outputName(o.out)}`,
    `  ${c.cell}, ${c.layers} layer${c.layers > 1 ? 's' : ''} × ${c.hidden} hidden, embedding ${c.embed}, vocabulary ${c.vocabSize} (gate order ${c.cell === 'lstm' ? 'i, f, g, o' : c.cell === 'gru' ? 'r, z, n' : 'one block'}, as PyTorch's)`,
    ...result.mapping.map((m) => `  ${m.to.padEnd(width)}  ← ${m.from}`),
    ...result.notes.map((n) => `  note: ${n}`),
  ];
  say(lines.map(printable).join('\n') + '\n');
}
