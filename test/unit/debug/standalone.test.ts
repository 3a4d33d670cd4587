import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { build } from 'esbuild';
import { Fixture, launch, stepAndWait, topFrame } from './helpers';

/**
 * The bundled adapter (as esbuild.js bundles src/debug/standalone.ts to dist/debugAdapter.js), built here into
 * a temporary directory so that the test needs no prior build: once as a process over stdin/stdout, once as
 * the worker_thread the extension host runs it in.
 */
describe('standalone debug adapter bundle', function () {
  let dir: string;
  let bundle: string;
  let fx: Fixture;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gatescope-adapter-'));
    bundle = path.join(dir, 'debugAdapter.js');
    await build({
      entryPoints: [path.join(__dirname, '../../../src/debug/standalone.ts')], outfile: bundle,
      bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['vscode'], logLevel: 'silent',
    });
    fx = new Fixture('lstm', 1);
  });
  after(() => {
    fx.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('speaks DAP over stdin/stdout as a process', async () => {
    const dc = new DebugClient(process.execPath, bundle, 'gatescope');
    dc.defaultTimeout = 20000;
    await dc.start();
    try {
      const stop = await launch(dc, { program: fx.program, model: fx.model, stopOnEntry: true });
      assert.equal(stop.body.reason, 'entry');
      await stepAndWait(dc, dc.nextRequest({ threadId: 1 }));
      await stepAndWait(dc, dc.nextRequest({ threadId: 1 }));
      assert.equal((await topFrame(dc)).name, "t=2 'e'");
    } finally {
      await dc.stop();
    }
  });

  it('runs in a worker_thread, exchanging DAP messages as objects', async () => {
    const worker = new Worker(bundle);
    const events: DebugProtocol.Event[] = [];
    const pending = new Map<number, (r: DebugProtocol.Response) => void>();
    const waiters: { event: string; resolve: (e: DebugProtocol.Event) => void }[] = [];
    worker.on('message', (m: DebugProtocol.ProtocolMessage) => {
      if (m.type === 'response') pending.get((m as DebugProtocol.Response).request_seq)?.((m as DebugProtocol.Response));
      if (m.type === 'event') {
        const e = m as DebugProtocol.Event;
        events.push(e);
        for (const w of waiters.filter((x) => x.event === e.event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
    let seq = 1;
    const request = (command: string, args?: unknown): Promise<DebugProtocol.Response> => new Promise((resolve) => {
      const s = seq++;
      pending.set(s, resolve);
      worker.postMessage({ seq: s, type: 'request', command, arguments: args });
    });
    const waitFor = (event: string): Promise<DebugProtocol.Event> => new Promise((resolve) => waiters.push({ event, resolve }));
    try {
      const init = await request('initialize', { adapterID: 'gatescope', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
      assert.equal(init.success, true, JSON.stringify(init));
      const initialized = waitFor('initialized');
      const stopped = waitFor('stopped');
      const launched = request('launch', { program: fx.program, model: fx.model, stopOnEntry: true });
      await initialized;
      await request('configurationDone');
      assert.equal((await launched).success, true);
      assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'entry');
      const st = (await request('stackTrace', { threadId: 1 })) as DebugProtocol.StackTraceResponse;
      assert.equal(st.body.stackFrames[0]!.name, "t=0 't'");
      assert.ok(events.some((e) => e.event === 'gatescope.didStep'));
      const terminated = waitFor('terminated');
      await request('terminate');
      await terminated;
    } finally {
      await worker.terminate();
    }
  });
});
