import * as assert from 'node:assert/strict';
import { GatescopeError } from '../../../src/engine/errors';
import { parseSafetensors, serializeSafetensors } from '../../../src/engine/safetensors';
import {
  formatNumber, jsonRows, readTraceFile, traceFileLayout, traceJsonParts, traceTensors, type TraceFileFacts, type TraceFileShape,
} from '../../../src/protocol/traceFile';

/**
 * The trace file's pure parts: the number format (the text of toPrecision(6), faster), the safetensors layout (a
 * header the project's own strict reader accepts, room for the late loss), and readTraceFile's refusals.
 */
const shape: TraceFileShape = {
  cell: 'lstm', vocab: ['a', 'b', 'é', '🙂'], hidden: 3, modelLayers: 2, layers: [1], gates: ['i', 'f', 'g', 'o'], hasC: true,
  T: 5, k: 2, fullProbs: true, saliency: true, paramGrads: [{ name: 'decoder.bias', shape: [4] }],
};
const known = { text: 'ab🙂éa', range: [2, 7] as const, lossAt: 4 };

/** A whole file of this layout with every value its own index (ids mod V), written by the layout's header. */
function fileOf(s: TraceFileShape, facts: TraceFileFacts): Uint8Array {
  const layout = traceFileLayout(s, facts);
  const out = new Uint8Array(layout.size);
  out.set(layout.header(facts.loss, facts.lossAtValue), 0);
  const v = new DataView(out.buffer);
  for (const t of layout.tensors) {
    for (let i = 0; i < (t.end - t.begin) / 4; i++) {
      if (t.dtype === 'I32') v.setInt32(layout.dataStart + t.begin + 4 * i, i % s.vocab.length, true);
      else v.setFloat32(layout.dataStart + t.begin + 4 * i, i + 0.5, true);
    }
  }
  return out;
}

