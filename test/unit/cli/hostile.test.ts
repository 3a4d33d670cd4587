import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseSafetensors, serializeSafetensors, tensorToFloat32 } from '../../../src/engine/safetensors';
import { encodeModelFile } from '../../../src/engine/modelfile';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { estimateRun } from '../../../src/engine/limits';
import { Vocabulary } from '../../../src/engine/vocab';
import { cliHarness, CLI, expectUserError } from './run';

/**
 * The CLI against the bad inputs of issue 14 (a probe's findings), as a user meets them: every one a user error
 * (exit 1, one line, no stack trace) that leaves every input as it was.
 */
const { dir, file, run } = cliHarness('gatescope-hostile-');
const small = ['--hidden', '8', '--embed', '4', '--seq', '8', '--batch', '2', '--quiet'];
const userError = expectUserError;

describe('gatescope CLI: hostile input (issue 14)', function () {
  this.timeout(60_000);
  let corpus: string, model: string;
  before(function () {
    if (!existsSync(CLI)) this.skip();
    corpus = file('corpus.txt', 'the quick brown fox jumps over the lazy dog\n'.repeat(30));
    model = path.join(dir, 'm.safetensors');
    assert.equal(run('train', corpus, ...small, '--steps', '3', '-o', model).status, 0);
  });

  it('info shows escape sequences and line breaks from the file as escapes: the terminal never acts on them', () => {
    const f = parseSafetensors(readFileSync(model));
    const tensors = [...f.tensors].map(([name, t]) => ({ name, shape: t.shape, data: tensorToFloat32(name, t) }));
    tensors.push({ name: 'x\u001b[31mred\nforged line\u202e', shape: [1], data: new Float32Array(1) });
    const info = JSON.parse(f.metadata['gatescope.info']!) as Record<string, unknown>;
    const evil = file('evil.safetensors', serializeSafetensors(tensors, { ...f.metadata, 'gatescope.info': JSON.stringify({ ...info, source: 'a\u001b]0;pwned\u0007b\rc' }) }));
    const r = run('info', evil);
    assert.equal(r.status, 0, r.stderr);
    for (const c of ['\u001b', '\u0007', '\r', '\u202e']) assert.ok(!r.stdout.includes(c), `${JSON.stringify(c)} reached the terminal`);
    assert.match(r.stdout, /trained on a\\x1b]0;pwned\\x07b\\rc/);
    assert.match(r.stdout, /warning: ignored tensor x\\x1b\[31mred\\nforged line\\u202e, which the model does not use/);
    assert.ok(!r.stdout.split('\n').some((l) => l.startsWith('forged line')), 'no line forged');
    const json = run('info', evil, '--json');
    assert.equal(JSON.parse(json.stdout).source, 'a\u001b]0;pwned\u0007b\rc', 'JSON keeps the value, escaped by JSON');
    assert.ok(!json.stdout.includes('\u001b'));
  });

  it('refuses to write over an input: --out onto the training text, --json onto the model or the text (also through a link)', () => {
    const before = readFileSync(corpus, 'utf8');
    userError(run('train', corpus, ...small, '--steps', '2', '-o', corpus), /--out .*corpus\.txt is .*corpus\.txt, one of the inputs: writing it would destroy it/);
    assert.equal(readFileSync(corpus, 'utf8'), before);
    const modelBytes = readFileSync(model);
    userError(run('trace', '--model', model, '--input', corpus, '--json', model), /--json .*m\.safetensors is .*m\.safetensors, one of the inputs/);
    assert.deepEqual(readFileSync(model), modelBytes);
    userError(run('units', '--model', model, '--input', corpus, '--feature', 'column', '--json', corpus), /one of the inputs/);
    userError(run('reach', '--model', model, '--input', corpus, '--json', path.join(dir, '.', 'corpus.txt')), /one of the inputs/);
    assert.equal(readFileSync(corpus, 'utf8'), before);
  });

  it('one writer per model: a second training into a file another running gatescope writes is refused; a dead writer\'s lock is taken over', () => {
    const out = path.join(dir, 'locked.safetensors');
    const lock = path.join(dir, '.locked.safetensors.lock');
    writeFileSync(lock, String(process.pid)); // a live process (this test) holds it
    userError(run('train', corpus, ...small, '--steps', '2', '-o', out), new RegExp(`another gatescope \\(pid ${process.pid}\\) is writing .*locked\\.safetensors`));
    assert.ok(!existsSync(out));
    writeFileSync(lock, '2147483646'); // no such process
    const r = run('train', corpus, ...small, '--steps', '2', '-o', out);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(out));
    assert.ok(!existsSync(lock), 'released at the end');
  });

  it('removes the temporary files a killed save left beside the model, not those of a running process', () => {
    const dead = file('.m2.safetensors.2147483646.deadbeef.tmp', 'half a model');
    const live = file(`.m2.safetensors.${process.pid}.cafef00d.tmp`, 'being written');
    const other = file('.other.safetensors.2147483646.deadbeef.tmp', 'another model\'s');
    assert.equal(run('train', corpus, ...small, '--steps', '2', '-o', path.join(dir, 'm2.safetensors')).status, 0);
    assert.ok(!existsSync(dead));
    assert.ok(existsSync(live) && existsSync(other));
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.m2.safetensors.') && n.endsWith('.tmp')), [path.basename(live)]);
  });

  it('--epochs that would exceed the step cap; an output folder that cannot be made', () => {
    userError(run('train', corpus, ...small, '--epochs', '1e12', '-o', path.join(dir, 'e.safetensors')), /--epochs 1000000000000 is .* steps on this text, more than the 1e\+9 a run may take/);
    userError(run('train', corpus, ...small, '--steps', '2', '-o', path.join(corpus, 'sub', 'x.safetensors')), /cannot create the folder .*corpus\.txt.sub for --out: a part of the path is a file/);
  });

  it('a resume file with a malformed random-generator state', () => {
    const f = parseSafetensors(readFileSync(model));
    const train = JSON.parse(f.metadata['gatescope.train']!) as Record<string, unknown>;
    const tensors = [...f.tensors].map(([name, t]) => ({ name, shape: t.shape, data: tensorToFloat32(name, t) }));
    const bad = file('badrng.safetensors', serializeSafetensors(tensors, { ...f.metadata, 'gatescope.train': JSON.stringify({ ...train, rng: [1, 2, 3] }) }));
    userError(run('train', corpus, '--steps', '5', '--resume', bad, '-o', path.join(dir, 'r.safetensors'), '--quiet'), /field "rng" must be the random generator's state/);
  });
});

