import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import type { GatescopeApi } from '../../src/extension';
import { decodeModelFile, encodeModelFile } from '../../src/engine/modelfile';
import type { ComparisonItem, ComparisonUi } from '../../src/panels/comparison';
import type { InspectorSnapshot } from '../../src/protocol/webview';
import { untilShown } from './helpers';
import type { RunOutcome } from '../../src/host/training';

/**
 * "Compare with RNN" inside a real VS Code: a tiny LSTM trained on sample.txt records its sources and text hash;
 * the comparison, asked for on the inspector of ANOTHER file (notes/notes.md), trains a tanh RNN on sample.txt
 * through the window's training lifecycle and keeps it beside the model; the second comparison opens the kept
 * file without training; cancelling leaves the inspector as it was; a changed training file makes it ask, saying
 * why. The quick pick and the dialogs are answered by a scripted ComparisonUi.
 */
const ID = 'gatescope.gatescope';
const folder = (): vscode.Uri => vscode.workspace.workspaceFolders![0]!.uri;
const file = (name: string): vscode.Uri => vscode.Uri.joinPath(folder(), name);
const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const read = async (u: vscode.Uri): Promise<Uint8Array> => vscode.workspace.fs.readFile(u);
const exists = async (u: vscode.Uri): Promise<boolean> => vscode.workspace.fs.stat(u).then(() => true, () => false);
const sibling = (model: vscode.Uri, cell: string): vscode.Uri => model.with({ path: model.path.replace(/\.safetensors$/, `.compare-${cell}.safetensors`) });

async function settings(values: Record<string, unknown>): Promise<void> {
  const c = vscode.workspace.getConfiguration('gatescope');
  for (const [k, v] of Object.entries(values)) await c.update(k, v, vscode.ConfigurationTarget.Workspace);
}

/** Answers the comparison's questions: picks the first item `choose` accepts; any other question fails the test. */
function scripted(choose: (i: ComparisonItem) => boolean, seen: ComparisonItem[][] = [], missing?: (message: string) => 'pick' | 'inspected'): ComparisonUi & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    pick: async (items) => { seen.push([...items]); return items.find(choose); },
    textMissing: async (message) => {
      asked.push(message);
      if (!missing) assert.fail(`the comparison asked for the text: ${message}`);
      return missing(message);
    },
    pickText: async () => assert.fail('no text to pick in this test'),
    pickModel: async () => assert.fail('no model to pick in this test'),
  };
}
const train = (cell: string) => (i: ComparisonItem): boolean => i.choice.kind === 'train' && i.choice.cell === cell;
const keptItem = (cell: string) => (i: ComparisonItem): boolean => i.choice.kind === 'kept' && i.choice.cell === cell;

