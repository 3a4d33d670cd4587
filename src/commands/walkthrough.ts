import * as vscode from 'vscode';
import type { InspectorApi } from '../panels/inspector';
import { Commands } from '../host/ids';

/**
 * The buttons of the "See inside an LSTM" walkthrough. Each one works without a folder open: the example — Python's
 * standard library, an LSTM and a tanh RNN trained on it — ships in the extension (examples/, see its README).
 */
export function registerWalkthroughCommands(extensionUri: vscode.Uri, inspector: InspectorApi): vscode.Disposable[] {
  const example = (...parts: string[]): vscode.Uri => vscode.Uri.joinPath(extensionUri, 'examples', ...parts);
  const lstm = example('models', 'stdlib-lstm.safetensors');
  const rnn = example('models', 'stdlib-rnn.safetensors');
  const text = example('python-stdlib', 'textwrap.py');

  /** The held-out module in an editor and the LSTM's inspector beside it. */
  const openExample = async (): Promise<vscode.TextDocument> => {
    const doc = await vscode.workspace.openTextDocument(text);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
    await inspector.open(lstm, doc);
    return doc;
  };

  /** The inspector's cursor on a character where the cell has something to do: inside `wrap(text, width=70, …)`. */
  const showCell = async (): Promise<void> => {
    const doc = await openExample();
    const at = doc.getText().indexOf('width=70');
    inspector.setCursor(doc.uri, at >= 0 ? at + 6 : 0);
  };

  return [
    vscode.commands.registerCommand(Commands.walkthroughOpenExample, async () => { await openExample(); }),
    vscode.commands.registerCommand(Commands.walkthroughShowCell, showCell),
    vscode.commands.registerCommand(Commands.walkthroughStepThrough, async () => {
      const doc = await vscode.workspace.openTextDocument(text);
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
      await vscode.commands.executeCommand(Commands.stepThrough, doc.uri, lstm);
    }),
    vscode.commands.registerCommand(Commands.walkthroughCompare, async () => {
      const doc = await openExample();
      // the comparison's own flow, answered with the bundled RNN: trained like the LSTM, on the same text
      await inspector.compare(lstm, doc.uri, {
        pick: async (items) => items.find((i) => i.choice.kind === 'load'),
        textMissing: async () => 'inspected',
        pickText: async () => undefined,
        pickModel: async () => rnn,
      });
    }),
    // the unit search set to the column: the cell that counts characters since the line break tops the list
    vscode.commands.registerCommand(Commands.walkthroughFindCell, async () => {
      const doc = await openExample();
      inspector.searchUnits(lstm, doc.uri, { mode: 'feature', feature: 'column', quantity: 'all', layer: null });
    }),
  ];
}
