import { Command, InvalidArgumentError, Option } from 'commander';
import { useFastKernels } from '../engine/backend';
import { GatescopeError } from '../engine/errors';
import { CELL_TYPES, MAX_WORKERS } from '../engine/types';
import { AUTO_WORKERS_CAP } from '../engine/parallel/workers';
import { DEFAULT_TOP_K } from '../engine/predictions';
import { DEFAULT_STATS_EVERY, DEFAULT_TRAIN_OPTIONS } from '../engine/trainer';
import { runBench } from './bench';
import { BENCH_CONFIGS, benchRun } from './benchRun';
import { BIG_MODELS, BIG_SETS, BIG_VARIANTS, benchBigRun } from './benchBig';
import { runReach } from './reach';
import { runSample } from './sample';
import { runTrace } from './trace';
import { runTrain } from './train';
import { runUnits } from './units';
import { runImport } from './import';
import { runInfo } from './info';
import { printable } from './terminal';

/**
 * `gatescope` — the command line on the same engine as the extension.
 * Exit codes: 0 success; 1 a user error (one line on stderr); 2 an internal error; 130 interrupted by Ctrl-C
 * (a training run saves its checkpoint first).
 */
const VERSION = '0.1.0';

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}
/** `--workers`: "auto", or a count from 1 to MAX_WORKERS. */
function workers(v: string): number | 'auto' {
  if (v === 'auto') return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) throw new InvalidArgumentError(`workers must be auto or a whole number from 1 to ${MAX_WORKERS}`);
  return n;
}
function num(name: string, min: number, exclusive = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (exclusive ? n <= min : n < min)) {
      throw new InvalidArgumentError(`${name} must be a number ${exclusive ? '>' : '≥'} ${min}`);
    }
    return n;
  };
}

