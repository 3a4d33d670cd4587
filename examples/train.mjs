#!/usr/bin/env node
// `npm run examples:train`: trains the bundled example models on examples/python-stdlib/lib/ — an LSTM and a
// vanilla tanh RNN of the same size, seed and step count — then measures how far back each one's gradient reaches
// on the held-out textwrap.py (the numbers in the README's "Seeing vanishing gradients").
// Deterministic for a given Node.js and kernel variant: one worker, a fixed seed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const lib = join(root, 'examples', 'python-stdlib', 'lib');
const corpus = readdirSync(lib).filter((f) => f.endsWith('.py')).sort().map((f) => join(lib, f));
const heldOut = join(root, 'examples', 'python-stdlib', 'textwrap.py');
const common = ['--layers', '1', '--hidden', '128', '--embed', '64', '--seq', '64', '--batch', '32', '--steps', '3000', '--seed', '1', '--workers', '1', '--quiet'];
const models = [
  { cell: 'lstm', out: join(root, 'examples', 'models', 'stdlib-lstm.safetensors') },
  { cell: 'rnn_tanh', out: join(root, 'examples', 'models', 'stdlib-rnn.safetensors') },
];

function run(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 2);
}

for (const m of models) {
  run(['train', ...corpus, '--cell', m.cell, ...common, '--out', m.out]);
  console.log(`${m.out}: sha256 ${createHash('sha256').update(readFileSync(m.out)).digest('hex').slice(0, 16)}`);
}
for (const m of models) run(['reach', '-m', m.out, '-i', heldOut, '--positions', '40', '--max-k', '100']);
