import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { bestVariant } from '../../../src/engine/wasm/module';

/**
 * The committed kernel module matches its sources, and the relaxed-SIMD variant (the one VS Code's Electron
 * runs) passes the kernel tests too, in a Node that validates it.
 */
const ROOT = path.join(__dirname, '../../..');

describe('WebAssembly kernel build', () => {
  it('kernels.generated.ts is up to date with src/engine/wasm/assembly (else: node src/engine/wasm/build.mjs)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'src/engine/wasm/build.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('the relaxed-SIMD variant passes the kernel tests', function () {
    if (bestVariant() === 'relaxed-simd') this.skip(); // this host runs it by default: wasmKernels.test.ts tested it
    this.timeout(120_000);
    // Node 20 validates relaxed SIMD only behind a V8 flag; the engine never relies on it, this test does
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', path.join(ROOT, 'node_modules/mocha/bin/mocha.js'),
      '--no-config', '--require', 'tsx/cjs', '--extension', 'ts', '--reporter', 'dot', path.join(__dirname, 'wasmKernels.test.ts')],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, GATESCOPE_WASM_VARIANT: 'relaxed-simd' } });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /passing/);
  });
});
