import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import { csvHeader } from '../../../src/cli/metrics';

/** Runs the CLI in this process (standard error is left to the test's output). */
async function cli(...args: string[]): Promise<number> {
  process.exitCode = undefined;
  const code = await main(['node', 'gatescope', ...args]);
  process.exitCode = undefined;
  return code;
}

describe('gatescope train --metrics', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'gatescope-metrics-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, 'the cat sat on the mat. the dog sat on the log.\n'.repeat(60));
  const base = ['--hidden', '16', '--embed', '8', '--seq', '16', '--batch', '4', '--workers', '1', '--quiet', '--eval-every', '10'];

  it('JSON lines: every stats step and the last one, with step, loss, gradNorm, clipRatio, tensors, saturation; valLoss when measured', async () => {
    const model = path.join(dir, 'j.safetensors'), out = path.join(dir, 'j.jsonl');
    assert.equal(await cli('train', text, '-o', model, '--steps', '23', '--stats-every', '5', '--metrics', out, ...base), 0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => l['step']), [5, 10, 15, 20, 23]);
    const names = ['encoder.weight', 'rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'decoder.weight', 'decoder.bias'];
    for (const l of lines) {
      for (const k of ['loss', 'gradNorm', 'clipRatio']) assert.equal(typeof l[k], 'number', k);
      const tensors = l['tensors'] as Record<string, { grad: number; weight: number; update: number }>;
      assert.deepEqual(Object.keys(tensors), names);
      for (const t of Object.values(tensors)) for (const k of ['grad', 'weight', 'update'] as const) assert.equal(typeof t[k], 'number');
      const sq = Object.values(tensors).reduce((s, t) => s + t.grad * t.grad, 0);
      assert.ok(Math.abs(Math.sqrt(sq) - (l['gradNorm'] as number)) <= 1e-6 * (l['gradNorm'] as number));
      assert.equal((l['saturation'] as number[]).length, 1);
      assert.equal('valLoss' in l, l['step'] === 10 || l['step'] === 20 || l['step'] === 23, `valLoss at ${l['step']}`);
    }
  });

  it('CSV: the header, one row per logged step; a resume appends without a second header', async () => {
    const model = path.join(dir, 'c.safetensors'), out = path.join(dir, 'c.csv');
    assert.equal(await cli('train', text, '-o', model, '--steps', '10', '--stats-every', '5', '--metrics', out, ...base), 0);
    const names = ['encoder.weight', 'rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'decoder.weight', 'decoder.bias'];
    const header = csvHeader(names);
    assert.ok(header.startsWith('step,loss,valLoss,gradNorm,clipRatio,encoder.weight.grad,encoder.weight.weight,encoder.weight.update,'));
    assert.equal(await cli('train', text, '-o', model, '--resume', model, '--steps', '20', '--stats-every', '5', '--metrics', out, ...base), 0);
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(rows[0], header);
    assert.deepEqual(rows.slice(1).map((r) => r.split(',')[0]), ['5', '10', '15', '20']);
    for (const r of rows.slice(1)) assert.equal(r.split(',').length, 5 + 3 * names.length);
    // a CSV of other columns is not appended to
    const other = path.join(dir, 'other.csv');
    writeFileSync(other, 'step,loss\n1,2\n');
    assert.equal(await cli('train', text, '-o', model, '--resume', model, '--steps', '25', '--metrics', other, ...base), 1);
    assert.equal(readFileSync(other, 'utf8'), 'step,loss\n1,2\n');
  });

  it('refuses bad metrics paths before training: no model written', async () => {
    const model = path.join(dir, 'never.safetensors');
    const bad = [
      ['--metrics', path.join(dir, 'missing', 'm.jsonl')],
      ['--metrics', path.join(dir, 'm.txt')],
      ['--metrics', text],
    ];
    for (const extra of bad) {
      assert.equal(await cli('train', text, '-o', model, '--steps', '5', ...extra, ...base), 1, extra.join(' '));
      assert.ok(!existsSync(model), `${extra.join(' ')}: no model`);
    }
    assert.ok(readFileSync(text, 'utf8').startsWith('the cat'), 'the input is untouched');
  });

  it('refuses a read-only folder before training', async function () {
    if (process.getuid?.() === 0) this.skip(); // root writes anywhere
    const { chmodSync, mkdirSync } = await import('node:fs');
    const ro = path.join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const model = path.join(dir, 'ro-never.safetensors');
    assert.equal(await cli('train', text, '-o', model, '--steps', '5', '--metrics', path.join(ro, 'm.jsonl'), ...base), 1);
    assert.ok(!existsSync(model));
  });
});