describe('Compare with RNN in VS Code', function () {
  this.timeout(300_000);
  let api: GatescopeApi;
  let model: vscode.Uri;
  let notes: vscode.TextDocument;
  const started: number[] = [];

  /** Polls the inspector until `ok` holds (its messages are asynchronous); fails with what it shows. */
  const until = (m: vscode.Uri, ok: (s: InspectorSnapshot) => boolean, what: string): Promise<InspectorSnapshot> => untilShown(api.inspector, { model: m, document: notes.uri }, ok, what,
    (s) => ({ steps: s.steps, status: s.status, compare: s.compare, tab: s.view.tab }), 100);

  before(async () => {
    api = await vscode.extensions.getExtension<GatescopeApi>(ID)!.activate();
    await settings({ 'training.hidden': 16, 'training.embed': 8, 'training.seq': 16, 'training.batch': 4, 'training.steps': 30, 'training.evalEvery': 10, 'training.checkpointEvery': 0 });
    api.training.onDidStart((e) => started.push(e.runId));
    notes = await vscode.workspace.openTextDocument(file('notes/notes.md'));
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('records the training file and the SHA-256 of its text in the model', async () => {
    const outcome = await vscode.commands.executeCommand<RunOutcome>('gatescope.trainFile', file('sample.txt'));
    assert.equal(outcome.reason, 'done');
    model = outcome.model!;
    const info = decodeModelFile(await read(model)).info;
    assert.deepEqual(info.sources, [{ uri: file('sample.txt').toString() }]);
    assert.equal(info.textHash, sha256(await read(file('sample.txt'))));
  });

  it('trains the RNN on the model\'s training file, not on the inspected one, and keeps it beside the model', async () => {
    await api.inspector.open(model, notes);
    await until(model, (s) => s.steps > 0, 'the inspector traced notes.md');
    const before = started.length;
    const seen: ComparisonItem[][] = [];
    const outcome = await api.inspector.compare(model, notes.uri, scripted(train('rnn_tanh'), seen));
    assert.ok(outcome, 'the comparison ran');
    assert.equal(outcome.how, 'trained');
    assert.equal(outcome.likeForLike, true);
    assert.equal(started.length, before + 1, 'one run, through the training lifecycle');
    const offered = seen[0]!.map((i) => `${i.label} — ${i.description}`);
    assert.ok(offered.some((d) => /Compare with RNN — train a vanilla RNN 1×16, 30 steps, seed \d+ on sample\.txt, the model's training text/.test(d)), offered.join('\n'));
    assert.ok(offered.some((d) => /Compare with GRU/.test(d)), 'GRU is the second choice');

    const kept = sibling(model, 'rnn_tanh');
    assert.equal(outcome.kept, kept.toString());
    const bytes = await read(kept);
    const rnn = decodeModelFile(bytes);
    const lstm = decodeModelFile(await read(model));
    assert.equal(rnn.net.cfg.cell, 'rnn_tanh');
    assert.deepEqual([rnn.net.cfg.layers, rnn.net.cfg.hidden, rnn.net.cfg.embed, rnn.info.steps], [1, 16, 8, 30]);
    assert.deepEqual(rnn.vocab.chars, lstm.vocab.chars);
    // the run hashed the text it was given: the training file's, not notes.md's
    assert.deepEqual(rnn.info.sources, [{ uri: file('sample.txt').toString() }]);
    assert.equal(rnn.info.textHash, sha256(await read(file('sample.txt'))));
    assert.notEqual(rnn.info.textHash, sha256(notes.getText()));
    assert.deepEqual(rnn.info.comparisonOf, { modelHash: sha256(await read(model)), textHash: lstm.info.textHash, likeForLike: true });

    const s = await until(model, (x) => x.compare !== null, 'the comparison is shown');
    assert.match(s.compare!, /vanilla RNN 1×16, 30 steps, trained on sample\.txt/);
    assert.doesNotMatch(s.compare!, /not like for like/);
    assert.equal(s.view.tab, 'inspect', 'back on the inspector after the run');
    const held = api.inspector.compareModel(model, notes.uri);
    assert.ok(held && Buffer.from(held).equals(Buffer.from(bytes)), 'the panel holds the comparison model');

    // the Models view lists the comparison under its model, not as a model
    const top = await api.modelsView.getChildren();
    assert.ok(!top.some((e) => e.uri.toString() === kept.toString()), 'not a top-level model');
    const entry = top.find((e) => e.uri.toString() === model.toString())!;
    assert.deepEqual(entry.comparisons?.map((u) => u.toString()), [kept.toString()]);
    assert.equal(api.modelsView.getTreeItem((await api.modelsView.getChildren(entry))[0]!).label, 'RNN comparison');
  });

  it('opens the kept comparison at once the next time, without training', async () => {
    const before = started.length;
    const seen: ComparisonItem[][] = [];
    const outcome = await api.inspector.compare(model, notes.uri, scripted(keptItem('rnn_tanh'), seen));
    assert.ok(outcome);
    assert.equal(outcome.how, 'kept');
    assert.equal(started.length, before, 'no training run');
    assert.ok(!seen[0]!.some(train('rnn_tanh')), 'the picker offers the kept RNN instead of training one');
    assert.ok(seen[0]!.some(train('gru')), 'the GRU is still to train');
    assert.match((await until(model, (x) => /\(kept\)/.test(x.compare ?? ''), 'the kept comparison is shown')).compare!, /trained on sample\.txt/);
  });

  it('cancel stops the comparison run and leaves the inspector as it was', async () => {
    // the same model, recorded as trained for a million steps: its comparison cannot finish before the cancel
    const m = decodeModelFile(await read(model));
    const long = vscode.Uri.joinPath(model, '..', 'long-lstm-1x16.safetensors');
    await vscode.workspace.fs.writeFile(long, encodeModelFile(m.net, m.vocab, { ...m.info, steps: 1_000_000 }, null));
    await api.inspector.open(long, notes);
    const shown = await until(long, (s) => s.steps > 0, 'the inspector traced notes.md with the long model');
    const runStarted = new Promise<number>((r) => { const sub = api.training.onDidStart((e) => { sub.dispose(); r(e.runId); }); });
    const comparing = api.inspector.compare(long, notes.uri, scripted(train('rnn_tanh')));
    const runId = await runStarted;
    assert.equal(api.training.activeRunId, runId);
    await until(long, (s) => s.view.tab === 'training', 'the dashboard shows the comparison run');
    await api.training.stop();
    assert.equal(await comparing, null, 'a cancelled comparison shows nothing');
    const s = await until(long, (x) => x.status === null && x.view.tab === 'inspect', 'the inspector is back as it was');
    assert.equal(s.compare, null);
    assert.equal(s.steps, shown.steps);
    assert.equal(api.training.running, false);
    assert.equal(await exists(sibling(long, 'rnn_tanh')), false, 'nothing kept of a cancelled run');
    assert.equal(api.inspector.compareModel(long, notes.uri), null);
  });

  it('asks for the text, saying why, when the training file changed since', async () => {
    const copy = file('changing.txt');
    await vscode.workspace.fs.writeFile(copy, await read(file('sample.txt')));
    const outcome = await vscode.commands.executeCommand<RunOutcome>('gatescope.trainFile', copy);
    const changed = outcome.model!;
    await vscode.workspace.fs.writeFile(copy, new TextEncoder().encode('something else entirely\n'));
    await api.inspector.open(changed, notes);
    await until(changed, (s) => s.steps > 0, 'the inspector traced notes.md');
    const ui = scripted(train('rnn_tanh'), [], () => 'inspected');
    const done = await api.inspector.compare(changed, notes.uri, ui);
    assert.deepEqual(ui.asked.length, 1);
    assert.match(ui.asked[0]!, /^The model was trained on changing\.txt, which changed since \(the SHA-256 of the text differs\)\. Pick the training text, or train the comparison on notes\.md instead/);
    assert.ok(done);
    assert.equal(done.likeForLike, false);
    assert.match(done.label, /trained on notes\.md — not the model's training text, not like for like/);
    const rnn = decodeModelFile(await read(sibling(changed, 'rnn_tanh')));
    assert.equal(rnn.info.comparisonOf?.likeForLike, false);
  });
});
