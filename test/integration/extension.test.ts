import * as assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { GatescopeApi } from '../../src/extension';
import { decodeModelFile } from '../../src/engine/modelfile';
import type { RunOutcome } from '../../src/host/training';

/** Tests that need a real VS Code: activation, commands, the worker behind them, the Models view, messages. */
const ID = 'gatescope.gatescope';
const folder = (): vscode.Uri => vscode.workspace.workspaceFolders![0]!.uri;
const file = (name: string): vscode.Uri => vscode.Uri.joinPath(folder(), name);

interface TestState { training: boolean; lastModel: string | null; modelsShown: string[]; messages: { level: string; message: string }[] }
const state = (): Thenable<TestState> => vscode.commands.executeCommand<TestState>('gatescope.test.state');

async function settings(values: Record<string, unknown>): Promise<void> {
  const c = vscode.workspace.getConfiguration('gatescope');
  for (const [k, v] of Object.entries(values)) await c.update(k, v, vscode.ConfigurationTarget.Workspace);
}

async function lastError(): Promise<string> {
  const s = await state();
  return [...s.messages].reverse().find((m) => m.level === 'error')?.message ?? '';
}

describe('Gatescope in VS Code', function () {
  this.timeout(120_000);
  let api: GatescopeApi;

  before(async () => {
    const ext = vscode.extensions.getExtension<GatescopeApi>(ID);
    assert.ok(ext, `extension ${ID} is installed`);
    api = await ext.activate();
    await settings({ 'training.hidden': 16, 'training.embed': 8, 'training.seq': 16, 'training.batch': 4, 'training.steps': 30, 'training.evalEvery': 10, 'training.checkpointEvery': 0 });
  });

  it('activates on use, not on startup', () => {
    const pkg = vscode.extensions.getExtension(ID)!.packageJSON as { activationEvents: string[] };
    assert.ok(!pkg.activationEvents.includes('*'));
  });

  it('registers every contributed command and contributes every registered one', async () => {
    const pkg = vscode.extensions.getExtension(ID)!.packageJSON as { contributes: { commands: { command: string }[]; views: Record<string, { id: string }[]> } };
    const contributed = new Set(pkg.contributes.commands.map((c) => c.command));
    // VS Code itself registers <viewId>.focus, .open, … for every contributed view
    const viewIds = Object.values(pkg.contributes.views).flat().map((v) => `${v.id}.`);
    const registered = new Set((await vscode.commands.getCommands(true))
      .filter((c) => c.startsWith('gatescope.') && !viewIds.some((v) => c.startsWith(v))));
    for (const c of contributed) assert.ok(registered.has(c), `${c} is contributed but not registered`);
    // test-only commands are registered but kept out of the manifest (src/host/ids.ts TestCommands)
    for (const c of registered) assert.ok(contributed.has(c) || c.startsWith('gatescope.test.'), `${c} is registered but not contributed`);
    assert.ok(registered.has('gatescope.test.state'));
  });

  it('trains a file through "Train LSTM on File" to N steps and writes a model that loads', async () => {
    const outcome = await vscode.commands.executeCommand<RunOutcome>('gatescope.trainFile', file('sample.txt'));
    assert.equal(outcome.reason, 'done');
    assert.ok(outcome.model);
    const m = decodeModelFile(await vscode.workspace.fs.readFile(outcome.model!));
    assert.equal(m.training?.step, 30);
    assert.equal(m.net.cfg.hidden, 16);
    assert.equal(m.info.source, 'sample.txt');
    assert.ok(outcome.model!.path.includes('/.gatescope/models/'), outcome.model!.path);
  });

  it('lists the new model in the Models view', async () => {
    const models = await api.modelsView.getChildren();
    const s = await state();
    assert.ok(s.lastModel);
    assert.ok(models.some((m) => m.uri.toString() === s.lastModel && m.summary?.config.cell === 'lstm'));
    const item = api.modelsView.getTreeItem(models[0]!);
    assert.match(String(item.description), /lstm 1×16 · 30 steps/);
  });

  it('resumes a model on a text: the step count goes on from where it stopped', async () => {
    const model = vscode.Uri.parse((await state()).lastModel!);
    const before = decodeModelFile(await vscode.workspace.fs.readFile(model)).training!.step;
    const outcome = await vscode.commands.executeCommand<RunOutcome>('gatescope.resumeTraining', model, file('sample.txt'));
    assert.equal(outcome.reason, 'done');
    assert.equal(outcome.model?.toString(), model.toString(), 'the model file is updated in place');
    assert.equal(decodeModelFile(await vscode.workspace.fs.readFile(model)).training!.step, before + 30);
  });

  it('a corrupt model to resume gets a clear message and leaves no run behind', async () => {
    const bad = file('.gatescope/broken.safetensors');
    await vscode.workspace.fs.writeFile(bad, new Uint8Array(64));
    const outcome = await vscode.commands.executeCommand<RunOutcome | null>('gatescope.resumeTraining', bad, file('sample.txt'));
    assert.equal(outcome, null);
    assert.match(await lastError(), /not a usable|safetensors|header/);
    assert.equal((await state()).training, false);
  });

  it('"Watch Gradients Explode" trains the tanh RNN preset without and then with clipping, each with its dashboard, and keeps both models', async () => {
    const outcomes = await vscode.commands.executeCommand<RunOutcome[]>('gatescope.watchExplosion', file('sample.txt'), { steps: 60 });
    assert.deepEqual(outcomes.map((o) => o.reason), ['done', 'done']);
    const [plain, clipped] = await Promise.all(outcomes.map(async (o) => decodeModelFile(await vscode.workspace.fs.readFile(o.model!))));
    assert.notEqual(outcomes[0]!.model!.toString(), outcomes[1]!.model!.toString(), 'both models kept');
    for (const m of [plain!, clipped!]) {
      assert.equal(m.net.cfg.cell, 'rnn_tanh');
      assert.equal(m.training?.options.initScale, 3);
      assert.equal(m.training?.step, 60);
      assert.ok((m.history?.rows.length ?? 0) >= 2, 'the per-tensor history travels with the model');
    }
    assert.equal(plain!.training?.options.clip, 0);
    assert.equal(clipped!.training?.options.clip, 1);
    assert.match(plain!.info.source ?? '', /sample\.txt \(explode, no clipping\)/);
    // the second run's dashboard is open, followed it to its end, drew its diagnostics and the unclipped run beside
    const s = await api.inspector.getState();
    assert.equal(s?.training?.finished, true);
    assert.equal(s?.training?.step, 60);
    assert.ok((s?.training?.tensorRows ?? 0) >= 2, `diagnostics rows drawn: ${s?.training?.tensorRows}`);
    assert.match(s?.training?.compared ?? '', /explode, no clipping/);
  });

  it('cancels a long run and keeps a loadable checkpoint', async () => {
    await settings({ 'training.steps': 1_000_000, 'training.hidden': 64 });
    try {
      const run = vscode.commands.executeCommand<RunOutcome>('gatescope.trainFile', file('sample.txt'));
      await waitUntil(async () => (await state()).training);
      await new Promise((r) => setTimeout(r, 700));
      const t0 = Date.now();
      await vscode.commands.executeCommand('gatescope.stopTraining');
      const outcome = await run;
      // how soon is the engine's to guarantee (no slice runs once the worker has the cancel: engineClient.test.ts);
      // the wall-clock time depends on the machine's load, so it is reported, not asserted
      console.log(`      stopping took ${Date.now() - t0} ms`);
      assert.equal(outcome.reason, 'cancelled');
      const m = decodeModelFile(await vscode.workspace.fs.readFile(outcome.model!));
      assert.ok(m.training!.step > 0);
    } finally {
      await settings({ 'training.steps': 30, 'training.hidden': 16 });
    }
  });

  it('keeps the extension host responsive while training: its event-loop delay is that of the idle host under the same load', async () => {
    // A fixed threshold on the delay fails on a machine busy with other work (a p99 of 75 ms was seen with nothing
    // of ours running on the host thread). What this proves is that training adds no blocking work to the host
    // thread: the delay while training is compared with the same host idle, measured just before and just after
    // under the machine's load of the moment. The absolute figure is in the benchmark (host event-loop delay).
    const idle = async (ms: number): Promise<number> => {
      const h = monitorEventLoopDelay({ resolution: 10 });
      h.enable();
      await new Promise((r) => setTimeout(r, ms));
      h.disable();
      return h.percentile(99) / 1e6;
    };
    await settings({ 'training.steps': 400, 'training.hidden': 96, 'training.batch': 16, 'training.seq': 32 });
    try {
      const before = await idle(1500);
      const h = monitorEventLoopDelay({ resolution: 10 });
      h.enable();
      const outcome = await vscode.commands.executeCommand<RunOutcome>('gatescope.trainFile', file('sample.txt'));
      h.disable();
      const after = await idle(1500);
      assert.equal(outcome.reason, 'done');
      const p99 = h.percentile(99) / 1e6;
      const baseline = Math.max(before, after);
      console.log(`      event-loop delay during training: p50 ${(h.percentile(50) / 1e6).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms; idle p99 before ${before.toFixed(1)} ms, after ${after.toFixed(1)} ms`);
      // 25 ms over the idle host's p99 (and twice it, for a load that grows while training runs): far below a
      // synchronous checkpoint encode or write (hundreds of ms) or a trace on the host thread (seconds)
      assert.ok(p99 < 2 * baseline + 25, `p99 event-loop delay ${p99.toFixed(1)} ms while training, ${baseline.toFixed(1)} ms idle`);
    } finally {
      await settings({ 'training.steps': 30, 'training.hidden': 16, 'training.batch': 4, 'training.seq': 16 });
    }
  });

  it('recovers from a crashed worker: the run ends with a clear error, the next command works', async () => {
    await settings({ 'training.steps': 1_000_000 });
    try {
      const run = vscode.commands.executeCommand<RunOutcome>('gatescope.trainFile', file('sample.txt'));
      await waitUntil(async () => (await state()).training);
      await api.engine.crashForTest();
      const outcome = await run;
      assert.equal(outcome.reason, 'error');
      assert.match(outcome.error ?? '', /stopped unexpectedly/);
      assert.match(await lastError(), /stopped unexpectedly/);
    } finally {
      await settings({ 'training.steps': 30 });
    }
    const again = await vscode.commands.executeCommand<RunOutcome>('gatescope.trainFile', file('sample.txt'));
    assert.equal(again.reason, 'done');
  });

  describe('bad input gets a clear message', () => {
    it('a binary file', async () => {
      assert.equal(await vscode.commands.executeCommand('gatescope.trainFile', file('archive.bin')), undefined);
      assert.match(await lastError(), /archive\.bin is not a text file/);
    });
    it('an empty file', async () => {
      await vscode.commands.executeCommand('gatescope.trainFile', file('empty.txt'));
      assert.match(await lastError(), /empty\.txt is empty/);
    });
    it('a file too short, with the minimum', async () => {
      await vscode.commands.executeCommand('gatescope.trainFile', file('short.txt'));
      assert.match(await lastError(), /too short to train on: it has 4 characters, and at least 9 are needed/);
    });
    it('an empty selection', async () => {
      const doc = await vscode.workspace.openTextDocument(file('notes/notes.md'));
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(0, 0, 0, 0);
      await vscode.commands.executeCommand('gatescope.trainSelection');
      assert.match(await lastError(), /the selection is empty/);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    });
    it('a models folder that cannot be written: the run says where and why, nothing half-written is left', async () => {
      await settings({ modelsDir: 'sample.txt/models' }); // below a file: every write fails
      try {
        const outcome = await vscode.commands.executeCommand<RunOutcome>('gatescope.trainFile', file('notes/notes.md'));
        assert.equal(outcome.model, null, 'no model is claimed');
        assert.match(await lastError(), /could not save the model to .*sample\.txt.*models.*writable/);
        const names = (await vscode.workspace.fs.readDirectory(folder())).map(([n]) => n);
        assert.ok(!names.some((n) => n.endsWith('.tmp')), `temporary files left: ${names}`);
      } finally {
        await settings({ modelsDir: undefined });
      }
    });
    it('temporary files of saves killed mid-write: removed when the models folder is watched, unless recent', async () => {
      const dir = 'stale-models';
      const old = file(`${dir}/.m.safetensors.123.deadbeef.tmp`), recent = file(`${dir}/.m.safetensors.lw4x2.tmp`), model = file(`${dir}/keep.safetensors.tmp`);
      for (const u of [old, recent, model]) await vscode.workspace.fs.writeFile(u, new Uint8Array([1, 2, 3]));
      const hoursAgo = (Date.now() - 2 * 3600_000) / 1000;
      utimesSync(old.fsPath, hoursAgo, hoursAgo);
      utimesSync(model.fsPath, hoursAgo, hoursAgo);
      await settings({ modelsDir: dir });
      try {
        const exists = async (u: vscode.Uri): Promise<boolean> => vscode.workspace.fs.stat(u).then(() => true, () => false);
        await waitUntil(async () => !(await exists(old)));
        assert.ok(await exists(recent), 'a save under way (recent) is left alone');
        assert.ok(await exists(model), 'not a temporary file of a model save');
      } finally {
        await settings({ modelsDir: undefined });
        await vscode.workspace.fs.delete(file(dir), { recursive: true });
      }
    });
    it('a corrupt model file', async () => {
      const bad = file('.gatescope/corrupt.safetensors');
      await vscode.workspace.fs.writeFile(bad, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
      await vscode.commands.executeCommand('gatescope.openModel', bad);
      assert.match(await lastError(), /cannot use corrupt\.safetensors: .*header length/);
    });
  });
});

async function waitUntil(pred: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
