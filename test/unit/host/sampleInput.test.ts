import * as assert from 'node:assert/strict';
import { parseLength, parseTemperature } from '../../../src/commands/sampleInput';

describe('Sample from Model: what it asks', () => {
  it('takes a temperature above 0 and at most 10, and says what temperature does otherwise', () => {
    assert.equal(parseTemperature('0.8'), 0.8);
    assert.equal(parseTemperature(' 1 '), 1);
    assert.equal(parseTemperature('10'), 10);
    for (const bad of ['0', '-1', '10.5', 'hot', '', 'NaN', 'Infinity']) assert.match(String(parseTemperature(bad)), /above 0 and at most 10: 1 samples as the model predicts/, bad);
  });

  it('takes a whole number of characters, with thousands separators', () => {
    assert.equal(parseLength('2000'), 2000);
    assert.equal(parseLength('2,000'), 2000);
    assert.equal(parseLength('1_000_000'), 1_000_000);
    for (const bad of ['0', '1.5', '1000001', 'many', '']) assert.match(String(parseLength(bad)), /whole number of characters from 1 to 1,000,000/, bad);
  });
});
