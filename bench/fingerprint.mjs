#!/usr/bin/env node
// Fingerprints of what the engine computes, for refactors that must not change a bit: trained parameters and
// optimiser state (one and two workers; LSTM, GRU, tanh and ReLU RNN), traces with parameter gradients (the fused LSTM
// recurrence, the row-split helper thread, the TypeScript-only cells), single-prediction gradients, reach, unit
// ranking and a seeded sample. Runs the built CLI (dist/cli.js; `npm run build` first) and prints one SHA-256 per
// output, with what it covers. Compare two runs with `diff`:
//
//   node bench/fingerprint.mjs > /tmp/before.txt   # on the old commit
//   node bench/fingerprint.mjs > /tmp/after.txt    # on the new one
//   diff /tmp/before.txt /tmp/after.txt            # nothing: bit-identical
//
// Only the numbers are hashed: a model file's tensors (names, shapes, bytes; not its metadata, which records
// paths and dates), a trace's tensors (safetensors, exact) without its metadata.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = process.env.GATESCOPE_CLI ?? join(root, 'dist', 'cli.js'); // GATESCOPE_CLI: a copy of dist/ elsewhere
const dir = mkdtempSync(join(tmpdir(), 'gatescope-fingerprint-'));
const sha = (b) => createHash('sha256').update(b).digest('hex').slice(0, 16);
const run = (...args) => execFileSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** SHA-256 of a safetensors file's tensors: the header's tensor entries (sorted) and the data bytes. */
function tensorsHash(file) {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  delete header.__metadata__;
  const names = Object.keys(header).sort();
  const h = createHash('sha256');
  for (const name of names) {
    const { dtype, shape, data_offsets: [s, e] } = header[name];
    h.update(`${name} ${dtype} ${shape.join('x')}\n`);
    h.update(b.subarray(8 + n + s, 8 + n + e));
  }
  return h.digest('hex').slice(0, 16);
}

/** SHA-256 of a JSON file with every key naming a duration or a date removed. */
function jsonHash(file) {
  const strip = (v) => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== 'object') return v;
    const o = {};
    for (const [k, x] of Object.entries(v)) if (!/seconds|Ms$|ms$|time|date|created/i.test(k)) o[k] = strip(x);
    return o;
  };
  return sha(JSON.stringify(strip(JSON.parse(readFileSync(file, 'utf8')))));
}

const lib = join(root, 'examples', 'python-stdlib', 'lib');
const text = join(dir, 'train.txt');
writeFileSync(text, ['textwrap.py'].map((f) => readFileSync(join(root, 'examples', 'python-stdlib', f), 'utf8')).join('')
  + readFileSync(join(lib, readdirFirst(lib)), 'utf8').slice(0, 20_000));
const probe = join(dir, 'probe.txt');
writeFileSync(probe, readFileSync(join(root, 'examples', 'python-stdlib', 'textwrap.py'), 'utf8').slice(0, 1500));

function readdirFirst(d) {
  return execFileSync('ls', [d], { encoding: 'utf8' }).split('\n').filter((f) => f.endsWith('.py')).sort()[0];
}

const lines = [];
const say = (what, hash) => { lines.push(`${hash}  ${what}`); console.log(`${hash}  ${what}`); };

// every model names its worker count: the default (auto) depends on the machine's cores
const models = [
  { name: 'lstm-w1', args: ['--cell', 'lstm', '--hidden', '48', '--embed', '16', '--seq', '40', '--batch', '8', '--steps', '30', '--workers', '1'] },
  { name: 'lstm-w2', args: ['--cell', 'lstm', '--hidden', '48', '--embed', '16', '--seq', '40', '--batch', '8', '--steps', '30', '--workers', '2'] },
  { name: 'gru-2layers', args: ['--cell', 'gru', '--layers', '2', '--hidden', '32', '--embed', '16', '--seq', '32', '--batch', '4', '--steps', '20', '--workers', '1'] },
  { name: 'rnn-w2', args: ['--cell', 'rnn_tanh', '--hidden', '40', '--embed', '12', '--seq', '32', '--batch', '8', '--steps', '20', '--clip-mode', 'value', '--clip', '1', '--workers', '2'] },
  { name: 'rnn-relu', args: ['--cell', 'rnn_relu', '--hidden', '40', '--embed', '12', '--seq', '32', '--batch', '8', '--steps', '20', '--lr', '0.001', '--workers', '1'] },
  // 256 units: a 1,500-character trace runs the fused recurrence with the row-split helper thread
  { name: 'lstm-256', args: ['--cell', 'lstm', '--hidden', '256', '--embed', '16', '--seq', '32', '--batch', '4', '--steps', '3', '--workers', '1'] },
  { name: 'gru-256', args: ['--cell', 'gru', '--hidden', '256', '--embed', '16', '--seq', '32', '--batch', '4', '--steps', '3', '--workers', '1'] },
];
try {
  for (const m of models) {
    const out = join(dir, `${m.name}.safetensors`);
    run('train', text, '--out', out, '--quiet', '--eval-every', '10', '--seed', '3', ...m.args);
    say(`${m.name}: trained parameters and optimiser state`, tensorsHash(out));
    const resumed = join(dir, `${m.name}-resumed.safetensors`);
    const steps = Number(m.args[m.args.indexOf('--steps') + 1]) + 5;
    run('train', text, '--out', resumed, '--quiet', '--resume', out, '--steps', String(steps), '--workers', m.args[m.args.indexOf('--workers') + 1]);
    say(`${m.name}: resumed 5 more steps`, tensorsHash(resumed));
    // traces as safetensors: every float32 exactly (the JSON rounds to 6 digits)
    const trace = join(dir, `${m.name}-trace.safetensors`);
    run('trace', '-m', out, '-i', probe, '--out', trace, '--param-grads');
    say(`${m.name}: trace with ∂L/∂θ`, tensorsHash(trace));
    const at = join(dir, `${m.name}-at.safetensors`);
    run('trace', '-m', out, '-i', probe, '--out', at, '--loss-at', '700', '--param-grads');
    say(`${m.name}: trace --loss-at 700`, tensorsHash(at));
    const reach = join(dir, `${m.name}-reach.json`);
    run('reach', '-m', out, '-i', probe, '--positions', '12', '--max-k', '60', '--json', reach);
    say(`${m.name}: reach`, jsonHash(reach));
    const units = join(dir, `${m.name}-units.json`);
    run('units', '-m', out, '-i', probe, '--feature', 'column', '--top', '0', '--json', units);
    say(`${m.name}: units column`, jsonHash(units));
    say(`${m.name}: sample`, sha(run('sample', '-m', out, '--prime', 'def ', '--length', '200', '--seed', '5', '--temperature', '0.8')));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
