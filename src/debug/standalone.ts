import { readFile } from 'node:fs/promises';
import { isMainThread, parentPort } from 'node:worker_threads';
import { DebugSession } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { FileAccessor } from './runtime';
import { GatescopeDebugSession } from './session';

/**
 * The debug adapter as a program (dist/debugAdapter.js). Two ways to run it:
 *  - as a process speaking DAP over stdin/stdout (`node dist/debugAdapter.js`, `--server=PORT` for a socket),
 *    which is how the DAP tests and other editors use it;
 *  - as a worker_thread of the extension host, exchanging DAP messages as objects with the host (see
 *    activation.ts), so that no computation of a session ever runs on the extension host's thread.
 */

const nodeFiles: FileAccessor = {
  readFile: async (path) => new Uint8Array(await readFile(path)),
};

const yieldToHost = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The session with Node's file system; `DebugSession.run` constructs it without arguments. */
export class NodeGatescopeDebugSession extends GatescopeDebugSession {
  constructor() {
    super(nodeFiles, { yieldToHost });
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const session = new NodeGatescopeDebugSession();
  session.onDidSendMessage((message) => port.postMessage(message));
  port.on('message', (message: DebugProtocol.ProtocolMessage) => session.handleMessage(message));
} else if (require.main === module) {
  DebugSession.run(NodeGatescopeDebugSession);
}