describe('the cost of a training run, before anything is allocated', () => {
  it('warns with an estimate when a step takes minutes or the model gigabytes; says nothing for a small one', () => {
    const huge = estimateRun({ cell: 'lstm', vocabSize: 100, embed: 8192, hidden: 8192, layers: 2 }, 64, 32);
    assert.equal(huge.parameters, 100 * 8192 * 2 + 100 + 2 * (4 * 8192 * 16384 + 2 * 4 * 8192));
    assert.match(huge.warning!, /^this model has 1,07\d,[\d,]+ parameters: a training step is about 1\.3e\+13 operations, roughly \d+ minutes a step on one core, and it needs about 16\.0 GB/);
    assert.equal(estimateRun({ cell: 'lstm', vocabSize: 100, embed: 64, hidden: 128, layers: 1 }, 64, 32).warning, null);
  });
});

describe('gatescope CLI: the largest vocabulary a model may have (issue 14 item 5)', function () {
  this.timeout(120_000);
  before(function () { if (!existsSync(CLI)) this.skip(); });

  it('traces within a bounded memory with 65,536 in the vocabulary: the top 10 of each distribution; the whole one streamed on request', () => {
    const chars = Array.from({ length: 65_536 }, (_, k) => String.fromCodePoint(0x10000 + k));
    const vocab = new Vocabulary(chars);
    const net = new Network({ cell: 'lstm', vocabSize: vocab.size, embed: 4, hidden: 8, layers: 1 });
    net.initialize(new Rng(1));
    const big = file('big-vocab.safetensors', encodeModelFile(net, vocab, {}, null));
    const text = (n: number): string => file(`text-${n}.txt`, Array.from({ length: n }, (_, k) => chars[(k * 7919) % chars.length]!).join(''));
    // a trace keeps the top 10 of each distribution, not all 65,536 (2,000 characters were 500 MB of them)
    const ok = run('trace', '--model', big, '--input', text(2000), '--json', path.join(dir, 't.json'));
    assert.equal(ok.status, 0, ok.stderr);
    const top = JSON.parse(readFileSync(path.join(dir, 't.json'), 'utf8')) as { top: { ids: number[][] }; probs?: unknown };
    assert.deepEqual([top.top.ids.length, top.top.ids[0]!.length, top.probs], [2000, 10, undefined]);
    // the whole distribution on request, streamed: no longer limited by what one string holds
    const full = run('trace', '--model', big, '--input', text(100), '--out', path.join(dir, 'full.json'), '--full-probs');
    assert.equal(full.status, 0, full.stderr);
    const json = JSON.parse(readFileSync(path.join(dir, 'full.json'), 'utf8')) as { probs: number[][] };
    assert.deepEqual([json.probs.length, json.probs[0]!.length], [100, 65_536]);
    const units = run('units', '--model', big, '--input', text(1000), '--feature', 'column');
    assert.equal(units.status, 0, units.stderr);
  });
});
