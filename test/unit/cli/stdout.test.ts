import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeModelFile } from '../../../src/engine/modelfile';
import { cliHarness, CLI, expectUserError } from './run';

/** The CLI in pipelines: `-` is standard output, results as JSON, a bare command is a usage error. */
describe('gatescope CLI in scripts: standard output and JSON', function () {
  this.timeout(60_000);
  const { dir, file, run } = cliHarness('gatescope-stdout-');
  const small = ['--hidden', '8', '--embed', '4', '--seq', '8', '--batch', '2', '--steps', '3', '--quiet'];
  const text = (): string => file('t.txt', 'the cat sat on the mat. '.repeat(20));
  before(function () {
    if (!existsSync(CLI)) this.skip();
  });

  it('a bare gatescope prints its help on standard error and exits 1', () => {
    const r = run();
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /Usage: gatescope \[options\] \[command\][\s\S]*train \[options\] <files\.\.\.>/);
  });

  it('train --out - writes the final model to standard output, the progress to standard error; train --json says the result', () => {
    const t = text();
    // binary on standard output: read as bytes, not as text
    const piped = spawnSync(process.execPath, [CLI, 'train', t, ...small, '--out', '-']);
    assert.equal(piped.status, 0, piped.stderr.toString());
    const m = decodeModelFile(new Uint8Array(piped.stdout));
    assert.equal(m.training?.step, 3);
    assert.match(piped.stderr.toString(), /model saved to standard output/);
    const out = path.join(dir, 'm.safetensors');
    const r = run('train', t, ...small, '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.model, out);
    assert.equal(j.step, 3);
    assert.equal(typeof j.loss, 'number');
    assert.equal(j.config.hidden, 8);
    assert.equal(decodeModelFile(new Uint8Array(readFileSync(out))).info.steps, 3);
    expectUserError(run('train', t, ...small, '--out', '-', '--json'), /--json cannot share it/);
  });

  it('--resume continues the run with its own settings unless the command line names others (and says so)', () => {
    const t = text();
    const custom = ['--hidden', '8', '--embed', '4', '--seq', '12', '--batch', '3', '--lr', '0.01', '--clip', '1', '--quiet'];
    const straight = path.join(dir, 'straight.safetensors'), half = path.join(dir, 'half.safetensors');
    assert.equal(run('train', t, ...custom, '--steps', '6', '--out', straight).status, 0);
    assert.equal(run('train', t, ...custom, '--steps', '3', '--out', half).status, 0);
    const r = run('train', t, '--resume', half, '--steps', '6', '--out', half, '--quiet');
    assert.equal(r.status, 0, r.stderr);
    const a = decodeModelFile(new Uint8Array(readFileSync(straight))), b = decodeModelFile(new Uint8Array(readFileSync(half)));
    assert.deepEqual(b.training!.options, a.training!.options, 'the settings of the run, not the defaults');
    assert.deepEqual(Array.from(b.net.params), Array.from(a.net.params), '3 steps + resume to 6 = 6 steps, bit for bit');
    const changed = run('train', t, '--resume', straight, '--steps', '7', '--lr', '0.002', '--out', path.join(dir, 'c.safetensors'), '--quiet');
    assert.equal(changed.status, 0, changed.stderr);
    assert.match(changed.stderr, /the resume changes lr 0\.01 → 0\.002 from the run it continues/);
  });

  it('trace, units and reach --json - write the same JSON a file gets', () => {
    const t = text();
    const model = path.join(dir, 'r.safetensors');
    assert.equal(run('train', t, ...small, '--out', model).status, 0);
    const f = path.join(dir, 'trace.json');
    assert.equal(run('trace', '-m', model, '-i', t, '--json', f).status, 0);
    const piped = run('trace', '-m', model, '-i', t, '--json', '-');
    assert.equal(piped.status, 0, piped.stderr);
    assert.deepEqual(JSON.parse(piped.stdout), JSON.parse(readFileSync(f, 'utf8')));
    assert.match(piped.stderr, /wrote standard output/);
    const u = run('units', '-m', model, '-i', t, '--feature', 'column', '--json', '-');
    assert.equal(JSON.parse(u.stdout).feature, 'column');
    const re = run('reach', '-m', model, '-i', t, '--positions', '4', '--max-k', '10', '--json', '-');
    assert.equal(re.status, 0, re.stderr);
    assert.ok(Array.isArray(JSON.parse(re.stdout).k));
  });
});
