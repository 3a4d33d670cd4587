import * as assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * The built CLI (npm test builds it first), run as a user would, in a fresh folder of its own per suite.
 * GATESCOPE_CLI names another build (one made apart from dist/, which a running build replaces).
 */
export const CLI = process.env['GATESCOPE_CLI'] ?? path.join(__dirname, '../../../dist/cli.js');

export interface CliHarness {
  readonly dir: string;
  /** Writes a file in the suite's folder; returns its path. */
  file(name: string, content: string | Uint8Array): string;
  run(...args: string[]): SpawnSyncReturns<string>;
}

export function cliHarness(prefix: string): CliHarness {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return {
    dir,
    file: (name, content) => {
      const p = path.join(dir, name);
      writeFileSync(p, content);
      return p;
    },
    run: (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' }),
  };
}

/** A user error: exit 1, the message, and no stack trace. */
export function expectUserError(r: SpawnSyncReturns<string>, re: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /internal error| {4}at /, 'no stack trace for a user error');
}
