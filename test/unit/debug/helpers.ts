import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { decodeModelFile, encodeModelFile, type ModelFile } from '../../../src/engine/modelfile';
import { prepareRun } from '../../../src/engine/run';
import { DEFAULT_TRAIN_OPTIONS } from '../../../src/engine/trainer';
import type { CellType } from '../../../src/engine/types';
import type { FileAccessor, RuntimeOptions } from '../../../src/debug/runtime';
import { GatescopeDebugSession } from '../../../src/debug/session';

/** Three lines, ASCII plus one emoji (one token, two UTF-16 units) to exercise column mapping. */
export const TEXT = 'the cat sat on the mat.\nthe dog 🙂 ate the hat.\na cat and a dog sat.\n';

export const nodeFiles: FileAccessor = { readFile: async (p) => new Uint8Array(readFileSync(p)) };

/** A temporary directory with the text and a small model trained on it in the test (seeded: the same every run). */
export class Fixture {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'gatescope-debug-'));
  readonly program = path.join(this.dir, 'text.txt');
  readonly model: string;
  readonly file: ModelFile;

  constructor(cell: CellType = 'lstm', layers = 2, text = TEXT, steps = 40) {
    writeFileSync(this.program, text);
    const run = prepareRun(text, { ...DEFAULT_TRAIN_OPTIONS, cell, layers, hidden: 16, embed: 8, seq: 16, batch: 4, steps, valFrac: 0, seed: 7 });
    for (let i = 0; i < steps; i++) run.trainer.trainStep();
    const bytes = encodeModelFile(run.net, run.vocab, {}, null);
    this.model = path.join(this.dir, `${cell}.safetensors`);
    writeFileSync(this.model, bytes);
    this.file = decodeModelFile(bytes);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A DebugClient talking over a socket to a GatescopeDebugSession in this process (no build needed). */
export class InProcessAdapter {
  dc!: DebugClient;
  private server!: Server;

  async start(options: RuntimeOptions = {}): Promise<DebugClient> {
    this.server = createServer((socket) => {
      socket.setNoDelay(true);
      const session = new GatescopeDebugSession(nodeFiles, { yieldToHost: () => new Promise((r) => setImmediate(r)), ...options });
      session.setRunAsServer(true);
      session.start(socket, socket);
    }).listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.dc = new DebugClient('node', 'unused', 'gatescope');
    this.dc.defaultTimeout = 20000;
    await this.dc.start((this.server.address() as AddressInfo).port);
    return this.dc;
  }

  async stop(): Promise<void> {
    await this.dc.stop();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** initialize → launch → (breakpoints) → configurationDone, resolving with the first stop. */
export async function launch(dc: DebugClient, args: Record<string, unknown>,
  configure: () => Promise<unknown> = async () => undefined): Promise<DebugProtocol.StoppedEvent> {
  const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
  await Promise.all([
    dc.waitForEvent('initialized').then(configure).then(() => dc.configurationDoneRequest()),
    dc.launch(args),
  ]);
  return stopped;
}

/** Sends a stepping request and resolves with the stop that follows it. */
export async function stepAndWait(dc: DebugClient, request: Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
  await request;
  return stopped;
}

/** The top frame: its t (from "t=42 'x'"), line and columns as the client sees them (1-based). */
export async function topFrame(dc: DebugClient): Promise<DebugProtocol.StackFrame & { t: number }> {
  const { body } = await dc.stackTraceRequest({ threadId: 1 });
  const f = body.stackFrames[0]!;
  const m = /t=(\d+) /.exec(f.name);
  if (!m) throw new Error(`frame name ${f.name} has no t`);
  return { ...f, t: Number(m[1]) };
}

/** Every variable of every scope of a frame, expanded (units of vectors too), as name → value. */
export async function snapshot(dc: DebugClient, frameId: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const { body } = await dc.scopesRequest({ frameId });
  const walk = async (prefix: string, ref: number, depth: number): Promise<void> => {
    const vars = await dc.variablesRequest({ variablesReference: ref });
    for (const v of vars.body.variables) {
      out.set(`${prefix}/${v.name}`, v.value);
      if (v.variablesReference > 0 && depth < 3) await walk(`${prefix}/${v.name}`, v.variablesReference, depth + 1);
    }
  };
  for (const s of body.scopes) await walk(s.name, s.variablesReference, 0);
  return out;
}

/** The values of a scope's (or a variable's) children by name. */
export async function children(dc: DebugClient, ref: number): Promise<Map<string, DebugProtocol.Variable>> {
  const vars = await dc.variablesRequest({ variablesReference: ref });
  return new Map(vars.body.variables.map((v) => [v.name, v]));
}

export async function scopeRef(dc: DebugClient, frameId: number, name: string): Promise<number> {
  const { body } = await dc.scopesRequest({ frameId });
  const s = body.scopes.find((x) => x.name === name);
  if (!s) throw new Error(`no scope ${name}; scopes: ${body.scopes.map((x) => x.name).join(', ')}`);
  return s.variablesReference;
}
