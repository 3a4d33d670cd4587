import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { decodeModelFile } from '../../src/engine/modelfile';
import { traceTokens } from '../../src/engine/trace';
import type { InspectorApi } from '../../src/panels/inspector';
import { untilShown } from './helpers';

/**
 * Open Model… on a PyTorch model inside a real VS Code: a word_language_model LSTM saved with
 * torch.save(model.state_dict()) (test/fixtures/pytorch-import, made by gen_import.py) is imported through the
 * engine worker with its vocabulary file, written into the models folder, and shown in the inspector on a text;
 * the trace's loss is PyTorch's. A model the importer refuses leaves nothing behind.
 */
const ID = 'gatescope.gatescope';

describe('Open Model… on a PyTorch model', function () {
  this.timeout(120_000);
  let inspector: InspectorApi;
  let fixtures: vscode.Uri;
  let expected: { text: string; vocab: string[]; models: Record<string, { loss: number }> };
  const folder = (): vscode.Uri => vscode.workspace.workspaceFolders![0]!.uri;

  before(async () => {
    const ext = vscode.extensions.getExtension(ID)!;
    inspector = ((await ext.activate()) as { inspector: InspectorApi }).inspector;
    fixtures = vscode.Uri.joinPath(ext.extensionUri, 'test', 'fixtures', 'pytorch-import');
    expected = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(fixtures, 'expected.json'))));
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('imports a torch.save state_dict with its vocabulary, lists it, and the inspector traces it with PyTorch\'s loss', async () => {
    // the user's files: the model and its vocabulary beside it, and a text to look at
    const pt = vscode.Uri.joinPath(folder(), 'pytorch', 'wlm.pt');
    await vscode.workspace.fs.copy(vscode.Uri.joinPath(fixtures, 'wlm.pt'), pt, { overwrite: true });
    const vocab = vscode.Uri.joinPath(folder(), 'pytorch', 'vocab.json');
    await vscode.workspace.fs.writeFile(vocab, new TextEncoder().encode(JSON.stringify(expected.vocab)));
    const text = vscode.Uri.joinPath(folder(), 'pytorch', 'wrap.py');
    await vscode.workspace.fs.writeFile(text, new TextEncoder().encode(expected.text));
    const doc = await vscode.workspace.openTextDocument(text);
    await vscode.window.showTextDocument(doc);

    const model = await vscode.commands.executeCommand<vscode.Uri | undefined>('gatescope.openModel', { model: pt, vocab });
    assert.ok(model, 'Open Model… returned the imported model');
    assert.match(model.path, /\/wlm-imported-lstm-2x16\.safetensors$/);
    const m = decodeModelFile(await vscode.workspace.fs.readFile(model));
    assert.equal(m.info.source, 'imported from wlm.pt (torch.save)');
    const loss = traceTokens(m.net, m.vocab.encode(expected.text)).loss;
    assert.ok(Math.abs(loss - expected.models['wlm.pt']!.loss) < 2e-6 * loss, `${loss} vs PyTorch's ${expected.models['wlm.pt']!.loss}`);
    const state = await vscode.commands.executeCommand<{ modelsFolder: string }>('gatescope.test.state');
    assert.ok(model.toString().startsWith(state.modelsFolder), `written into the models folder ${state.modelsFolder}, where the Models view lists it`);
    const s = await untilShown(inspector, { model, document: doc.uri }, (x) => x.steps > 0, 'the inspector traces the imported model');
    assert.equal(s.cell, 'lstm');
    assert.equal(s.layers, 2);
    assert.equal(s.steps, [...expected.text].length);
  });

  it('a refused model (bidirectional) says why and writes nothing', async () => {
    const pt = vscode.Uri.joinPath(folder(), 'pytorch', 'bidirectional.pt');
    await vscode.workspace.fs.copy(vscode.Uri.joinPath(fixtures, 'bidirectional.pt'), pt, { overwrite: true });
    const vocab = vscode.Uri.joinPath(folder(), 'pytorch', 'vocab.json');
    const models = vscode.Uri.parse((await vscode.commands.executeCommand<{ modelsFolder: string }>('gatescope.test.state')).modelsFolder);
    const files = async (): Promise<string[]> => (await vscode.workspace.fs.readDirectory(models).then((d) => d, () => [])).map(([n]) => n).sort();
    const before = await files();
    const model = await vscode.commands.executeCommand<vscode.Uri | undefined>('gatescope.openModel', { model: pt, vocab });
    assert.equal(model, undefined);
    assert.deepEqual(await files(), before, 'nothing written into the models folder');
    const { messages } = await vscode.commands.executeCommand<{ messages: { level: string; message: string }[] }>('gatescope.test.state');
    assert.ok(messages.some((m) => m.level === 'error' && /could not import bidirectional\.pt: .*bidirectional .*bidirectional=False/.test(m.message)),
      JSON.stringify(messages.slice(-3)));
  });
});
