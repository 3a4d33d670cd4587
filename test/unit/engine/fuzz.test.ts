import * as assert from 'node:assert/strict';
import { GatescopeError } from '../../../src/engine/errors';
import { decodeModelFile, encodeModelFile, type ModelFile } from '../../../src/engine/modelfile';
import { Rng } from '../../../src/engine/rng';
import { prepareRun } from '../../../src/engine/run';
import { sample } from '../../../src/engine/sample';
import { traceTokens } from '../../../src/engine/trace';
import { createKernels } from '../../../src/engine/wasm/wasmKernels';
import { DEFAULT_TRAIN_OPTIONS } from '../../../src/engine/trainer';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';

/**
 * A seeded fuzz test of the model loader (issue 14): 10,000 mutations of valid model files — bit flips, truncations,
 * and mutations of the header's JSON (shapes, dtypes, offsets, nesting, huge numbers, vocabularies, the training
 * state) — each either refused with the project's own error (GatescopeError) or accepted, and then the model traces,
 * samples, describes itself and resumes training without any other exception. Never a hang: each case is bounded
 * far above what it takes (a detector for a relapse into quadratic or unbounded work, not a speed test).
 */
const CASES = 10_000;
const CASE_BOUND_MS = 5_000;

/** A small deterministic generator (the test's own: the same cases on every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

function valid(cell: CellType): Uint8Array {
  const run = prepareRun('def f(x):\n    return (x + 1) * 2\n'.repeat(6), { ...DEFAULT_TRAIN_OPTIONS, cell, hidden: 4, embed: 3, layers: 2, seq: 8, batch: 2, valFrac: 0 });
  run.trainer.trainStep();
  return encodeModelFile(run.net, run.vocab, { source: 'f.py', loss: 2.5, steps: 1 }, run.trainer.snapshot());
}

/** The header's JSON text and the data section of a file. */
function split(bytes: Uint8Array): { header: string; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

function join(header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const nest = (v: unknown, depth: number): string => '['.repeat(depth) + JSON.stringify(v) + ']'.repeat(depth);

/** One mutation of the header's JSON, as text (so that nesting and duplicate keys can be written). */
function mutateHeader(header: string, next: () => number): string {
  const h = JSON.parse(header) as Record<string, Record<string, unknown>>;
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const names = Object.keys(h).filter((k) => k !== '__metadata__');
  const meta = h['__metadata__'] as unknown as Record<string, string>;
  const t = h[pick(names)]!;
  const shape = t['shape'] as number[];
  const huge = pick([2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, -1, 1.5, 0, -0]);
  switch (next() % 16) {
    case 0: shape[next() % Math.max(1, shape.length)] = huge; break;
    case 1: t['shape'] = pick([[], [1, 1, 1], shape.concat(shape), 'x', null, {}, Array(next() % 200).fill(1)]); break;
    case 2: t['dtype'] = pick(['F16', 'BF16', 'F64', 'I32', 'U8', 'BOOL', 'F8_E4M3', 'XX', 5, null]); break;
    case 3: t['data_offsets'] = pick([[0, 0], [0, 2 ** 53], [-4, 4], [8, 4], [0], [0, 1, 2], (t['data_offsets'] as number[]).map((x) => x + 4)]); break;
    case 4: delete t[pick(['dtype', 'shape', 'data_offsets'])]; break;
    case 5: { // nesting, from a little to far past any limit, in place of a field
      const key = pick(['shape', 'data_offsets', 'dtype']);
      return header.replace(`"${key}":${JSON.stringify(t[key])}`, `"${key}":${nest(t[key], 1 + (next() % 3 === 0 ? next() % 20_000 : next() % 6))}`);
    }
    case 6: { // a key twice
      const name = pick(names);
      return header.replace('{', `{${JSON.stringify(name)}:${JSON.stringify(h[name])},`);
    }
    case 7: h[`extra.${next() % 10}`] = { dtype: 'F32', shape: [1], data_offsets: [0, 4] }; break;
    case 8: { // the vocabulary
      const v = JSON.parse(meta['vocab']!) as string[];
      const variants: unknown[] = [v.slice(1), [...v, v[0]], [...v.slice(0, -1), 'ab'], [...v.slice(0, -1), '\ud800'], [...v.slice(0, -1), ''],
        Array.from({ length: 70_000 }, (_, k) => String.fromCodePoint(0x10000 + k)), {}, 'abc', [1, 2], nest(v, 3), [...v.slice(0, -1), '\u0000']];
      const x = pick(variants);
      meta['vocab'] = typeof x === 'string' && x.startsWith('[') ? x : JSON.stringify(x);
      break;
    }
    case 9: meta['cell'] = pick(['lstm', 'gru', 'rnn_tanh', 'rnn_relu', 'LSTM', '', '__proto__']); break;
    case 10: { // the info's fields
      const info = JSON.parse(meta['gatescope.info']!) as Record<string, unknown>;
      info[pick(['loss', 'valLoss', 'steps', 'trainedChars', 'source', 'sources', 'textHash', 'join', 'comparisonOf'])] =
        pick(['x', null, -1, 1e308, 1.5, [], {}, [{ uri: 5 }], nest(1, 5000)]);
      meta['gatescope.info'] = JSON.stringify(info);
      break;
    }
    case 11: { // the training state
      const tr = JSON.parse(meta['gatescope.train']!) as Record<string, unknown>;
      tr[pick(['rng', 'step', 'position', 'adamStep', 'options', 'epoch', 'dataLength', 'dataHash'])] =
        pick([[1, 2, 3], [0, 0, 0, 0], -1, -1_000_000, 2 ** 53, 1e308, 'x', null, {}, [], 1.5]);
      meta['gatescope.train'] = JSON.stringify(tr);
      break;
    }
    case 12: { // the training options
      const tr = JSON.parse(meta['gatescope.train']!) as Record<string, Record<string, unknown>>;
      tr['options']![pick(['seq', 'batch', 'lr', 'clip', 'clipMode', 'steps', 'seed', 'hidden', 'cell', 'valFrac'])] = pick([0, -1, 1e12, 'x', null, 1.5, 2 ** 53]);
      meta['gatescope.train'] = JSON.stringify(tr);
      break;
    }
    case 13: meta['gatescope.' + pick(['info', 'train'])] = pick(['', 'null', '[]', '"x"', '{', nest({}, 30_000), '{"a":1,"a":2}']); break;
    case 14: delete meta[pick(['cell', 'vocab', 'gatescope.info', 'gatescope.train', 'format'])]; break;
    case 15: h['__metadata__'] = pick([null, [], 'x', { vocab: 5 }]) as never; break;
  }
  return JSON.stringify(h);
}

/** What an accepted model must do without any exception but the project's own. */
function exercise(m: ModelFile, next: () => number): void {
  const chars = m.vocab.chars;
  const text = Array.from({ length: 40 }, () => chars[next() % chars.length]!).join('');
  traceTokens(m.net, Int32Array.from(m.vocab.encode(text)));
  let n = 0;
  for (const _ of sample(m.net, m.vocab, { prime: text.slice(0, 5), length: 10, temperature: 1, topK: 0, greedy: false }, new Rng(1))) n++;
  assert.equal(n, 10);
  assert.ok(m.net.cfg.hidden > 0 && m.net.params.length > 0);
  const options = m.training?.options ?? { ...DEFAULT_TRAIN_OPTIONS, seq: 8, batch: 2, valFrac: 0 };
  const run = prepareRun(text.repeat(3), { ...options, steps: (m.training?.step ?? 0) + 1 }, m);
  run.trainer.trainStep();
}

describe('fuzzing the model loader (10,000 seeded cases)', function () {
  this.timeout(600_000);

  it('refuses every case with its own error, or loads it and then traces, samples, describes and resumes', () => {
    const bases = CELL_TYPES.map(valid);
    const kernels = createKernels(); // one for every case, as the engine worker shares its trace kernels
    const later = new Map<string, number>();
    const next = lcg(20261203);
    const tally: Record<string, { accepted: number; refused: number; laterRefused: number }> = {};
    const codes = new Map<string, number>();
    let slowest = 0;
    for (let k = 0; k < CASES; k++) {
      const base = bases[k % bases.length]!;
      const kind = k % 10 < 3 ? 'bit flips' : k % 10 === 3 ? 'truncation' : 'header';
      let bytes: Uint8Array;
      if (kind === 'bit flips') {
        bytes = base.slice();
        for (let f = 1 + (next() % 4); f > 0; f--) {
          const at = next() % 4 === 0 ? next() % bytes.length : next() % Math.min(bytes.length, 8 + split(base).header.length);
          bytes[at]! ^= 1 << (next() % 8);
        }
      } else if (kind === 'truncation') {
        bytes = base.slice(0, next() % base.length);
      } else {
        const { header, data } = split(base);
        bytes = join(mutateHeader(header, next), data);
      }
      const t = (tally[kind] ??= { accepted: 0, refused: 0, laterRefused: 0 });
      const t0 = performance.now();
      let m: ModelFile | null = null;
      try {
        m = decodeModelFile(bytes, Float32Array, kernels);
      } catch (e) {
        assert.ok(e instanceof GatescopeError, `case ${k} (${kind}): ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        t.refused++;
      }
      if (m) {
        try {
          exercise(m, next);
          t.accepted++;
        } catch (e) {
          // a NaN weight from a flipped exponent stops training with the project's non-finite error; nothing else may fail
          assert.ok(e instanceof GatescopeError, `case ${k} (${kind}) loaded, then: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
          codes.set(`after loading: ${e.code}`, (codes.get(`after loading: ${e.code}`) ?? 0) + 1);
          const what = e.message.replace(/\d+(\.\d+)?(e[+-]?\d+)?/g, 'N').slice(0, 90);
          later.set(what, (later.get(what) ?? 0) + 1);
          t.laterRefused++;
        }
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < CASE_BOUND_MS, `case ${k} (${kind}) took ${ms.toFixed(0)} ms`);
    }
    const total = Object.values(tally).reduce((s, t) => s + t.accepted + t.refused + t.laterRefused, 0);
    assert.equal(total, CASES);
    console.log(`      fuzz totals: ${Object.entries(tally).map(([k, t]) => `${k} ${t.accepted} accepted and exercised, ${t.refused} refused, ${t.laterRefused} refused after loading`).join('; ')}; ` +
      `errors ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}; slowest case ${slowest.toFixed(0)} ms`);
    if (later.size) console.log(`      refused after loading: ${[...later].map(([m, n]) => `${n}× ${m}`).join(' | ')}`);
    // most mutations must be caught: a loader that accepted everything would pass the rest of this test
    for (const [kind, t] of Object.entries(tally)) assert.ok(t.refused > (t.accepted + t.refused + t.laterRefused) / 4, `${kind}: only ${t.refused} refused`);
  });
});