export function buildProgram(): Command {
  const d = DEFAULT_TRAIN_OPTIONS;
  const program = new Command('gatescope')
    .description('Train and inspect character-level LSTM, GRU and RNN language models.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)');

  program.command('train')
    .description('train a model on one or more text files')
    .argument('<files...>', 'UTF-8 text files (concatenated)')
    .requiredOption('-o, --out <model>', 'where to write the model (.safetensors; - for standard output, the final model only)')
    .addOption(new Option('--cell <cell>', 'recurrent cell').choices(CELL_TYPES as string[]).default(d.cell))
    .option('--layers <n>', 'recurrent layers', int('layers', 1), d.layers)
    .option('--hidden <n>', 'hidden units per layer', int('hidden', 1), d.hidden)
    .option('--embed <n>', 'embedding size', int('embed', 1), d.embed)
    .option('--seq <n>', 'truncated-BPTT length', int('seq', 1), d.seq)
    .option('--batch <n>', 'lanes trained in parallel', int('batch', 1), d.batch)
    .option('--lr <x>', 'Adam learning rate', num('lr', 0, true), d.lr)
    .option('--clip <x>', 'gradient clipping threshold (0 = off)', num('clip', 0), d.clip)
    .addOption(new Option('--clip-mode <mode>', 'global norm or element-wise value').choices(['norm', 'value']).default(d.clipMode))
    .option('--steps <n>', 'optimisation steps (total, counting a resumed run\'s)', int('steps', 0))
    .option('--epochs <n>', 'passes over the text instead of --steps', num('epochs', 0, true))
    .option('--val-frac <x>', 'fraction held out for validation', num('val-frac', 0), d.valFrac)
    .option('--seed <n>', 'random seed', int('seed', 0), d.seed)
    .option('--eval-every <n>', 'validate every n steps', int('eval-every', 1), 100)
    .option('--save-every <n>', 'write a checkpoint every n steps (0 = only at the end)', int('save-every', 0), 500)
    .option('--resume <model>', 'continue training this model (architecture, vocabulary, optimiser state)')
    .option('--workers <n|auto>', `threads that split each batch: auto = the cores (at most ${AUTO_WORKERS_CAP}, a divisor of the batch; a resume keeps the model's count); same seed and count → same run`, workers, 'auto')
    .option('--quiet', 'no progress bar')
    .option('--json', 'print the result as JSON on standard output (model, steps, losses, speed)')
    .option('--stats-every <n>', `per-tensor diagnostics every n steps (gradient and weight norms, update ratios, gate saturation); default ${DEFAULT_STATS_EVERY}`, int('stats-every', 1))
    .option('--metrics <file>', 'log the diagnostics steps (and the last step) as the run goes: FILE.jsonl (JSON lines) or FILE.csv; a --resume appends')
    .option('--init-scale <x>', 'scale of the initial recurrent weights W_hh (1 = PyTorch\'s)', num('init-scale', 0, true))
    .addOption(new Option('--preset <name>', 'explode: a tanh RNN trained to explode, then the same run clipped (into --out and --out with -clipped before the extension)').choices(['explode']))
    .action(async (files: string[], o, cmd: Command) => {
      const given = new Set(Object.keys(o).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
      process.exitCode = await runTrain(files, { ...o, given });
    });

  program.command('trace')
    .description('run a text through a model and write every gate, state, prediction and gradient norm, as JSON or safetensors')
    .requiredOption('-m, --model <model>', 'model file (.safetensors)')
    .requiredOption('-i, --input <file>', 'UTF-8 text to trace')
    .option('-o, --out <file>', 'where to write the trace: FILE.json or FILE.safetensors (the format from the extension; - for JSON on standard output)')
    .option('--json <file>', 'write the trace as JSON, whatever the file is called (- for standard output)')
    .option('--top-k <k>', 'most likely next characters kept per position', int('top-k', 1), DEFAULT_TOP_K)
    .option('--full-probs', 'also the whole next-character distribution at every position ([T][V])')
    .option('--layers <list>', 'only these layers, 0-based, e.g. 0,1 (default: all)')
    .option('--range <a:b>', 'only positions a to b (b excluded, 0-based) of the text, traced from its start; nothing after b is computed')
    .option('--param-grads', 'include ∂loss/∂θ for every tensor')
    .option('--loss-at <T>', 'gradients of the loss of the one prediction made at position T (0-based) instead of the mean loss', int('loss-at', 0))
    .action(async (o) => { process.exitCode = await runTrace(o); });

  program.command('reach')
    .description('how far back the gradient of a prediction reaches: r(k) = ‖∂L_T/∂h_{T−k}‖ / ‖∂L_T/∂h_T‖ over many predictions')
    .requiredOption('-m, --model <model>', 'model file (.safetensors)')
    .requiredOption('-i, --input <file>', 'UTF-8 text')
    .option('--positions <n>', 'predictions T, spread over the text', int('positions', 1), 40)
    .option('--max-k <K>', 'steps back', int('max-k', 1), 100)
    .option('--json <out>', 'write the curves as JSON instead of a table (- for standard output)')
    .action((o) => { runReach(o); });

  program.command('units')
    .description('find the units that track a per-character feature: Pearson r of every unit against it, ranked')
    .requiredOption('-m, --model <model>', 'model file (.safetensors)')
    .requiredOption('-i, --input <file>', 'UTF-8 text')
    .option('--feature <name>', 'column, line-length, indent, depth, string or comment')
    .option('--regex <re>', '1 inside matches of a JavaScript regular expression (flags g, m, u)')
    .option('--ranges <a:b,…>', '1 inside these character ranges (0-based, end excluded)')
    .option('--lang <lang>', 'strings and comments for depth/string/comment: python, c, js, shell, plain (default: from the file name)')
    .option('--quantity <q>', 'c, tanh(c), h, i, f, g, o (GRU r, z, n) or all', 'all')
    .option('--layer <n>', 'one layer only (0-based)', int('layer', 0))
    .option('--top <n>', 'how many units (0 = all)', int('top', 0), 10)
    .option('--json <out>', 'write the ranking as JSON instead of a table (- for standard output)')
    .action((o) => { runUnits(o); });

  program.command('sample')
    .description('generate text from a model')
    .requiredOption('-m, --model <model>', 'model file (.safetensors)')
    .option('--prime <text>', 'text to condition on', '')
    .option('--length <n>', 'characters to generate', int('length', 0), 500)
    .option('--temperature <t>', 'sampling temperature', num('temperature', 0, true), 1)
    .option('--top-k <k>', 'sample among the k most likely characters (0 = all)', int('top-k', 0), 0)
    .option('--greedy', 'always take the most likely character')
    .option('--seed <n>', 'random seed', int('seed', 0), 1)
    .action((o) => { runSample(o); });

  program.command('import')
    .description('make a PyTorch model a Gatescope model: a torch.save state_dict (or checkpoint) or safetensors under any names')
    .argument('<file>', '.pt / .pth (torch.save) or .safetensors')
    .requiredOption('-o, --out <model>', 'where to write the Gatescope model (.safetensors; - for standard output)')
    .option('--vocab <file>', 'the vocabulary: a JSON list, a JSON object token → id, or one token per line')
    .option('--cell <cell>', `the cell when the weights cannot tell (${CELL_TYPES.join(', ')})`)
    .option('--map <from=to...>', 'rename tensors (whole names, or prefixes ending in "."; nothing after = leaves them out), e.g. fc.weight=decoder.weight lstm.=rnn. rnn2.=')
    .option('--json', 'say what became what as JSON')
    .action((file: string, o) => { runImport(file, o); });

  program.command('info')
    .description('describe a model file')
    .argument('<model>', 'model file (.safetensors)')
    .option('--json', 'as JSON')
    .action((file: string, o) => { runInfo(file, o); });

  program.command('bench')
    .description('measure training and tracing speed side by side with TensorFlow.js and PyTorch')
    .option('--seconds <s>', 'timing budget per measurement', num('seconds', 0, true), 8)
    .option('--configs <list>', 'A (1×128), B (2×256); none: only the big rows (--big)', 'A,B')
    .option('--peers <list>', 'gatescope,tfjs,torch', 'gatescope,tfjs,torch')
    .option('--json <out>', 'also write the results as JSON')
    .option('--data <file>', 'benchmark text (default: lib.dom.d.ts of the typescript package)')
    .option('--openblas-coretype <name>', 'OpenBLAS kernel for the PyTorch peer (default: from the CPU flags)')
    .addOption(new Option('--big <set>', 'big models and long texts: short = 2 × 1024 LSTM and V = 65,536 on 2,000 characters, all = also 10,000 characters')
      .choices(BIG_SETS).default('short'))
    .action(async (o) => { process.exitCode = await runBench(o); });

  // one peer measurement in this process (the bench command runs it in a child for an honest peak RSS)
  program.command('bench-run', { hidden: true })
    .requiredOption('--config <c>', 'A or B')
    .option('--seconds <s>', 'timing budget', num('seconds', 0, true), 8)
    .requiredOption('--data <file>', 'benchmark text')
    .action(async (o) => {
      if (!(o.config in BENCH_CONFIGS)) throw new GatescopeError(`unknown config ${o.config}: use A or B`);
      process.stdout.write(JSON.stringify(await benchRun(o.config, o.seconds, o.data, VERSION)) + '\n');
    });
  // one big-model measurement in this process (benchBig.ts; the bench command runs each in a child)
  program.command('bench-big', { hidden: true })
    .addOption(new Option('--model <m>').choices(Object.keys(BIG_MODELS)).makeOptionMandatory())
    .addOption(new Option('--variant <v>').choices(BIG_VARIANTS).makeOptionMandatory())
    .requiredOption('--chars <n>', 'characters traced', int('chars', 2))
    .requiredOption('--data <file>', 'benchmark text')
    .action(async (o) => {
      process.stdout.write(JSON.stringify(await benchBigRun(o.model, o.variant, o.chars, o.data, VERSION)) + '\n');
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  useFastKernels();
  const program = buildProgram();
  if (argv.length <= 2) {
    // a bare `gatescope` is a usage error: the help, on standard error, and exit 1
    program.outputHelp({ error: true });
    return 1;
  }
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      // help and version exit 0; usage errors were already printed by commander
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 1;
    }
    if (e instanceof GatescopeError) {
      process.stderr.write(`gatescope: ${printable(e.message)}\n`);
      return 1;
    }
    process.stderr.write(`gatescope: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => { process.exitCode = code; });
}
