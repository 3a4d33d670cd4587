import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { GatescopeError } from '../engine/errors';
import { bigJobs, formatBigTable, type BigResult, type BigSet } from './benchBig';
import { BENCH_CONFIGS, REACH, UNITS, type BenchConfig, type BenchResult } from './benchRun';

export interface BenchCliOptions { seconds: number; configs: string; peers: string; json?: string; data?: string; openblasCoretype?: string; big?: BigSet }

interface PeerRun { name: string; label: string; cmd: string; args: string[]; env?: NodeJS.ProcessEnv }

/**
 * Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to SSE3 kernels unless told. The
 * peer should run at its best, so the kernel follows the CPU's flags rather than an inherited environment
 * variable (which may name an older kernel); --openblas-coretype overrides.
 */
function openblasCoretype(override?: string): string {
  if (override) return override;
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8');
    if (/\bavx512f\b/.test(flags)) return 'SkylakeX';
    if (/\bavx2\b/.test(flags)) return 'Haswell';
  } catch { /* not Linux */ }
  return '';
}

/**
 * `gatescope bench`: each peer in its own process (so peak RSS is its own), one after another on the same
 * data, then one table with Gatescope's speed as a multiple of each peer's.
 */
export async function runBench(o: BenchCliOptions): Promise<number> {
  const root = path.resolve(__dirname, '..');
  const data = o.data ?? [path.join(root, 'node_modules/typescript/lib/lib.dom.d.ts'), path.join(process.cwd(), 'node_modules/typescript/lib/lib.dom.d.ts')].find(existsSync);
  // this bundle (dist/cli.js, or a build elsewhere) runs Gatescope's measurements; the peers are the project's
  const cli = path.join(__dirname, 'cli.js');
  const peersDir = [path.join(root, 'bench/peers'), path.join(process.cwd(), 'bench/peers')].find(existsSync) ?? path.join(root, 'bench/peers');
  const started = performance.now();
  if (!data) throw new GatescopeError('no benchmark text: pass --data FILE (the standard one is lib.dom.d.ts of the typescript npm package)');
  const configs = o.configs.split(',').map((s) => s.trim().toUpperCase()).filter((c): c is BenchConfig => c in BENCH_CONFIGS);
  const peers = new Set(o.peers.split(',').map((s) => s.trim()));
  const coretype = openblasCoretype(o.openblasCoretype);
  const torchPy = '/usr/bin/python3';
  const runs: PeerRun[] = [];
  for (const c of configs) {
    const common = ['--config', c, '--seconds', String(o.seconds), '--data', data];
    if (peers.has('gatescope')) runs.push({ name: 'gatescope', label: 'Gatescope (1 thread)', cmd: process.execPath, args: [cli, 'bench-run', ...common] });
    const tfjs = path.join(peersDir, 'tfjs_lstm.mjs');
    if (peers.has('tfjs') && existsSync(tfjs)) runs.push({ name: 'tfjs', label: 'TensorFlow.js wasm', cmd: process.execPath, args: [tfjs, ...common] });
    const torch = path.join(peersDir, 'torch_lstm.py');
    if (peers.has('torch') && existsSync(torch) && existsSync(torchPy)) {
      for (const threads of [1, 2]) {
        runs.push({ name: 'torch', label: `PyTorch ${threads} thr`, cmd: torchPy, args: [torch, ...common, '--threads', String(threads)],
          env: { ...process.env, ...(coretype ? { OPENBLAS_CORETYPE: coretype } : {}) } });
      }
    }
  }
  const results: (BenchResult & { label: string })[] = [];
  for (const r of runs) {
    process.stderr.write(`bench: ${r.label}, config ${r.args[r.args.indexOf('--config') + 1]}…\n`);
    const line = runPeer(r);
    if (line !== null) results.push({ ...(JSON.parse(line) as BenchResult), label: r.label });
  }
  if (runs.length > 0) process.stdout.write(formatTable(results, coretype) + '\n');
  // the big models and long texts (benchBig.ts): each Gatescope variant and each PyTorch thread count in a process of its own
  const big: BigResult[] = [];
  const torchBig = path.join(peersDir, 'torch_big.py');
  for (const job of bigJobs(o.big ?? 'short')) {
    const what = ['--model', job.model, '--chars', String(job.chars), '--data', data];
    const jobRuns: PeerRun[] = [];
    if (peers.has('gatescope')) {
      for (const v of job.variants) jobRuns.push({ name: 'gatescope', label: `Gatescope ${v}`, cmd: process.execPath, args: [cli, 'bench-big', ...what, '--variant', v] });
    }
    if (peers.has('torch') && existsSync(torchBig) && existsSync(torchPy)) {
      for (const threads of [1, 2]) {
        jobRuns.push({ name: 'torch', label: `PyTorch ${threads} thr`, cmd: torchPy,
          // the reach at one thread only (the main table compares both): two threads collapse on a busy 2-core machine
          args: [torchBig, ...what, '--threads', String(threads), ...(job.variants.includes('reach') && threads === 1 ? ['--reach'] : [])],
          env: { ...process.env, ...(coretype ? { OPENBLAS_CORETYPE: coretype } : {}) } });
      }
    }
    for (const r of jobRuns) {
      process.stderr.write(`bench: ${r.label}, ${job.model} model, ${job.chars.toLocaleString('en-US')} characters…\n`);
      const line = runPeer(r);
      if (line !== null) big.push(JSON.parse(line) as BigResult);
    }
  }
  if (big.length > 0) {
    const b = results.find((r) => r.peer === 'gatescope' && r.config === 'B');
    process.stdout.write(`${runs.length > 0 ? '\n' : `Machine: ${machine()}; OPENBLAS_CORETYPE=${coretype || '(unset)'}\n\n`}${formatBigTable(big, b ? b.trace10kAgainSeconds ?? null : undefined)}\n`);
  }
  const totalSeconds = (performance.now() - started) / 1000;
  process.stdout.write(`\nBench total: ${(totalSeconds / 60).toFixed(1)} minutes\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ machine: machine(), openblasCoretype: coretype, totalSeconds, results, big }, null, 2));
  return 0;
}

/** Runs one peer's process to its end; its last line of standard output (one JSON object), or null when it failed. */
function runPeer(r: PeerRun): string | null {
  const p = spawnSync(r.cmd, r.args, { encoding: 'utf8', env: r.env ?? process.env, maxBuffer: 1 << 24 });
  const line = (p.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    JSON.parse(line);
    return line;
  } catch {
    process.stderr.write(`bench: ${r.label} failed (exit ${p.status}): ${(p.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}\n`);
    return null;
  }
}

function machine(): string {
  let cpu = '';
  try { cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? ''; } catch { /* not Linux */ }
  return `${cpu}, ${cpus().length} cores, node ${process.version}`;
}

const num = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const ratio = (a: number | null | undefined, b: number | null | undefined): string => (a && b ? `${(a / b).toFixed(2)}×` : '—');

/** A Markdown table: each row a peer and config, the last columns Gatescope's speed ÷ the peer's. */
export function formatTable(results: (BenchResult & { label: string })[], coretype: string): string {
  const lines = [
    `Machine: ${machine()}; OPENBLAS_CORETYPE=${coretype || '(unset)'}`,
    '',
    '| peer | config | train chars/s | fwd 64-char calls | fwd 1-char calls | peak RSS MB | Gatescope ÷ peer: train | fwd 1-char |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const notes: string[] = [];
  for (const r of results) {
    const ours = results.find((x) => x.peer === 'gatescope' && x.config === r.config);
    // Gatescope at its best worker count, as each peer at its best thread count
    const oursTrain = ours ? Math.max(ours.trainCharsPerSec ?? 0, ours.train2CharsPerSec ?? 0) : null;
    if (r.skipped) {
      lines.push(`| ${r.label} | ${r.config} | skipped: ${r.skipped} | | | | | |`);
      continue;
    }
    lines.push(`| ${r.label} | ${r.config} | ${num(r.trainCharsPerSec)} | ${num(r.fwd64CharsPerSec)} | ${num(r.fwd1CharsPerSec)} | ${num(r.rssMB)} | ` +
      `${r.peer === 'gatescope' ? '1.00×' : ratio(oursTrain, r.trainCharsPerSec)} | ${r.peer === 'gatescope' ? '1.00×' : ratio(ours?.fwd1CharsPerSec, r.fwd1CharsPerSec)} |`);
    if (r.peer === 'gatescope' && r.train2CharsPerSec) {
      lines.push(`| Gatescope (2 workers) | ${r.config} | ${num(r.train2CharsPerSec)} | | | | ${ratio(r.train2CharsPerSec, r.trainCharsPerSec)} of 1 worker | |`);
    }
    if (r.peer === 'gatescope' && r.trace10kSeconds) {
      const again = r.trace10kAgainSeconds ? `; repeated (buffers and helper thread kept, median of traces 4–8): ${r.trace10kAgainSeconds.toFixed(2)} s` : '';
      notes.push(`Gatescope trace of 10,000 characters (forward + backward, gradient norms), config ${r.config}: first ${r.trace10kSeconds.toFixed(2)} s${again}`);
    }
  }
  for (const r of results.filter((x) => x.peer === 'gatescope' && x.reachSeconds)) {
    const peers = results.filter((x) => x.peer !== 'gatescope' && x.config === r.config && x.reachSeconds)
      .map((x) => `${x.label} ${x.reachSeconds!.toFixed(2)} s (Gatescope ${(x.reachSeconds! / r.reachSeconds!).toFixed(2)}× as fast)`);
    notes.push(`Gradient reach (${REACH.positions} predictions × ${REACH.maxK} steps back over ${REACH.chars.toLocaleString('en-US')} characters, forward included), ` +
      `config ${r.config}: Gatescope ${r.reachSeconds!.toFixed(2)} s${peers.length ? `; ${peers.join('; ')}` : ''}`);
  }
  for (const r of results.filter((x) => x.peer === 'gatescope' && x.hostDelayMs)) {
    const d = r.hostDelayMs!;
    notes.push(`Host event-loop delay while the engine worker trains config ${r.config} (validation every 50 steps, a checkpoint every 20: ten times as often as the default): p50 ${d.p50.toFixed(1)} ms, p99 ${d.p99.toFixed(1)} ms, max ${d.max.toFixed(1)} ms`);
  }
  for (const r of results.filter((x) => x.peer === 'gatescope' && x.unitsFirstSeconds && x.unitsAgainSeconds)) {
    const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;
    const peers = results.filter((x) => x.peer !== 'gatescope' && x.config === r.config && x.unitsFirstSeconds && x.unitsAgainSeconds)
      .map((x) => `${x.label} ${ms(x.unitsFirstSeconds!)} / ${ms(x.unitsAgainSeconds!)} (Gatescope ${(x.unitsFirstSeconds! / r.unitsFirstSeconds!).toFixed(2)}× / ${(x.unitsAgainSeconds! / r.unitsAgainSeconds!).toFixed(2)}× as fast)`);
    notes.push(`Unit search (Pearson r of every layer, unit and quantity against the regex /${UNITS.regex}/ over ${UNITS.chars.toLocaleString('en-US')} characters), ` +
      `config ${r.config}, first search of a trace (moments included) / each search after it: Gatescope ${ms(r.unitsFirstSeconds!)} / ${ms(r.unitsAgainSeconds!)}${peers.length ? `; ${peers.join('; ')}` : ''}`);
  }
  return [...lines, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}
