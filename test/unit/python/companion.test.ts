import * as assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { useFastKernels } from '../../../src/engine/backend';
import { decodeModelFile, encodeModelFile } from '../../../src/engine/modelfile';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { prepareRun } from '../../../src/engine/run';
import { decodeText } from '../../../src/engine/text';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../../src/engine/trainer';
import { CELL_TYPES, type CellType } from '../../../src/engine/types';
import { CLI } from '../cli/run';

/**
 * The PyTorch companion (python/gatescope_torch) against Gatescope: either side resumes the other's file and the
 * loss goes on as an uninterrupted run's would, one process or two under torchrun.
 *
 * Where Gatescope's per-step losses come from: the CLI has no machine-readable per-step loss (its progress bar is
 * for people, and redrawn every 5 s when not on a terminal); a model file records only its last step's `loss` in
 * `gatescope.info`. So the CLI writes and resumes every file here, and each of its runs must end on exactly the loss
 * its engine gives step by step in this process (prepareRun + Trainer.trainStep, the code the CLI drives, on the
 * kernels the CLI installs).
 *
 * Tolerance: the two sides compute in float32 with different kernels and summation orders. Measured, every loss of
 * these runs agrees to about 1e-7 relative (a 2-process run too); TOL is 200 times that. What the comparison catches
 * (each tried): a resume that loses the carried state is off by 1e-3 to 1e-2 at its first step, a data position off
 * by one character by 1e-2, fresh Adam moments by 1e-2 a step later, an Adam step counter off by one by 5e-5 at its
 * third step.
 */
const TOL = 2e-5;
const PYTHON = '/usr/bin/python3';
const ROOT = path.join(__dirname, '../../..');
const HELPER = path.join(__dirname, 'companion_check.py');
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

const dir = mkdtempSync(path.join(tmpdir(), 'gatescope-companion-'));
const N = 12; // steps before the hand-over
const M = 12; // steps after it; the first epoch ends at step 14, so the epoch reset happens after the hand-over
const options: TrainOptions = {
  ...DEFAULT_TRAIN_OPTIONS, cell: 'lstm', layers: 2, hidden: 24, embed: 16, seq: 16, batch: 8, lr: 0.01, clip: 0.4, seed: 7,
};
const flags = (o: TrainOptions): string[] => [
  '--cell', o.cell, '--layers', `${o.layers}`, '--hidden', `${o.hidden}`, '--embed', `${o.embed}`, '--seq', `${o.seq}`,
  '--batch', `${o.batch}`, '--lr', `${o.lr}`, '--clip', `${o.clip}`, '--seed', `${o.seed}`,
];

function spawn(cmd: string, args: string[]): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: dir, env: { ...process.env, PYTHONPATH: path.join(ROOT, 'python'), PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r;
}
// on one worker, as the engine runs in this process (the default, auto, takes the machine's cores)
const gatescope = (...args: string[]): SpawnSyncReturns<string> => spawn(process.execPath, [CLI, ...args, ...(args[0] === 'train' ? ['--workers', '1'] : [])]);
const companion = (...args: string[]): SpawnSyncReturns<string> => spawn(PYTHON, ['-m', 'gatescope_torch.train', ...args]);

/** The companion's progress lines ("step 3/24 loss 4.1523747444 …", under torchrun prefixed "[default0]:") → losses by step. */
function losses(stdout: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of stdout.matchAll(/step (\d+)\/\d+ loss (\S+)/g)) out.set(Number(m[1]), Number(m[2]));
  return out;
}

/** Gatescope's engine, step by step: losses of steps from+1 … to, fresh or resuming `resume`. */
function engineLosses(text: string, o: TrainOptions, to: number, resume?: string): Map<number, number> {
  const run = prepareRun(text, { ...o, steps: to }, resume ? decodeModelFile(new Uint8Array(readFileSync(resume))) : undefined);
  assert.deepEqual(run.warnings, [], 'the resume takes the data position, carried state and moments as they are');
  const out = new Map<number, number>();
  while (run.trainer.step < to) {
    const r = run.trainer.trainStep();
    out.set(r.step, r.loss);
  }
  return out;
}

