import * as path from 'node:path';
import { rowHelpers } from '../engine/backend';
import { nodeThreads } from '../engine/parallel/nodeThreads';
import { gradientReach, reachPositions, REACH_THRESHOLD, type Band, type ReachSummary } from '../engine/reach';
import { withForwardRecord } from '../engine/trace';
import { prepareOutput, readModelFile, readTextFile, outputName, writeOutput } from './files';

export interface ReachCliOptions { model: string; input: string; positions: number; maxK: number; json?: string }

/**
 * `gatescope reach`: how far back the gradient of one prediction reaches, over `positions` predictions spread
 * over the text: one forward over the text, then a backward of K + 1 steps from each prediction.
 */
export function runReach(o: ReachCliOptions): void {
  if (o.json) prepareOutput(o.json, [o.model, o.input], '--json');
  const m = readModelFile(o.model);
  const tokens = m.vocab.encode(readTextFile(o.input));
  const positions = reachPositions(tokens.length, o.positions, o.maxK);
  const started = performance.now();
  let forwardMs = 0;
  const r = withForwardRecord(m.net, tokens, { rowHelper: rowHelpers(nodeThreads) }, (rec) => {
    forwardMs = performance.now() - started;
    return gradientReach(m.net, rec, positions, o.maxK);
  });
  const totalMs = performance.now() - started;
  if (o.json) {
    writeOutput(o.json, new TextEncoder().encode(reachToJson(r)));
  } else {
    process.stdout.write(reachTable(r, path.basename(o.model), path.basename(o.input)));
  }
  process.stderr.write(`reach of ${positions.length} predictions × ${o.maxK} steps back over ${tokens.length} characters in ${(totalMs / 1000).toFixed(2)} s ` +
    `(forward ${(forwardMs / 1000).toFixed(2)} s)${o.json ? `; wrote ${outputName(o.json)}` : ''}\n`);
}

/**
 * The JSON of `gatescope reach --json`: cell, positions, k = 0..K, per layer the h and c bands, horizons. Layers are
 * 0-based: `layers[l]`, `horizon[l]` and `horizonC[l]` are layer l (PyTorch's `_l0` is layer 0).
 */
export function reachToJson(r: ReachSummary): string {
  const g = (x: number): number => Number(x.toPrecision(6));
  const band = (b: Band): Record<string, number[]> => ({ median: Array.from(b.median, g), q10: Array.from(b.q10, g), q90: Array.from(b.q90, g) });
  return JSON.stringify({
    cell: r.cell,
    threshold: REACH_THRESHOLD,
    positions: r.positions,
    k: Array.from({ length: r.maxK + 1 }, (_, k) => k),
    layers: r.layers.map((l) => ({ gradH: band(l.gradH), ...(l.gradC ? { gradC: band(l.gradC) } : {}) })),
    horizon: r.horizon,
    ...(r.horizonC ? { horizonC: r.horizonC } : {}),
  });
}

/** Steps back shown in the table: a roughly logarithmic selection up to K. */
export function tableSteps(K: number): number[] {
  const ks = [0, 1, 2, 5, 10, 25, 50, 100, 200, 500, 1000, 2000, 5000].filter((k) => k < K);
  return [...ks, K];
}

/** The readable table of `gatescope reach`. */
export function reachTable(r: ReachSummary, model: string, input: string): string {
  const e = (x: number): string => (x === 0 ? '0' : x.toExponential(1));
  const ks = tableSteps(r.maxK);
  const out: string[] = [
    `${model} (${r.cell}) on ${input}: ${r.positions.length} predictions, ${r.positions[0]}..${r.positions[r.positions.length - 1]}`,
    'r(k) = ‖∂L_T/∂h_{T−k}‖ / ‖∂L_T/∂h_T‖ for the loss L_T of the prediction at T alone: median [10%, 90%] over the predictions',
    '',
  ];
  const cells = (b: Band, k: number): string => `${e(b.median[k]!)} [${e(b.q10[k]!)}, ${e(b.q90[k]!)}]`;
  const header = ['k', ...r.layers.flatMap((l, i) => [`h, layer ${i}`, ...(l.gradC ? [`c, layer ${i}`] : [])])];
  const rows = ks.map((k) => [String(k), ...r.layers.flatMap((l) => [cells(l.gradH, k), ...(l.gradC ? [cells(l.gradC, k)] : [])])]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((c, i) => (i === 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  out.push(line(header), ...rows.map(line), '');
  const hz = (k: number | null): string => (k === null ? `> ${r.maxK}` : String(k));
  r.layers.forEach((_, i) => {
    out.push(`memory horizon, layer ${i} (median below ${REACH_THRESHOLD.toExponential(0)}): h ${hz(r.horizon[i]!)}${r.horizonC ? `, c ${hz(r.horizonC[i]!)}` : ''} characters`);
  });
  return out.join('\n') + '\n';
}
