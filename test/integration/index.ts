import * as path from 'node:path';
import { readdirSync } from 'node:fs';
import Mocha from 'mocha';
import { useFastKernels } from '../../src/engine/backend';

/**
 * The in-host test entry: VS Code's extension host calls run() after loading the extension, exactly as
 * @vscode/test-electron does, so the same suites run under the project's code-server harness and under
 * test-electron. MOCHA_GREP narrows the run.
 */
export function run(): Promise<void> {
  useFastKernels(); // as the extension and its worker do (src/engine/backend.ts)
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 120_000, reporter: 'spec', grep: process.env['MOCHA_GREP'], forbidOnly: true });
  for (const f of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      // the closing summary a CI log reader looks for
      console.log(`${runner.stats?.passes ?? 0} passed, ${failures} failed`);
      if (failures > 0) reject(new Error(`${failures} test${failures > 1 ? 's' : ''} failed`));
      else resolve();
    });
  });
}
