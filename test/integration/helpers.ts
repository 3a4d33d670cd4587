import * as assert from 'node:assert/strict';
import type * as vscode from 'vscode';
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
