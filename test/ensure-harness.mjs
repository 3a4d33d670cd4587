// Installs the VS Code test harness (test/vscode-harness: code-server, playwright-core, Debian chromium) when it
// is missing, so `npm test` works on a fresh machine. The installer itself skips every step already done.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export function ensureHarness() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  if (existsSync(path.join(root, 'test/vscode-harness/node_modules/.gatescope-harness-stamp')) && existsSync('/usr/bin/chromium')) return;
  console.error('[test] installing the VS Code test harness (code-server, chromium): .ci/install-vscode-harness.sh');
  const r = spawnSync('bash', [path.join(root, '.ci/install-vscode-harness.sh')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// run directly (npm run demo): install when missing
if (import.meta.url === `file://${process.argv[1]}`) ensureHarness();
