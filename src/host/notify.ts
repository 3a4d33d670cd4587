import * as vscode from 'vscode';

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
