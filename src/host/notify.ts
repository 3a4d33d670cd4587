import * as vscode from 'vscode';
import { isGatescopeError } from '../engine/errors';
import { RemoteError } from '../protocol/messenger';

/**
 * User-facing messages go through here: one place that words them ("Gatescope: …") and remembers the
 * last few, which the in-host tests read through the test-state command (they cannot see notifications).
 */
const recent: { level: 'error' | 'warning' | 'info'; message: string }[] = [];

function remember(level: 'error' | 'warning' | 'info', message: string): void {
  recent.push({ level, message });
  if (recent.length > 50) recent.shift();
}

export function recentMessages(): readonly { level: string; message: string }[] {
  return recent;
}

export function showError(message: string, ...actions: string[]): Thenable<string | undefined> {
  remember('error', message);
  return vscode.window.showErrorMessage(`Gatescope: ${message}`, ...actions);
}

export function showWarning(message: string, ...actions: string[]): Thenable<string | undefined> {
  remember('warning', message);
  return vscode.window.showWarningMessage(`Gatescope: ${message}`, ...actions);
}

export function showInfo(message: string, ...actions: string[]): Thenable<string | undefined> {
  remember('info', message);
  return vscode.window.showInformationMessage(message, ...actions);
}

/** Shows a user error (the engine's, here or from the worker) as it is; rethrows anything else. */
export function showUserError(e: unknown): undefined {
  if (isGatescopeError(e) || (e instanceof RemoteError && e.wire.user)) {
    void showError((e as Error).message);
    return undefined;
  }
  throw e;
}
