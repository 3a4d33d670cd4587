import * as path from 'node:path';
import { GatescopeError } from '../engine/errors';
import { BUILTIN_FEATURES, computeFeature, featureName, isBinary, LANGS, langOfFile, parseRanges, type FeatureSpec, type Lang } from '../engine/features';
import { rowHelpers } from '../engine/backend';
import { nodeThreads } from '../engine/parallel/nodeThreads';
import { withForwardRecord } from '../engine/trace';
import { UnitStats, type Ranking, type UnitQuantity } from '../engine/units';
import { searchQuantities } from '../protocol/units';
import { prepareOutput, readModelFile, readTextFile, outputName, writeOutput } from './files';

export interface UnitsCliOptions {
  model: string; input: string; feature?: string; regex?: string; ranges?: string; lang?: string;
  quantity: string; layer?: number; top: number; json?: string;
}

const QUANTITIES: readonly string[] = ['c', 'tanh(c)', 'h', 'i', 'f', 'g', 'o', 'r', 'z', 'n'];

/** `gatescope units`: the units whose value follows a per-character feature, ranked by |Pearson r|. */
export function runUnits(o: UnitsCliOptions): void {
  const given = [o.feature, o.regex, o.ranges].filter((x) => x !== undefined).length;
  if (given !== 1) throw new GatescopeError('give exactly one of --feature, --regex or --ranges');
  const lang = o.lang ?? langOfFile(o.input);
  if (!(LANGS as readonly string[]).includes(lang)) throw new GatescopeError(`--lang must be one of ${LANGS.join(', ')}, not ${JSON.stringify(lang)}`);
  if (o.json) prepareOutput(o.json, [o.model, o.input], '--json');
  const m = readModelFile(o.model);
  const text = readTextFile(o.input);
  const tokens = m.vocab.encode(text);
  const chars = Array.from(tokens, (id) => m.vocab.chars[id]!);
  let spec: FeatureSpec;
  if (o.regex !== undefined) spec = { kind: 'regex', source: o.regex };
  else if (o.ranges !== undefined) spec = { kind: 'ranges', ranges: parseRanges(o.ranges, chars.length) };
  else {
    const f = o.feature!;
    if (!(BUILTIN_FEATURES as readonly string[]).includes(f)) throw new GatescopeError(`--feature must be one of ${BUILTIN_FEATURES.join(', ')}, not ${JSON.stringify(f)}`);
    spec = f === 'depth' || f === 'string' || f === 'comment' ? { kind: f, lang: lang as Lang } : { kind: f as 'column' | 'line-length' | 'indent' };
  }
  const { cell, hidden: H, layers: L } = m.net.cfg;
  if (o.layer !== undefined && o.layer >= L) throw new GatescopeError(`--layer ${o.layer} does not exist: the model has layers 0 to ${L - 1}`);
  let quantities: UnitQuantity[] | undefined;
  if (o.quantity !== 'all') {
    if (!QUANTITIES.includes(o.quantity)) throw new GatescopeError(`--quantity must be one of ${QUANTITIES.join(', ')} or all, not ${JSON.stringify(o.quantity)}`);
    const has: readonly string[] = searchQuantities(cell);
    if (!has.includes(o.quantity)) throw new GatescopeError(`this ${cell} model has no ${o.quantity}: use one of ${has.join(', ')}`);
    quantities = [o.quantity as UnitQuantity];
  }
  const x = computeFeature(chars, spec);
  const ranking = withForwardRecord(m.net, tokens, { rowHelper: rowHelpers(nodeThreads) },
    (rec) => new UnitStats(rec, tokens.length, H).rank(x, { quantities, layer: o.layer, top: o.top, binary: isBinary(spec) }));
  if (o.json) {
    writeOutput(o.json, new TextEncoder().encode(unitsToJson(spec, ranking, tokens.length)));
    process.stderr.write(`ranked ${ranking.searched} units against ${featureName(spec)}; wrote ${outputName(o.json)}\n`);
    return;
  }
  process.stdout.write(unitsTable(spec, ranking, path.basename(o.model), path.basename(o.input), tokens.length));
}

/** The JSON of `gatescope units --json`: the feature, and the units sorted by |r| (`layer` 0-based, as `--layer` and PyTorch's `_l0`). */
export function unitsToJson(spec: FeatureSpec, r: Ranking, T: number): string {
  const g = (v: number): number => Number(v.toPrecision(6));
  return JSON.stringify({
    feature: featureName(spec), spec, characters: T, searched: r.searched, constant: r.constant,
    units: r.units.map((u) => ({ layer: u.layer, unit: u.unit, quantity: u.quantity, r: g(u.r),
      ...(u.meanIn !== undefined ? { meanIn: g(u.meanIn), meanOut: g(u.meanOut!) } : {}) })),
  });
}

export function unitsTable(spec: FeatureSpec, r: Ranking, model: string, input: string, T: number): string {
  const binary = r.units.some((u) => u.meanIn !== undefined);
  const header = ['rank', 'layer', 'unit', 'quantity', 'r', ...(binary ? ['mean inside', 'mean outside'] : [])];
  const rows = r.units.map((u, i) => [String(i + 1), String(u.layer), String(u.unit), u.quantity, u.r.toFixed(3),
    ...(binary ? [u.meanIn!.toFixed(3), u.meanOut!.toFixed(3)] : [])]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((c, i) => (i >= 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const constant = r.constant > 0 ? ` (${r.constant} never change and are left out)` : '';
  return [
    `${model} on ${input} (${T} characters): units against ${featureName(spec)}, by |Pearson r| over ${r.searched} units${constant}`,
    '', line(header), ...rows.map(line), '',
  ].join('\n');
}
