import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { GatescopeApi } from '../../src/extension';
import type { ComparisonUi } from '../../src/panels/comparison';
import type { InspectorSnapshot } from '../../src/protocol/webview';
import { untilShown } from './helpers';

/**
 * The Gradient reach card inside a real VS Code, on the bundled example the VSIX ships: the LSTM inspected on the
 * held-out textwrap.py follows the cursor (the debugger and the editor move it), its reach is measured over 40
 * predictions with a memory horizon, the comparison RNN (loaded through "Load a model…") overlays its curves and
 * the headline states the contrast in numbers; saliency colours the strip; the last character says why there is
 * nothing to predict.
 */
const ID = 'gatescope.gatescope';

describe('Gradient reach in VS Code', function () {
  this.timeout(240_000);
  let api: GatescopeApi;
  let lstm: vscode.Uri, rnn: vscode.Uri;
  let doc: vscode.TextDocument;

  const until = (ok: (s: InspectorSnapshot) => boolean, what: string): Promise<InspectorSnapshot> => untilShown(api.inspector, { model: lstm, document: doc.uri }, ok, what,
    (s) => ({ steps: s.steps, status: s.status, reach: s.reach, cursor: s.view.cursor }));

  before(async () => {
    const ext = vscode.extensions.getExtension<GatescopeApi>(ID)!;
    api = await ext.activate();
    lstm = vscode.Uri.joinPath(ext.extensionUri, 'examples', 'models', 'stdlib-lstm.safetensors');
    rnn = vscode.Uri.joinPath(ext.extensionUri, 'examples', 'models', 'stdlib-rnn.safetensors');
    doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(ext.extensionUri, 'examples', 'python-stdlib', 'textwrap.py'));
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('follows the cursor: the reach of the prediction there, the median over the text and the horizon', async () => {
    await api.inspector.open(lstm, doc);
    await until((s) => s.steps > 0, 'the inspector traced textwrap.py');
    api.inspector.setCursor(doc.uri, 5000); // as the debugger and the editor move it (textwrap.py is ASCII: offset = step)
    const s = await until((x) => x.reach !== null && x.reach.at === 5000 && x.view.cursor === 5000, 'the reach follows the cursor');
    assert.equal(s.cell, 'lstm');
    assert.equal(s.reach!.maxK, 100);
    assert.equal(s.reach!.horizon.length, 1);
    assert.ok(s.reach!.horizon[0] === null || s.reach!.horizon[0]! > 30, `the LSTM's horizon ${s.reach!.horizon[0]}`);
    assert.match(s.reach!.headline, /^50 characters back the LSTM keeps \d\.\de-\d of the gradient, its cell state \d\.\de-\d \(median over 40 predictions\)/);
    assert.ok(s.reach!.curves >= 4, 'h and c, at the cursor and as medians');
    assert.equal(s.reach!.compareCurves, 0);
    assert.ok(s.canvases.some((c) => c.id === 'reach-chart' && c.ink > 0.01), JSON.stringify(s.canvases.map((c) => [c.id, c.ink])));
    assert.ok(s.canvases.some((c) => c.id === 'reach-factor-chart' && c.ink > 0.005));
  });

  it('overlays the comparison RNN and states the contrast in numbers', async () => {
    const ui: ComparisonUi = {
      pick: async (items) => items.find((i) => i.choice.kind === 'load'),
      textMissing: async () => 'inspected',
      pickText: async () => undefined,
      pickModel: async () => rnn,
    };
    const outcome = await api.inspector.compare(lstm, doc.uri, ui);
    assert.ok(outcome, 'the comparison was loaded');
    const s = await until((x) => (x.reach?.compareCurves ?? 0) > 0, 'the comparison\'s reach is drawn');
    assert.match(s.reach!.headline, /^50 characters back the LSTM keeps (\d\.\de-\d) of the gradient, its cell state \d\.\de-\d, the RNN (\d\.\de-\d+) \(\d\.\de\+\d+× more; medians over 40 predictions\)\. Horizons: .* against \d+ characters\./);
    const [, lstmAt50, rnnAt50] = /keeps (\S+) of the gradient.* the RNN (\S+) /.exec(s.reach!.headline)!;
    assert.ok(Number(lstmAt50) > 100 * Number(rnnAt50), `50 back: LSTM ${lstmAt50}, RNN ${rnnAt50}`);
    assert.ok(s.reach!.compareHorizon![0]! < 40, 'the RNN forgets within 40 characters');
  });

  it('saliency is off until asked for; the last character has nothing to predict, and says so', async () => {
    const before = await until((x) => x.reach !== null, 'a reach');
    api.inspector.setCursor(doc.uri, before.steps - 1); // the last character traced
    const s = await until((x) => x.reach !== null && x.reach.at === x.steps - 1, 'the reach at the last character');
    assert.match(s.reach!.note!, /last character has no next character to predict/);
    assert.ok(before.reach!.saliency === 0, 'saliency is off by default');
  });
});
