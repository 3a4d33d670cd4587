import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { joinTexts } from '../../../src/cli/train';
import type { ModelInfo } from '../../../src/engine/modelfile';
import {
  comparedModel, comparisonName, describeSources, joinPieces, keptComparisonMismatch, provenanceOf, resolveSourceRef, resolveTrainingText,
  resumeProvenance, sha256Hex, sha256HexYielding, vocabularyDifference, type ComparisonWanted,
} from '../../../src/models/provenance';

const name = (u: string): string => decodeURIComponent(u.split('/').pop()!);
const MODEL = 'file:///w/.gatescope/models/m-lstm-1x16.safetensors';

/** An injected file system: URI → text; a missing URI throws as vscode.workspace.fs does. */
function files(map: Record<string, string>): { read: (uri: string, bytes: number | undefined) => Promise<string>; calls: [string, number | undefined][] } {
  const calls: [string, number | undefined][] = [];
  return {
    calls,
    read: async (uri, bytes) => {
      calls.push([uri, bytes]);
      const t = map[uri];
      if (t === undefined) throw new Error('file not found');
      return bytes === undefined ? t : new TextDecoder().decode(new TextEncoder().encode(t).subarray(0, bytes));
    },
  };
}

describe('training provenance', () => {
  it('hashes the UTF-8 text with SHA-256, in slices that never split a surrogate pair', async () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const text = 'a🙂b🙂🙂c'.repeat(7);
    const want = createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
    for (const slice of [1, 2, 3, 5, 1 << 20]) assert.equal(await sha256HexYielding(text, slice), want, `slice ${slice}`);
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    assert.equal(await sha256HexYielding(bytes, 3), sha256Hex(bytes));
  });

  it('joins pieces as each command did: selections, CLI files, workspace files', () => {
    assert.equal(joinPieces(['a', 'b\n', 'c'], 'newline-between'), 'a\nb\n\nc');
    assert.equal(joinPieces(['a', 'b\n', 'c'], 'newline-if-missing'), 'a\nb\nc');
    assert.equal(joinPieces(['a', 'b\n', 'c'], 'newline-after-each'), 'a\nb\nc\n');
    assert.equal(joinPieces(['only'], 'newline-between'), 'only');
    assert.equal(joinTexts(['x', 'y']), joinPieces(['x', 'y'], 'newline-if-missing'), 'the CLI joins by the rule it records');
  });

  it('resolves recorded locations: URIs as they are, CLI paths relative to the model\'s folder, absolute paths', () => {
    assert.equal(resolveSourceRef('vscode-remote://ssh-remote+h/src/a.py', MODEL), 'vscode-remote://ssh-remote+h/src/a.py');
    assert.equal(resolveSourceRef('../../lib/a b.py', MODEL), 'file:///w/lib/a%20b.py');
    assert.equal(resolveSourceRef('corpus.txt', 'file:///w/models/m.safetensors'), 'file:///w/models/corpus.txt');
    assert.equal(resolveSourceRef('/data/x.txt', MODEL), 'file:///data/x.txt');
    assert.equal(resolveSourceRef('C:\\data\\x.txt', MODEL), 'file:///c%3A/data/x.txt');
  });

  it('rebuilds the training text from files, ranges and a file\'s beginning, and checks its hash', async () => {
    const fs = files({ 'file:///w/a.txt': 'hello world', 'file:///w/b.txt': 'héllo 🙂 there', 'file:///w/models/c.txt': 'sea' });
    const text = joinPieces(['hello', 'world', 'héllo', 'sea'], 'newline-between');
    const info: ModelInfo = {
      sources: [{ uri: 'file:///w/a.txt', range: { start: 0, end: 5 } }, { uri: 'file:///w/a.txt', range: { start: 6, end: 11 } },
        { uri: 'file:///w/b.txt', bytes: 6 }, { uri: 'c.txt' }],
      join: 'newline-between', textHash: sha256Hex(text),
    };
    const r = await resolveTrainingText(info, 'file:///w/models/m.safetensors', fs.read, name);
    assert.deepEqual(r, { ok: true, text, sources: '3 files (a.txt, b.txt, c.txt)' });
    assert.deepEqual(fs.calls, [['file:///w/a.txt', undefined], ['file:///w/b.txt', 6], ['file:///w/models/c.txt', undefined]], 'each file read once');
  });

  it('says why the text is not at hand: nothing recorded, a file missing, changed, or shorter than a recorded range', async () => {
    const fs = files({ 'file:///w/lib/foo.py': 'x = 1\n' });
    const none = await resolveTrainingText({ source: 'foo.py', steps: 3 }, MODEL, fs.read, name);
    assert.equal(none.ok, false);
    assert.equal(!none.ok && none.reason, 'unrecorded');
    assert.match(!none.ok ? none.message : '', /does not record what it was trained on \(.*PyTorch/);

    const recorded = (uri: string, text: string, range?: { start: number; end: number }): ModelInfo =>
      ({ sources: [{ uri, ...(range ? { range } : {}) }], join: 'newline-between', textHash: sha256Hex(text) });
    const changed = await resolveTrainingText(recorded('file:///w/lib/foo.py', 'x = 2\n'), MODEL, fs.read, name);
    assert.deepEqual(changed, { ok: false, reason: 'changed', message: 'The model was trained on foo.py, which changed since (the SHA-256 of the text differs).' });
    const gone = await resolveTrainingText(recorded('file:///w/lib/bar.py', 'y'), MODEL, fs.read, name);
    assert.equal(!gone.ok && gone.reason, 'missing');
    assert.match(!gone.ok ? gone.message : '', /trained on bar\.py, but bar\.py cannot be read \(file not found\): it moved or was deleted/);
    const shorter = await resolveTrainingText(recorded('file:///w/lib/foo.py', 'x = 1\nmore', { start: 0, end: 10 }), MODEL, fs.read, name);
    assert.equal(!shorter.ok && shorter.reason, 'changed');
    const same = await resolveTrainingText(recorded('file:///w/lib/foo.py', 'x = 1\n'), MODEL, fs.read, name);
    assert.equal(same.ok, true);
  });

  it('keeps the record on a resume on the same text, and warns and records the new text on another', async () => {
    const a = await provenanceOf('text a', [{ uri: 'file:///w/a.txt' }], 'newline-between');
    const a2 = await provenanceOf('text a', [{ uri: 'file:///w/copy-of-a.txt' }], 'newline-between');
    const b = await provenanceOf('text b', [{ uri: 'file:///w/b.txt' }], 'newline-between');
    assert.deepEqual(resumeProvenance({ ...a }, a2, name), { provenance: a, warning: null });
    const other = resumeProvenance({ ...a }, b, name);
    assert.deepEqual(other.provenance, b);
    assert.match(other.warning!, /resuming on another text than the model was trained on \(a\.txt; the SHA-256 of the text differs\): the model now records b\.txt/);
    assert.deepEqual(resumeProvenance({ source: 'from PyTorch' }, b, name), { provenance: b, warning: null });
  });

  it('describes the sources in a few words', () => {
    assert.equal(describeSources([{ uri: 'file:///w/a.txt' }], name), 'a.txt');
    assert.equal(describeSources([{ uri: 'file:///w/a.txt', range: { start: 0, end: 1 } }], name), 'a.txt (selection)');
    assert.equal(describeSources([{ uri: 'file:///w/a.txt', bytes: 9 }], name), 'a.txt (its beginning)');
    assert.equal(describeSources(['a', 'b', 'c', 'd'].map((f) => ({ uri: `file:///w/${f}.py` })), name), '4 files (a.py, b.py, c.py, …)');
  });
});

