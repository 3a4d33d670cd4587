import * as assert from 'node:assert/strict';
import { describeSizedDefaults, MAX_DEFAULT_STEPS, MIN_DEFAULT_STEPS, sizedDefaults, ValidationWatch } from '../../../src/engine/schedule';

describe('defaults sized to the text, and the validation watch', () => {
  it('sizes a run to about 20 passes over the text, within [150, 3000] steps, and a smaller model for a small text', () => {
    // the case: 12 KB trained 1,000 steps of 32 × 64 = 160 passes; now 150 steps, 64 hidden units
    const small = sizedDefaults(12_473, 32, 64);
    assert.deepEqual([small.steps, small.hidden], [MIN_DEFAULT_STEPS, 64]);
    assert.ok(small.passes < 30, `${small.passes} passes`);
    const mid = sizedDefaults(100_000, 32, 64);
    assert.deepEqual([mid.steps, mid.hidden], [977, 128]);
    assert.ok(Math.abs(mid.passes - 20) < 0.1);
    assert.equal(sizedDefaults(5_000_000, 32, 64).steps, MAX_DEFAULT_STEPS);
    assert.match(describeSizedDefaults(12_473, { steps: 150, hidden: 64, batch: 32, seq: 64 }), /^150 steps \(about 25 passes over 12,473 characters\), 64 hidden units for a small text$/);
  });

  it('calls it overfitting once the validation loss has stayed 2% above its best for two measurements, once, until a new best', () => {
    const w = new ValidationWatch();
    const seen = [[50, 2.0], [100, 1.6], [150, 1.5], [200, 1.52], [250, 1.54], [300, 1.56], [350, 1.6], [400, 1.49], [450, 1.55], [500, 1.56]]
      .map(([step, v]) => ({ step, ...w.push(step!, v!) }));
    assert.deepEqual(seen.filter((s) => s.improved).map((s) => s.step), [50, 100, 150, 400]);
    // 1.52 is within 2% of 1.5; 1.54 and 1.56 are above: the second of them is the signal
    assert.deepEqual(seen.filter((s) => s.overfitting).map((s) => s.step), [300, 500]);
    assert.deepEqual(seen.at(-1)!.best, { step: 400, loss: 1.49 });
    assert.equal(w.push(550, NaN).overfitting, false, 'no measurement (no held-out text) is no signal');
  });
});
