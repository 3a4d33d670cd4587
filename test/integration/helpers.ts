import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { DID_STEP_EVENT, type DidStepBody } from '../../src/protocol/debug';
import type { InspectorApi } from '../../src/panels/inspector';
import type { InspectorSnapshot } from '../../src/protocol/webview';

/**
 * Polls what an inspector shows until `ok` holds (every 100 ms, `tries` times); fails with `what` and the parts of
 * the last snapshot `show` picks. `model`/`document` choose the panel; without them, the most recent one.
 */
export async function untilShown(inspector: InspectorApi, panel: { model?: vscode.Uri; document?: vscode.Uri },
  ok: (s: InspectorSnapshot) => boolean, what: string,
  show: (s: InspectorSnapshot) => unknown = (s) => ({ steps: s.steps, status: s.status }), tries = 200): Promise<InspectorSnapshot> {
  let s: InspectorSnapshot | null = null;
  for (let k = 0; k < tries; k++) {
    s = await inspector.getState(panel.model, panel.document);
    if (s && ok(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}; the inspector shows ${JSON.stringify(s && show(s))}`);
}

/** Resolves with the next didStep of a gatescope session that satisfies `when`. */
export function nextStep(when: (b: DidStepBody) => boolean = () => true): Promise<{ session: vscode.DebugSession; body: DidStepBody }> {
  return new Promise((resolve) => {
    const sub = vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type !== 'gatescope' || e.event !== DID_STEP_EVENT || !when(e.body as DidStepBody)) return;
      sub.dispose();
      resolve({ session: e.session, body: e.body as DidStepBody });
    });
  });
}

export function terminated(session: vscode.DebugSession): Promise<void> {
  return new Promise((resolve) => {
    const sub = vscode.debug.onDidTerminateDebugSession((s) => {
      if (s.id !== session.id) return;
      sub.dispose();
      resolve();
    });
  });
}