const lastLoss = (model: string): number => decodeModelFile(new Uint8Array(readFileSync(model))).info.loss!;

/** Asserts `got` equals `want` at every step of [from, to] to TOL relative; returns the largest differences. */
function sameTrajectory(got: Map<number, number>, want: Map<number, number>, from: number, to: number, what: string): { abs: number; rel: number } {
  let abs = 0, rel = 0;
  for (let s = from; s <= to; s++) {
    const a = got.get(s), b = want.get(s);
    assert.ok(a !== undefined && b !== undefined, `${what}: no loss at step ${s}`);
    abs = Math.max(abs, Math.abs(a - b));
    rel = Math.max(rel, Math.abs(a - b) / Math.abs(b));
    assert.ok(Math.abs(a - b) <= TOL * Math.abs(b), `${what}: step ${s} loss ${a} vs ${b}`);
  }
  if (process.env['GATESCOPE_COMPANION_REPORT']) process.stderr.write(`      ${what}: max |Δloss| ${abs.toExponential(2)}, relative ${rel.toExponential(2)}\n`);
  return { abs, rel };
}

describe('the PyTorch companion (python/gatescope_torch)', function () {
  this.timeout(120_000);
  let textFile = '';
  let text = '';

  before(function () {
    if (!hasTorch || !existsSync(CLI)) this.skip(); // needs /usr/bin/python3 with torch, and the built CLI
    useFastKernels(); // the CLI's kernels (test/setup.ts installs them too), so that its runs and these agree bit for bit
    // 2,000 characters: 1,900 to train on in 8 lanes of 237 (14 chunks of 16 an epoch), 100 to validate on
    const src = readFileSync(path.join(ROOT, 'examples/python-stdlib/textwrap.py'), 'utf8').slice(0, 2000);
    textFile = path.join(dir, 'textwrap-head.py');
    writeFileSync(textFile, src);
    text = decodeText(readFileSync(textFile), textFile);
  });

  // the references, made once: Gatescope's and the companion's uninterrupted runs of N + M steps
  let engineRef: Map<number, number> | null = null;
  let companionRef: Map<number, number> | null = null;
  const references = (): { engine: Map<number, number>; torch: Map<number, number> } => {
    engineRef ??= engineLosses(text, options, N + M);
    companionRef ??= losses(companion(textFile, ...flags(options), '--steps', `${N + M}`, '--log-every', '1',
      '--out', path.join(dir, 'companion-uninterrupted.safetensors')).stdout);
    return { engine: engineRef, torch: companionRef };
  };

  // one Python process for what needs no command line of its own (importing torch costs a second or two each time)
  interface RoundTrip {
    identical: boolean; tensors: string[]; differentTensors: string[]; metadata: string[]; differentMetadata: string[]; warnings: string[];
  }
  const small = (cell: CellType): TrainOptions => ({ ...options, cell, layers: 1, hidden: 16 });
  let checked: Record<string, RoundTrip> | null = null;
  const pythonChecks = (): Record<string, RoundTrip> => {
    if (checked) return checked;
    const theirs = CELL_TYPES.map((cell) => {
      const file = path.join(dir, `rt-gatescope-${cell}.safetensors`);
      gatescope('train', textFile, ...flags(small(cell)), '--steps', '3', '--quiet', '--out', file);
      return file;
    });
    // the companion's files are trained by companion_check.py with the flags of small(), its cell given per cell
    const common = flags(small('lstm')).filter((f, i, a) => f !== '--cell' && a[i - 1] !== '--cell');
    const r = spawn(PYTHON, [HELPER, dir, '11', textFile, ...theirs, '--', ...common, '--steps', '3']);
    checked = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, RoundTrip>;
    return checked;
  };

  it('draws the initial weights Gatescope draws for a seed, for every cell, bit for bit', () => {
    pythonChecks();
    for (const cell of CELL_TYPES) {
      const file = decodeModelFile(new Uint8Array(readFileSync(path.join(dir, `init-${cell}.safetensors`))));
      const net = new Network({ cell, vocabSize: 7, embed: 5, hidden: 6, layers: 2 });
      net.initialize(new Rng(11));
      assert.deepEqual(file.net.params, net.params, `${cell}: the same initial parameters`);
    }
  });

  it('Gatescope trains, the companion resumes: the loss goes on as an uninterrupted Gatescope run and an uninterrupted companion run', () => {
    const { engine, torch } = references();
    sameTrajectory(torch, engine, 1, N + M, 'companion from scratch vs Gatescope from scratch');
    const handOver = path.join(dir, 'gatescope-n.safetensors');
    gatescope('train', textFile, ...flags(options), '--steps', `${N}`, '--quiet', '--out', handOver);
    assert.equal(lastLoss(handOver), engine.get(N), 'the CLI ran the engine\'s steps');
    // the companion takes every setting from the file: nothing but the total number of steps is given
    const resumed = companion(textFile, '--resume', handOver, '--steps', `${N + M}`, '--log-every', '1',
      '--out', path.join(dir, 'companion-resumed.safetensors'));
    assert.doesNotMatch(resumed.stderr, /warning/);
    const got = losses(resumed.stdout);
    assert.deepEqual([...got.keys()], Array.from({ length: M }, (_, i) => N + 1 + i), 'it continues at step N + 1');
    sameTrajectory(got, engine, N + 1, N + M, 'Gatescope N → companion M vs Gatescope N + M');
    sameTrajectory(got, torch, N + 1, N + M, 'Gatescope N → companion M vs companion N + M');
  });

  it('the companion trains, Gatescope resumes: the loss goes on as the uninterrupted companion run\'s', () => {
    const { torch } = references();
    const handOver = path.join(dir, 'companion-n.safetensors');
    companion(textFile, ...flags(options), '--steps', `${N}`, '--log-every', '0', '--out', handOver);
    const resumed = engineLosses(text, options, N + M, handOver);
    sameTrajectory(resumed, torch, N + 1, N + M, 'companion N → Gatescope M vs companion N + M');
    const out = path.join(dir, 'gatescope-resumed.safetensors');
    const r = gatescope('train', textFile, ...flags(options), '--steps', `${N + M}`, '--resume', handOver, '--quiet', '--out', out);
    assert.doesNotMatch(r.stderr, /warning/, 'same text, same batch: no fresh start of anything');
    assert.equal(lastLoss(out), resumed.get(N + M), 'the CLI ran the engine\'s steps');
    // the validation loss both measure at the end: the same held-out text, lanes and chunks
    const val = (f: string): number => decodeModelFile(new Uint8Array(readFileSync(f))).info.valLoss!;
    const ref = val(path.join(dir, 'companion-uninterrupted.safetensors'));
    assert.ok(Math.abs(val(out) - ref) <= TOL * ref, `validation loss ${val(out)} vs ${ref}`);
  });

  it('torchrun --nproc_per_node 2 (gloo) trains what one process trains; Gatescope resumes its file where it ended', () => {
    const { torch } = references();
    const model = path.join(dir, 'torchrun.safetensors');
    // torchrun is torch.distributed.run; --redirects 1 --tee 1 because torch 1.13's default "0" does not parse on
    // Python 3.11 (IntFlag no longer iterates over NONE) and torchrun fails before starting a worker
    const r = spawn(PYTHON, ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '--monitor_interval', '0.2',
      '--redirects', '1', '--tee', '1', '--log_dir', path.join(dir, 'torchrun-logs'),
      '-m', 'gatescope_torch.train', textFile, ...flags(options), '--steps', `${N}`, '--log-every', '1', '--out', model]);
    assert.match(r.stderr, /2 processes \(gloo, 4 lanes each\)/);
    sameTrajectory(losses(r.stdout), torch, 1, N, '2 processes vs 1 process');
    const file = decodeModelFile(new Uint8Array(readFileSync(model)));
    assert.equal(file.training?.step, N);
    assert.equal(file.training?.carryH.length, options.layers * options.batch * options.hidden, 'the carried state of all 8 lanes, gathered');
    const resumed = engineLosses(text, options, N + M, model);
    sameTrajectory(resumed, torch, N + 1, N + M, 'torchrun N → Gatescope M vs companion N + M');
    const out = path.join(dir, 'after-torchrun.safetensors');
    const g = gatescope('train', textFile, ...flags(options), '--steps', `${N + 2}`, '--resume', model, '--quiet', '--out', out);
    assert.doesNotMatch(g.stderr, /warning/);
    assert.equal(lastLoss(out), resumed.get(N + 2), 'the CLI ran the engine\'s steps');
  });

  it('save → load → save gives the same file, Gatescope\'s or the companion\'s, for every cell; Gatescope reads it and torch loads it strictly', () => {
    const report = pythonChecks();
    for (const cell of CELL_TYPES) {
      const mine = path.join(dir, `rt-companion-${cell}.safetensors`);
      const theirs = path.join(dir, `rt-gatescope-${cell}.safetensors`);
      const info = JSON.parse(gatescope('info', mine, '--json').stdout);
      assert.deepEqual([info.cell, info.layers, info.hidden, info.embed, info.resumable, info.steps], [cell, 1, 16, options.embed, true, 3]);
      const same = JSON.parse(gatescope('info', theirs, '--json').stdout);
      assert.equal(info.textHash, same.textHash, 'the same record of the text');
      // both trained 3 steps from the same seed: every cell's forward, backward and Adam agree
      for (const k of ['loss', 'valLoss']) assert.ok(Math.abs(info[k] - same[k]) <= TOL * same[k], `${cell} ${k}: ${info[k]} vs ${same[k]}`);
      // Gatescope writes back exactly what the companion wrote
      const decoded = decodeModelFile(new Uint8Array(readFileSync(mine)));
      assert.deepEqual(decoded.warnings, []);
      const again = encodeModelFile(decoded.net, decoded.vocab, decoded.info, decoded.training);
      assert.ok(Buffer.from(again).equals(readFileSync(mine)), `${cell}: Gatescope re-encodes the companion's file byte for byte`);
      // and the companion writes back exactly what either wrote (PyTorch's Adam state in between)
      for (const f of [mine, theirs]) {
        const r = report[f]!;
        assert.deepEqual([r.differentTensors, r.differentMetadata, r.warnings], [[], [], []], f);
        assert.ok(r.identical, `${f}: the same bytes`);
        assert.deepEqual(r.tensors.filter((t) => t.startsWith('optim.')),
          ['optim.exp_avg', 'optim.exp_avg_sq', 'optim.carry_h', ...(cell === 'lstm' ? ['optim.carry_c'] : [])]);
        // Gatescope's file carries its per-tensor training history, which the companion keeps with the training state
        assert.deepEqual(r.metadata, ['cell', 'vocab', 'format', 'gatescope.info', 'gatescope.train', ...(f === theirs ? ['gatescope.history'] : [])]);
      }
    }
  });

  it('saves word_language_model\'s RNNModel with tied weights: both encoder.weight and decoder.weight, which Gatescope reads', () => {
    pythonChecks();
    const m = decodeModelFile(new Uint8Array(readFileSync(path.join(dir, 'tied.safetensors'))));
    assert.deepEqual(m.warnings, []);
    assert.deepEqual(m.net.p.encoder, m.net.p.decoderW);
    assert.equal(m.training, null);
  });
});
