// Trains a small model for a scenario with the CLI (quicker than through the UI, which train-from-explorer.mjs
// covers) into the workspace's models folder, where the extension lists it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file with a package.json (the CLI is at dist/cli.js). */
export function repoRoot() {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

export function trainDemoModel(workspace, name, args) {
  const models = path.join(workspace, '.gatescope', 'models');
  mkdirSync(models, { recursive: true });
  const cli = process.env.GATESCOPE_CLI ?? path.join(repoRoot(), 'dist', 'cli.js');
  const r = spawnSync(process.execPath, [cli, 'train', path.join(workspace, 'sample.txt'), ...args, '--out', path.join(models, `${name}.safetensors`)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`training ${name} failed: ${r.stderr}`);
}