describe('kept comparison models', () => {
  const vocab = ['\n', ' ', 'a', 'b'];
  const want: ComparisonWanted = { cell: 'rnn_tanh', modelHash: '1'.repeat(64), vocab, textHash: '2'.repeat(64) };
  const kept = (over: Partial<ModelInfo['comparisonOf']> = {}, cell: 'rnn_tanh' | 'gru' = 'rnn_tanh', v = vocab) =>
    ({ cell, vocab: v, info: { comparisonOf: { modelHash: '1'.repeat(64), textHash: '2'.repeat(64), likeForLike: true, ...over } } });

  it('names a comparison after its model and finds the model from the name', () => {
    assert.equal(comparisonName('/w/m-lstm-1x16.safetensors', 'rnn_tanh'), '/w/m-lstm-1x16.compare-rnn_tanh.safetensors');
    assert.deepEqual(comparedModel('m-lstm-1x16.compare-gru.safetensors'), { model: 'm-lstm-1x16.safetensors', cell: 'gru' });
    assert.equal(comparedModel('m-lstm-1x16.safetensors'), null);
    assert.equal(comparedModel('compare-gru.safetensors'), null);
  });

  it('reuses a comparison only while it matches the model, its training text, the cell and the vocabulary', () => {
    assert.equal(keptComparisonMismatch(kept(), want), null);
    assert.equal(keptComparisonMismatch(kept({ modelHash: '3'.repeat(64) }), want), 'the model changed since it was trained');
    assert.equal(keptComparisonMismatch(kept({ textHash: '3'.repeat(64) }), want), 'it was not trained on the model\'s training text');
    assert.equal(keptComparisonMismatch(kept({}, 'gru'), want), 'it is a gru, not a rnn_tanh');
    assert.match(keptComparisonMismatch(kept({}, 'rnn_tanh', ['a', 'b']), want)!, /another vocabulary/);
    assert.equal(keptComparisonMismatch({ cell: 'rnn_tanh', vocab, info: { source: 'x' } }, want), 'it does not say what it is a comparison of');
    // a model that records no text: the comparison made for this very file stands, whatever it was trained on
    assert.equal(keptComparisonMismatch(kept({ textHash: '3'.repeat(64), likeForLike: false }), { ...want, textHash: null }), null);
  });

  it('says in one line how another vocabulary differs', () => {
    assert.equal(vocabularyDifference(vocab, [...vocab], 'r.safetensors'), null);
    const msg = vocabularyDifference(vocab, [' ', 'a', 'b', 'é'], 'r.safetensors')!;
    assert.equal(msg, 'r.safetensors has another vocabulary than the model (4 characters against 4; it lacks "\\n", has "é"), so its gradients are not of the same predictions');
    assert.ok(!msg.includes('\n'), 'one line');
    assert.match(vocabularyDifference(vocab, ['a', 'b', ' ', '\n'], 'r')!, /in another order/);
  });
});