describe('protocol: trace files (traceFile.ts)', () => {
  it('formats numbers as String(Number(x.toPrecision(6))), null when not finite', () => {
    const bits = new Uint32Array(1), f = new Float32Array(bits.buffer);
    let seed = 7;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const values = [0, -0, 1, -1, 0.5, 1e-7, 1e-6, 999999.5, 9999995, 12345.25, 1.5e-45, 3.4028234663852886e38, 0.1, 1e21, 1e20, 123456789, 2 ** -20];
    for (let i = 0; i < 200_000; i++) {
      bits[0] = next();
      values.push(f[0]!, Math.fround((next() / 2 ** 32 - 0.5) * 2));
    }
    for (const x of values) {
      if (!Number.isFinite(x)) continue;
      const y = Math.fround(x);
      assert.equal(formatNumber(y), String(Number(y.toPrecision(6))), `${y}`);
    }
    assert.deepEqual([NaN, Infinity, -Infinity].map(formatNumber), ['null', 'null', 'null']);
    assert.equal(jsonRows(new Float32Array([1, 0.25, NaN, -2]), 2, 0, 2), '[1,0.25],[null,-2]');
    assert.equal(jsonRows(new Int32Array([3, 4, 5]), 0, 1, 3), '4,5');
  });

  it('lays the tensors out contiguously, every shape known before tracing; the strict reader accepts the header', () => {
    const names = traceTensors(shape).map((t) => `${t.name} ${t.dtype} ${JSON.stringify(t.shape)}`);
    assert.deepEqual(names, [
      'tokens I32 [5]', 'top_ids I32 [5,2]', 'top_probs F32 [5,2]', 'p_next F32 [5]', 'entropy F32 [5]', 'probs F32 [5,4]',
      'layers.1.i F32 [5,3]', 'layers.1.f F32 [5,3]', 'layers.1.g F32 [5,3]', 'layers.1.o F32 [5,3]', 'layers.1.c F32 [5,3]', 'layers.1.h F32 [5,3]',
      'layers.1.grad_h F32 [5]', 'layers.1.grad_c F32 [5]', 'saliency F32 [5]', 'param_grads.decoder.bias F32 [4]',
    ]);
    const layout = traceFileLayout(shape, known);
    assert.equal(layout.dataStart % 8, 0, 'the data starts 8-byte aligned');
    // the late loss has room whatever its text: the longest and the shortest give headers of the same length
    for (const [loss, v] of [[-(2 ** -1022), -Math.PI * 1e-300], [NaN, 0], [2.5, 1]] as const) {
      assert.equal(layout.header(loss, v).length, layout.dataStart);
    }
    const bytes = fileOf(shape, { ...known, loss: 1.25, lossAtValue: 0.75 });
    const f = parseSafetensors(bytes);
    assert.deepEqual([...f.tensors.keys()], traceTensors(shape).map((t) => t.name));
    assert.deepEqual({ ...f.metadata }, {
      format: 'gatescope-trace', version: '2', cell: 'lstm', hidden: '3', vocab: JSON.stringify(shape.vocab), text: 'ab🙂éa', loss: '1.25',
      range: '[2,7]', modelLayers: '2', layers: '[1]', gateOrder: 'PyTorch order i, f, g, o (the row blocks of rnn.weight_ih_l{l} and rnn.weight_hh_l{l})',
      lossAt: '4', lossAtValue: '0.75',
    });
    // the same bytes as the project's writer of whole files, but for the header's room
    const whole = serializeSafetensors(traceTensors(shape).map((t) => ({
      name: t.name, shape: t.shape, data: t.dtype === 'I32' ? new Int32Array(f.tensors.get(t.name)!.bytes.slice().buffer) : new Float32Array(f.tensors.get(t.name)!.bytes.slice().buffer),
    })), { ...f.metadata });
    const wholeStart = 8 + Number(new DataView(whole.buffer).getBigUint64(0, true));
    assert.deepEqual(whole.subarray(wholeStart), bytes.subarray(layout.dataStart), 'the data section');
  });

  it('reads a trace file back, and refuses what is not one', () => {
    const facts = { ...known, loss: 1.25, lossAtValue: 0.75 };
    const bytes = fileOf(shape, facts);
    const t = readTraceFile(bytes);
    assert.deepEqual(t.shape, shape);
    assert.deepEqual(t.facts, { text: 'ab🙂éa', loss: 1.25, range: [2, 7], lossAt: 4, lossAtValue: 0.75 });
    assert.equal(t.layers[0], null, 'layer 0 was not written');
    assert.deepEqual(Array.from(t.layers[1]!.h), Array.from({ length: 15 }, (_, i) => i + 0.5));
    assert.deepEqual(Array.from(t.predictions.topIds), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    assert.deepEqual([...t.paramGrads!.keys()], ['decoder.bias']);

    const refused = (b: Uint8Array, re: RegExp): void => assert.throws(() => readTraceFile(b), (e: unknown) => e instanceof GatescopeError && /^not a Gatescope trace file: /.test(e.message) && re.test(e.message));
    refused(bytes.subarray(0, 5), /5 bytes/);
    refused(bytes.subarray(0, bytes.length - 4), /bytes where the header implies/);
    // a model file, or another version
    const f = parseSafetensors(bytes);
    const tensors = [...f.tensors].map(([name, x]) => ({ name, shape: x.shape, data: x.dtype === 'I32' ? new Int32Array(x.bytes.slice().buffer) : new Float32Array(x.bytes.slice().buffer) }));
    refused(serializeSafetensors(tensors, { ...f.metadata, format: 'pytorch' }), /its format is "pytorch"/);
    refused(serializeSafetensors(tensors, { ...f.metadata, version: '3' }), /version "3"; this Gatescope reads version 2/);
    refused(serializeSafetensors(tensors, { ...f.metadata, layers: '[2]' }), /"layers" is not what a trace file holds/);
    refused(serializeSafetensors([...tensors, { name: 'extra', shape: [1], data: new Float32Array(1) }], { ...f.metadata }), /17 tensors where the metadata implies 16/);
    refused(serializeSafetensors(tensors.map((x) => (x.name === 'layers.1.h' ? { ...x, shape: [3, 5] } : x)), { ...f.metadata }), /tensor "layers\.1\.h" is not F32 \[5,3\]/);
    refused(serializeSafetensors(tensors.map((x) => (x.name === 'tokens' ? { ...x, data: new Int32Array([0, 1, 9, 0, 0]) } : x)), { ...f.metadata }), /a token id outside the vocabulary of 4/);
  });

  it('writes the JSON as parts: literal text and named blocks, the layers not written as null', () => {
    const parts = traceJsonParts(shape, { ...known, loss: 1.25, lossAtValue: 0.75 });
    const text = parts.map((p) => (typeof p === 'string' ? p : `"${p.block}/${p.cols}"`)).join('');
    const j = JSON.parse(text);
    assert.deepEqual(Object.keys(j), ['format', 'version', 'cell', 'vocab', 'text', 'range', 'tokens', 'loss', 'top', 'pNext', 'entropy', 'probs', 'layers', 'lossAt', 'lossAtValue', 'saliency', 'paramGrads']);
    assert.deepEqual(j.top, { k: 2, ids: ['top_ids/2'], probs: ['top_probs/2'] });
    assert.deepEqual(j.layers, [null, { i: ['layers.1.i/3'], f: ['layers.1.f/3'], g: ['layers.1.g/3'], o: ['layers.1.o/3'], c: ['layers.1.c/3'], h: ['layers.1.h/3'], gradH: ['layers.1.grad_h/0'], gradC: ['layers.1.grad_c/0'] }]);
    assert.deepEqual(j.paramGrads, { 'decoder.bias': ['param_grads.decoder.bias/0'] });
    assert.deepEqual([j.format, j.version, j.range, j.lossAt, j.lossAtValue], ['gatescope-trace', 2, [2, 7], 4, 0.75]);
  });
});
