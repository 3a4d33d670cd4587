import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeModelFile, encodeModelFile, type ModelFile } from '../../../src/engine/modelfile';
import { availableCores } from '../../../src/engine/parallel/nodeThreads';
import { resolveWorkers } from '../../../src/engine/parallel/workers';
import { cliHarness, CLI, expectUserError } from './run';

/** `gatescope train --workers`: auto by default, the count recorded in the model, a resume under auto keeps it. */
const { dir, file, run } = cliHarness('gatescope-workers-');
const corpus = 'It was the best of times, it was the worst of times. 🙂\n'.repeat(40);
const small = ['--hidden', '16', '--embed', '8', '--seq', '16', '--quiet', '--eval-every', '5'];
const load = (p: string): ModelFile => decodeModelFile(new Uint8Array(readFileSync(p)));

describe('gatescope train --workers', function () {
  this.timeout(120_000);
  before(function () {
    if (!existsSync(CLI)) this.skip(); // `npm test` builds first; a bare `mocha` run without a build skips these
  });

  it('defaults to auto: the cores, a divisor of the batch, recorded in the model', () => {
    const text = file('corpus.txt', corpus);
    const out = path.join(dir, 'auto.safetensors');
    const r = run('train', text, ...small, '--batch', '4', '--steps', '6', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const auto = resolveWorkers('auto', availableCores(), 4);
    assert.equal(load(out).training?.options.workers, auto);
    assert.equal(JSON.parse(r.stdout).workers, auto);
    assert.match(r.stderr, new RegExp(`${auto} workers? \\(auto: \\d+ cores?\\)`));
    assert.doesNotMatch(r.stderr, /does not split/);
  });

  it('a resume under auto keeps the recorded count, bit for bit the uninterrupted run; an explicit other count says it differs', () => {
    // 16 workers: a count auto never picks (its cap is 8), so only the record can bring it back
    const text = file('corpus16.txt', corpus);
    const opts = [...small, '--batch', '16', '--save-every', '0'];
    const straight = path.join(dir, 'straight.safetensors'), resumed = path.join(dir, 'resumed.safetensors');
    assert.equal(run('train', text, ...opts, '--workers', '16', '--steps', '12', '--out', straight).status, 0);
    assert.equal(run('train', text, ...opts, '--workers', '16', '--steps', '6', '--out', resumed).status, 0);
    const r = run('train', text, ...opts, '--steps', '12', '--resume', resumed, '--out', resumed);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /16 workers \(auto: the model's count\)/);
    assert.doesNotMatch(r.stderr, /warning/);
    const a = load(straight), b = load(resumed);
    assert.equal(b.training?.step, 12);
    assert.equal(b.training?.options.workers, 16);
    assert.deepEqual(b.net.params, a.net.params);
    assert.deepEqual(b.training?.m, a.training?.m);

    const other = path.join(dir, 'other.safetensors');
    writeFileSync(other, readFileSync(resumed));
    const o = run('train', text, ...opts, '--workers', '2', '--steps', '14', '--resume', other, '--out', other);
    assert.equal(o.status, 0, o.stderr);
    assert.match(o.stderr, /warning: resuming on 2 workers a run trained on 16: .*differs by float rounding from an uninterrupted run/);
    assert.equal(load(other).training?.options.workers, 2);
  });

  it('a model saved before the count was recorded resumes under auto, and says the count is unknown', () => {
    const text = file('corpus-old.txt', corpus);
    const out = path.join(dir, 'old.safetensors');
    assert.equal(run('train', text, ...small, '--batch', '4', '--workers', '1', '--steps', '4', '--out', out).status, 0);
    const m = load(out);
    const { workers: _w, ...options } = m.training!.options;
    writeFileSync(out, encodeModelFile(m.net, m.vocab, m.info, { ...m.training!, options }));
    assert.equal(load(out).training?.options.workers, undefined);
    const r = run('train', text, ...small, '--batch', '4', '--steps', '8', '--resume', out, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const auto = resolveWorkers('auto', availableCores(), 4);
    assert.match(r.stderr, new RegExp(`note: the model does not record how many workers trained it .*resuming on ${auto} \\(auto\\)`));
    assert.doesNotMatch(r.stderr, /warning/);
    assert.equal(load(out).training?.options.workers, auto);
  });

  it('an explicit count that does not split the batch warns and trains on one thread; bad counts are user errors', () => {
    const text = file('corpus-odd.txt', corpus);
    const out = path.join(dir, 'odd.safetensors');
    const r = run('train', text, ...small, '--batch', '3', '--workers', '2', '--steps', '3', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /the batch \(3\) does not split into 2 equal parts: training on one thread/);
    assert.equal(load(out).training?.options.workers, 1);
    for (const bad of ['0', '65', '1.5', 'many']) {
      expectUserError(run('train', text, '--workers', bad, '--out', out), /workers must be auto or a whole number from 1 to 64/);
    }
  });
});
