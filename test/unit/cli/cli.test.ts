import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeModelFile } from '../../../src/engine/modelfile';
import { cliHarness, CLI, expectUserError } from './run';

/** Runs the built CLI (npm test builds it first) as a user would. */
const { dir, file, run } = cliHarness('gatescope-cli-');
const corpus = 'It was the best of times, it was the worst of times. 🙂\n'.repeat(40);
const small = ['--hidden', '16', '--embed', '8', '--seq', '16', '--batch', '4', '--quiet'];

describe('gatescope CLI', function () {
  this.timeout(60_000);
  before(function () {
    if (!existsSync(CLI)) this.skip(); // `npm test` builds first; a bare `mocha` run without a build skips these
  });

  it('trains, reports, saves a model that loads and resumes to the total step count', () => {
    const text = file('corpus.txt', corpus);
    const out = path.join(dir, 'models', 'm.safetensors');
    const r = run('train', text, ...small, '--steps', '30', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /step 30: loss \d\.\d+, validation \d\.\d+; [\d,]+ chars\/s/);
    const m = decodeModelFile(new Uint8Array(readFileSync(out)));
    assert.equal(m.training?.step, 30);
    assert.equal(m.info.steps, 30);
    const r2 = run('train', text, ...small, '--steps', '45', '--resume', out, '--out', out);
    assert.equal(r2.status, 0, r2.stderr);
    assert.equal(decodeModelFile(new Uint8Array(readFileSync(out))).training?.step, 45);
    assert.deepEqual(readdirSync(path.dirname(out)), ['m.safetensors'], 'no temporary files left behind');

    const info = run('info', out, '--json');
    assert.equal(JSON.parse(info.stdout).steps, 45);
    const s = run('sample', '-m', out, '--prime', 'It was', '--length', '50', '--seed', '3');
    assert.equal(s.status, 0, s.stderr);
    assert.equal([...s.stdout.trimEnd()].length, 'It was'.length + 50);
  });

  it('trains a ReLU RNN (--cell rnn_relu) that info names, and traces, reaches and ranks units with it', () => {
    const text = file('corpus-relu.txt', corpus);
    const out = path.join(dir, 'relu.safetensors');
    const r = run('train', text, ...small, '--cell', 'rnn_relu', '--steps', '20', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(decodeModelFile(new Uint8Array(readFileSync(out))).net.cfg.cell, 'rnn_relu');
    assert.match(run('info', out).stdout, /\n {2}rnn_relu: RNN \(ReLU\), 1 layer × 16 hidden, embedding 8/);
    const info = JSON.parse(run('info', out, '--json').stdout);
    assert.deepEqual([info.cell, info.cellName], ['rnn_relu', 'RNN (ReLU)']);
    const input = file('relu-in.txt', 'It was the best of times, it was the worst of times.');
    const json = path.join(dir, 'relu-trace.json');
    assert.equal(run('trace', '-m', out, '-i', input, '--json', json).status, 0);
    const tr = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(tr.cell, 'rnn_relu');
    assert.deepEqual(Object.keys(tr.layers[0]), ['h', 'gradH'], 'no gates, no c');
    const h = (tr.layers[0].h as number[][]).flat();
    assert.ok(h.every((x) => x >= 0) && h.some((x) => x === 0) && h.some((x) => x > 0), 'relu: silent and active units, none negative');
    const reach = run('reach', '-m', out, '-i', input, '--positions', '4', '--max-k', '10');
    assert.equal(reach.status, 0, reach.stderr);
    assert.match(reach.stdout, /\(rnn_relu\)/);
    assert.equal(run('units', '-m', out, '-i', input, '--feature', 'column', '--quantity', 'h').status, 0);
    expectUserError(run('units', '-m', out, '-i', input, '--feature', 'column', '--quantity', 'c'), /this rnn_relu model has no c: use one of h/);
  });

  it('records the training files (relative to the model) and the SHA-256 of the joined text; info shows them; a resume on another text warns', () => {
    const a = file('prov-a.txt', 'first file without a newline at the end');
    const b = file('prov-b.txt', corpus);
    const out = path.join(dir, 'prov', 'p.safetensors');
    const r = run('train', a, b, ...small, '--steps', '3', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const joined = `${readFileSync(a, 'utf8')}\n${corpus}`;
    const info = decodeModelFile(new Uint8Array(readFileSync(out))).info;
    assert.deepEqual(info.sources, [{ uri: '../prov-a.txt' }, { uri: '../prov-b.txt' }]);
    assert.equal(info.join, 'newline-if-missing');
    assert.equal(info.textHash, createHash('sha256').update(joined, 'utf8').digest('hex'));
    const json = JSON.parse(run('info', out, '--json').stdout);
    assert.deepEqual([json.sources, json.textHash], [info.sources, info.textHash]);
    const text = run('info', out).stdout;
    assert.match(text, /training text: \.\.\/prov-a\.txt, \.\.\/prov-b\.txt, joined newline-if-missing/);
    assert.match(text, new RegExp(`training text SHA-256: ${info.textHash}`));

    const same = run('train', a, b, ...small, '--steps', '5', '--resume', out, '--out', out);
    assert.equal(same.status, 0, same.stderr);
    assert.doesNotMatch(same.stderr, /another text/);
    assert.deepEqual(decodeModelFile(new Uint8Array(readFileSync(out))).info.textHash, info.textHash, 'a resume on the same text keeps the record');
    const other = run('train', b, ...small, '--steps', '7', '--resume', out, '--out', out);
    assert.equal(other.status, 0, other.stderr);
    assert.match(other.stderr, /warning: resuming on another text than the model was trained on \(2 files \(prov-a\.txt, prov-b\.txt\); the SHA-256 of the text differs\)/);
    const after = decodeModelFile(new Uint8Array(readFileSync(out))).info;
    assert.deepEqual([after.sources, after.textHash], [[{ uri: '../prov-b.txt' }], createHash('sha256').update(corpus, 'utf8').digest('hex')]);
  });

  it('writes the trace schema: tokens, loss, the top predictions, pNext, entropy, layers with [T][H] gates and [T] gradient norms', () => {
    const text = file('c2.txt', corpus);
    const model = path.join(dir, 't.safetensors');
    assert.equal(run('train', text, ...small, '--layers', '2', '--steps', '5', '--out', model).status, 0);
    const input = file('in.txt', 'It was the worst 🙂');
    const json = path.join(dir, 'trace.json');
    const r = run('trace', '--model', model, '--input', input, '--json', json, '--param-grads');
    assert.equal(r.status, 0, r.stderr);
    const t = JSON.parse(readFileSync(json, 'utf8'));
    const T = [...'It was the worst 🙂'].length;
    assert.deepEqual([t.format, t.version], ['gatescope-trace', 2]);
    assert.equal(t.tokens.length, T);
    assert.equal(t.probs, undefined, 'the whole distribution only with --full-probs');
    assert.equal(t.top.k, 10);
    assert.deepEqual([t.top.ids.length, t.top.ids[0].length, t.top.probs.length, t.top.probs[0].length], [T, 10, T, 10]);
    assert.ok(t.top.probs[3].every((p: number, i: number) => i === 0 || p <= t.top.probs[3][i - 1]), 'most likely first');
    assert.equal(t.pNext.length, T);
    assert.equal(t.pNext[T - 1], null, 'the last character predicts nothing');
    assert.ok(t.entropy.every((h: number) => h > 0));
    assert.equal(t.layers.length, 2);
    for (const k of ['i', 'f', 'g', 'o', 'c', 'h']) assert.deepEqual([t.layers[1][k].length, t.layers[1][k][0].length], [T, 16], k);
    assert.equal(t.layers[0].gradH.length, T);
    assert.equal(t.layers[0].gradC.length, T);
    assert.ok(t.loss > 0);
    assert.equal(t.paramGrads['rnn.weight_hh_l1'].length, 4 * 16 * 16);
  });

  describe('bad input: exit 1 with one clear line', () => {
    const out = path.join(dir, 'never.safetensors');
    it('empty, binary, non-UTF-8, too short, missing files', () => {
      expectUserError(run('train', file('empty.txt', ''), '--out', out), /empty\.txt is empty/);
      expectUserError(run('train', file('bin.dat', new Uint8Array([1, 2, 0, 3])), '--out', out), /not a text file/);
      expectUserError(run('train', file('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9])), '--out', out), /not valid UTF-8/);
      expectUserError(run('train', file('short.txt', 'abc'), '--out', out), /too short to train on: it has 3 characters, and at least 9/);
      expectUserError(run('train', path.join(dir, 'nope.txt'), '--out', out), /no such file/);
      assert.ok(!existsSync(out));
    });
    it('bad options', () => {
      const text = file('ok.txt', corpus);
      expectUserError(run('train', text, '--lr', 'NaN', '--out', out), /lr must be a number > 0/);
      expectUserError(run('train', text, '--hidden', '-4', '--out', out), /hidden must be a whole number/);
      expectUserError(run('train', text, '--cell', 'lstm3', '--out', out), /Allowed choices are lstm, gru, rnn_tanh, rnn_relu/);
      expectUserError(run('train', text), /required option '-o, --out <model>'/);
    });
    it('corrupt models and unknown characters at trace time', () => {
      const bad = file('bad.safetensors', new Uint8Array([0, 0, 0, 0, 0, 0, 0, 16, 1, 2, 3]));
      const input = file('x.txt', 'hello');
      expectUserError(run('trace', '-m', bad, '-i', input, '--json', path.join(dir, 'x.json')), /bad\.safetensors: .*header length/);
      expectUserError(run('sample', '-m', file('t.txt', 'not a model'), '--length', '3'), /t\.txt: /);
      const text = file('ok2.txt', corpus);
      const model = path.join(dir, 'u.safetensors');
      assert.equal(run('train', text, ...small, '--steps', '2', '--out', model).status, 0);
      expectUserError(run('trace', '-m', model, '-i', file('zz.txt', 'It was ZZ'), '--json', path.join(dir, 'y.json')),
        /1 character is not in the model's vocabulary: 'Z' \(U\+005A\)/);
    });
  });

  describe('gradient reach', () => {
    let model = '';
    before(() => {
      model = path.join(dir, 'reach.safetensors');
      assert.equal(run('train', file('reach-corpus.txt', corpus), ...small, '--layers', '2', '--steps', '20', '--out', model).status, 0);
    });

    it('trace --loss-at T: single-prediction norms, zero after T, and a saliency for every character before it', () => {
      const input = file('r-in.txt', [...corpus].slice(0, 80).join(''));
      const json = path.join(dir, 'loss-at.json');
      const r = run('trace', '-m', model, '-i', input, '--json', json, '--loss-at', '50');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /gradients of the prediction at 50 \(loss \d\.\d+ nats\)/);
      const t = JSON.parse(readFileSync(json, 'utf8'));
      assert.equal(t.lossAt, 50);
      assert.ok(t.lossAtValue > 0);
      assert.ok(Math.abs(t.lossAtValue + Math.log(t.pNext[50])) < 1e-5, 'L_T = −log p(x_{T+1})');
      assert.equal(t.saliency.length, 80);
      for (const l of t.layers) {
        assert.ok(l.gradH.slice(51).every((x: number) => x === 0), 'nothing after T affects L_T');
        assert.ok(l.gradH.slice(0, 51).every((x: number) => x > 0));
        assert.ok(l.gradC.slice(51).every((x: number) => x === 0));
      }
      assert.ok(t.saliency.slice(0, 51).every((x: number) => x > 0) && t.saliency.slice(51).every((x: number) => x === 0));
      const mean = path.join(dir, 'mean.json');
      assert.equal(run('trace', '-m', model, '-i', input, '--json', mean).status, 0);
      const m = JSON.parse(readFileSync(mean, 'utf8'));
      assert.equal(m.loss, t.loss, 'loss stays the mean over all predictions');
      assert.equal(m.saliency, undefined);
      assert.ok(m.layers[0].gradH[78] > 0, 'the mean loss has gradients up to its last prediction');
    });

    it('trace --loss-at refuses the last character and positions outside the text', () => {
      const input = file('r-short.txt', 'It was the');
      const json = path.join(dir, 'bad.json');
      expectUserError(run('trace', '-m', model, '-i', input, '--json', json, '--loss-at', '9'), /position 9 is the last character: nothing follows it to predict/);
      expectUserError(run('trace', '-m', model, '-i', input, '--json', json, '--loss-at', '40'), /from 0 to 8 in this 10-character text, not 40/);
      expectUserError(run('trace', '-m', model, '-i', input, '--json', json, '--loss-at', '-1'), /loss-at must be a whole number ≥ 0/);
      assert.equal(existsSync(json), false, 'no output written for bad input');
    });

    it('reach: a table by default, the JSON schema with --json', () => {
      const input = file('r-long.txt', [...corpus].slice(0, 400).join(''));
      const r = run('reach', '-m', model, '-i', input, '--positions', '8', '--max-k', '30');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /8 predictions, 30\.\.398/);
      assert.match(r.stdout, /h, layer 0 +c, layer 0 +h, layer 1 +c, layer 1/);
      assert.match(r.stdout, /^ +0 +1\.0e\+0 \[1\.0e\+0, 1\.0e\+0\]/m);
      assert.match(r.stdout, /memory horizon, layer 1 \(median below 1e-3\): h (\d+|> 30), c (\d+|> 30) characters/);
      assert.match(r.stderr, /reach of 8 predictions × 30 steps back over 400 characters in \d+\.\d+ s/);
      const json = path.join(dir, 'reach.json');
      assert.equal(run('reach', '-m', model, '-i', input, '--positions', '8', '--max-k', '30', '--json', json).status, 0);
      const j = JSON.parse(readFileSync(json, 'utf8'));
      assert.equal(j.cell, 'lstm');
      assert.deepEqual(j.k, Array.from({ length: 31 }, (_, k) => k));
      assert.equal(j.positions.length, 8);
      assert.equal(j.layers.length, 2);
      for (const l of j.layers) {
        for (const b of [l.gradH, l.gradC]) {
          assert.equal(b.median.length, 31);
          assert.equal(b.median[0], 1);
          for (let k = 0; k <= 30; k++) assert.ok(b.q10[k] <= b.median[k] && b.median[k] <= b.q90[k]);
        }
      }
      assert.equal(j.horizon.length, 2);
      assert.equal(j.horizonC.length, 2);
    });

    it('reach refuses a text shorter than K and bad counts', () => {
      expectUserError(run('reach', '-m', model, '-i', file('r-tiny.txt', 'It was the best'), '--max-k', '100'),
        /the text has 15 characters: reaching 100 steps back needs at least 102 \(use a longer text or a smaller --max-k\)/);
      expectUserError(run('reach', '-m', model, '-i', file('r-tiny2.txt', 'It was'), '--positions', '0'), /positions must be a whole number ≥ 1/);
    });
  });

  describe('units', () => {
    let model = '';
    const code = 'def f(x):\n    # add one\n    return (x + 1)\n\nprint(f("(2"))\n'.repeat(6);
    before(() => {
      model = path.join(dir, 'units.safetensors');
      assert.equal(run('train', file('units-corpus.py', code), ...small, '--layers', '2', '--steps', '10', '--out', model).status, 0);
    });

    it('ranks units by |r| against a built-in feature as a table, and as JSON with layers 0-based', () => {
      const input = file('units-in.py', code);
      const r = run('units', '-m', model, '-i', input, '--feature', 'depth', '--top', '4');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /units against depth \(python\), by \|Pearson r\| over 224 units/, 'the language comes from the .py extension');
      assert.match(r.stdout, /rank +layer +unit +quantity +r\n +1 +[01] +\d+ +(c|tanh\(c\)|h|i|f|g|o) +-?0\.\d{3}/);
      const json = path.join(dir, 'units.json');
      assert.equal(run('units', '-m', model, '-i', input, '--regex', '#.*', '--quantity', 'h', '--layer', '1', '--top', '0', '--json', json).status, 0);
      const j = JSON.parse(readFileSync(json, 'utf8'));
      assert.equal(j.feature, 'regex /#.*/');
      assert.equal(j.units.length + j.constant, 16, 'all 16 h units of layer 1');
      for (const u of j.units) {
        assert.equal(u.layer, 1);
        assert.equal(u.quantity, 'h');
        assert.ok(typeof u.meanIn === 'number' && typeof u.meanOut === 'number', 'a 0/1 feature reports the means');
      }
      for (let k = 1; k < j.units.length; k++) assert.ok(Math.abs(j.units[k - 1].r) >= Math.abs(j.units[k].r));
    });

    it('bad input: invalid regex, a regex that matches nothing, ranges outside the text, a constant feature', () => {
      const input = file('units-in2.py', code);
      expectUserError(run('units', '-m', model, '-i', input, '--regex', '(a'), /the regular expression is not valid: Invalid regular expression: .*Unterminated group/);
      expectUserError(run('units', '-m', model, '-i', input, '--regex', 'zzz'), /the feature is 0 at every character \(it matches nothing\): r is undefined/);
      expectUserError(run('units', '-m', model, '-i', input, '--ranges', '5:999999'), /the range 5:999999 ends after the text/);
      expectUserError(run('units', '-m', model, '-i', file('flat.txt', 'aaaa'), '--feature', 'line-length'), /the feature is 4 at every character of the text: r is undefined/);
      expectUserError(run('units', '-m', model, '-i', input), /give exactly one of --feature, --regex or --ranges/);
      expectUserError(run('units', '-m', model, '-i', input, '--feature', 'colour'), /--feature must be one of column, line-length/);
      expectUserError(run('units', '-m', model, '-i', input, '--feature', 'column', '--layer', '2'), /--layer 2 does not exist: the model has layers 0 to 1/);
      expectUserError(run('units', '-m', model, '-i', input, '--feature', 'column', '--quantity', 'z'), /this lstm model has no z/);
    });
  });

  it('Ctrl-C in the middle of training saves a checkpoint that resumes, and exits 130', async () => {
    const text = file('long.txt', corpus.repeat(5));
    const out = path.join(dir, 'interrupted.safetensors');
    const child = spawn(process.execPath, [CLI, 'train', text, '--hidden', '64', '--steps', '100000', '--save-every', '0', '--quiet', '--out', out]);
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted at step \d+/);
    assert.match(stderr, /continue with --resume/);
    const m = decodeModelFile(new Uint8Array(readFileSync(out)));
    assert.ok(m.training && m.training.step > 0 && m.training.step < 100000);
  });
});
