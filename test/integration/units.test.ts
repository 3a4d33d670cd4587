import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { GatescopeApi } from '../../src/extension';
import type { InspectorSnapshot } from '../../src/protocol/webview';
import { untilShown } from './helpers';

/**
 * The unit search inside a real VS Code, on the bundled example: the bundled LSTM inspecting the held-out
 * textwrap.py (its first 10,000 characters). The card opens on the column and ranks the units by r in the engine
 * worker; a regex and the editor's selections (Find Units for Selection) are searched the same way; the user's
 * mistakes say why.
 */
const ID = 'gatescope.gatescope';

describe('Unit search in VS Code', function () {
  this.timeout(240_000);
  let api: GatescopeApi;
  let lstm: vscode.Uri;
  let doc: vscode.TextDocument;

  const until = (ok: (s: InspectorSnapshot) => boolean, what: string): Promise<InspectorSnapshot> => untilShown(api.inspector, { model: lstm, document: doc.uri }, ok, what,
    (s) => ({ steps: s.steps, status: s.status, search: s.view.search, featureSearch: s.featureSearch }));
  /** The search answered for this feature (not still searching). */
  const answered = (feature: RegExp) => (s: InspectorSnapshot): boolean => !!s.featureSearch && !s.featureSearch.pending && feature.test(s.featureSearch.feature ?? '') && s.featureSearch.message !== 'Searching…';

  before(async () => {
    const ext = vscode.extensions.getExtension<GatescopeApi>(ID)!;
    api = await ext.activate();
    lstm = vscode.Uri.joinPath(ext.extensionUri, 'examples', 'models', 'stdlib-lstm.safetensors');
    doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(ext.extensionUri, 'examples', 'python-stdlib', 'textwrap.py'));
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One });
    await api.inspector.open(lstm, doc);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens on the column: the bundled LSTM\'s counting cell, raw c, at the top, with its scatter', async () => {
    const s = await until((x) => answered(/^column$/)(x) && (x.featureSearch?.units.length ?? 0) > 0, 'the column\'s units are ranked');
    assert.equal(s.steps, 10_000);
    const fs = s.featureSearch!;
    assert.equal(fs.message, null);
    assert.equal(fs.units.length, 10);
    assert.deepEqual([fs.units[0]!.layer, fs.units[0]!.quantity], [0, 'c']);
    assert.ok(fs.units[0]!.r > 0.6, JSON.stringify(fs.units[0]));
    for (let k = 1; k < fs.units.length; k++) assert.ok(Math.abs(fs.units[k - 1]!.r) >= Math.abs(fs.units[k]!.r), 'sorted by |r|');
    assert.deepEqual(fs.scatter && [fs.scatter.layer, fs.scatter.unit, fs.scatter.quantity], [0, fs.units[0]!.unit, 'c'], 'the best unit\'s scatter');
    assert.ok(fs.scatter!.points > 1000);
    assert.ok(s.canvases.some((c) => c.id === 'search-scatter' && c.ink > 0.01), JSON.stringify(s.canvases.map((c) => [c.id, c.ink])));
  });

  it('code-only bracket depth in Python (from the file name), and tanh(c) alone when asked', async () => {
    api.inspector.searchUnits(lstm, doc.uri, { mode: 'feature', feature: 'depth' });
    const s = await until(answered(/^depth \(python\)$/), 'depth is ranked');
    assert.ok(Math.abs(s.featureSearch!.units[0]!.r) > 0.45, JSON.stringify(s.featureSearch!.units[0]));
    api.inspector.searchUnits(lstm, doc.uri, { quantity: 'tanh(c)' });
    const t = await until((x) => answered(/^depth/)(x) && x.view.search.quantity === 'tanh(c)', 'tanh(c) only');
    assert.ok(t.featureSearch!.units.every((u) => u.quantity === 'tanh(c)'), JSON.stringify(t.featureSearch!.units));
    api.inspector.searchUnits(lstm, doc.uri, { quantity: 'all' });
  });

  it('a regex: its matches counted, the mean inside and outside; one matching nothing and an invalid one say why', async () => {
    api.inspector.searchUnits(lstm, doc.uri, { mode: 'regex', regex: "'[^'\\n]*'" });
    const s = await until(answered(/^regex \/'/), 'the regex is searched');
    const text = [...doc.getText()].slice(0, s.steps).join('');
    assert.equal(s.featureSearch!.matches, [...text.matchAll(/'[^'\n]*'/g)].reduce((n, m) => n + m[0].length, 0));
    assert.ok(s.featureSearch!.units.every((u) => u.meanIn !== undefined && u.meanOut !== undefined));

    api.inspector.searchUnits(lstm, doc.uri, { regex: 'qqqzzz' });
    const none = await until(answered(/qqqzzz/), 'a regex matching nothing');
    assert.equal(none.featureSearch!.matches, 0);
    assert.equal(none.featureSearch!.units.length, 0);
    assert.match(none.featureSearch!.message!, /matches nothing\): r is undefined/);

    api.inspector.searchUnits(lstm, doc.uri, { regex: 'def (' });
    const bad = await until(answered(/def \(/), 'an invalid regex');
    assert.match(bad.featureSearch!.message!, /^The regular expression is not valid: /);
    assert.equal(bad.featureSearch!.matches, null);
  });

  it('Find Units for Selection: the editor\'s selections (several) become the ranges searched', async () => {
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One });
    const text = doc.getText().slice(0, 10_000); // ASCII: offset = step
    const starts = [...text.matchAll(/self\./g)].slice(0, 6).map((m) => m.index!);
    assert.equal(starts.length, 6);
    editor.selections = starts.map((a) => new vscode.Selection(doc.positionAt(a), doc.positionAt(a + 5)));
    await vscode.commands.executeCommand('gatescope.findUnits');
    const s = await until((x) => x.view.search.mode === 'ranges' && x.view.search.ranges.length === 6 && answered(/^ranges /)(x), 'the selections are searched');
    assert.deepEqual(s.view.search.ranges.map((r) => [r.start, r.end]), starts.map((a) => [a, a + 5]));
    assert.equal(s.featureSearch!.matches, 30);
    assert.ok(s.featureSearch!.units.length > 0);
  });
});
