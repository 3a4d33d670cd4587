import * as assert from 'node:assert/strict';
import { buildLut, contrast, lutIndex, paletteFor, parseColour, readableOn } from '../../../webview/data/colour';
import { heatmapColumns, heatmapImage } from '../../../webview/data/heatmap';
import { normalise, rankUnits } from '../../../webview/data/search';
import { geometricMean, logAxisLabel, logTickLabel, positiveExtent, stridedSeries, unitSeries, vectorSeries } from '../../../webview/data/series';
import { mostVariableUnits, saturation } from '../../../webview/data/stats';
import { robustMaxAbs } from '../../../src/protocol/traceQuery';
import { hitTest, layoutText, rowOf } from '../../../webview/data/textLayout';
import { clampWindow, follow, panWindow, tAt, xOf, zoomWindow } from '../../../webview/data/zoom';

/** (T, H) array from a function of (t, j). */
function grid(T: number, H: number, f: (t: number, j: number) => number): Float32Array {
  const a = new Float32Array(T * H);
  for (let t = 0; t < T; t++) for (let j = 0; j < H; j++) a[t * H + j] = f(t, j);
  return a;
}

describe('webview data: colours', () => {
  it('parses the colour forms VS Code themes use', () => {
    assert.deepEqual(parseColour('#1f1f1f'), [31, 31, 31]);
    assert.deepEqual(parseColour('#fff'), [255, 255, 255]);
    assert.deepEqual(parseColour('#0000ff80'), [0, 0, 255]);
    assert.deepEqual(parseColour(' rgba(10, 20, 30, 0.5) '), [10, 20, 30]);
    assert.deepEqual(parseColour('rgb(1 2 3)'), [1, 2, 3]);
    assert.equal(parseColour('var(--x)'), null);
  });

  it('builds a lookup table through the stops, and indexes it with clamping', () => {
    const lut = buildLut([[0, [0, 0, 0]], [1, [255, 255, 255]]], 256);
    assert.deepEqual([...lut.subarray(0, 4)], [0, 0, 0, 255]);
    assert.deepEqual([...lut.subarray(255 * 4, 256 * 4)], [255, 255, 255, 255]);
    assert.equal(lut[128 * 4], 128);
    assert.equal(lutIndex(-5, 0, 1), 0);
    assert.equal(lutIndex(5, 0, 1), 255);
    assert.equal(lutIndex(0.5, 0, 1), 128);
    assert.equal(lutIndex(NaN, 0, 1), -1);
  });

  it('palettes start at the background and keep text readable in both themes', () => {
    for (const [kind, bg] of [['dark', [31, 31, 31]], ['light', [255, 255, 255]]] as const) {
      const p = paletteFor(kind, bg);
      assert.deepEqual(p.sequential[0]![1], bg);
      assert.deepEqual(p.diverging[2]![1], bg, 'zero is the background');
      const end = p.sequential[p.sequential.length - 1]![1];
      assert.ok(contrast(end, bg) > 3, `${kind}: the strongest colour stands out`);
      const fg = readableOn(end, [0, 0, 0], [255, 255, 255]);
      assert.ok(contrast(fg, end) >= 4.5, `${kind}: text on the strongest colour is readable`);
    }
  });
});

describe('webview data: heatmaps', () => {
  const lut = buildLut([[0, [0, 0, 0]], [1, [255, 255, 255]]], 256);

  it('one column per timestep when there is room, one per pixel otherwise', () => {
    assert.equal(heatmapColumns({ start: 0, end: 50 }, 800), 50);
    assert.equal(heatmapColumns({ start: 0, end: 10_000 }, 800.7), 800);
  });

  it('paints units as rows and time as columns, each column the mean of its timesteps', () => {
    const T = 4, H = 2;
    const v = grid(T, H, (t, j) => (j === 0 ? t / 3 : 1 - t / 3));
    const img = heatmapImage(v, H, { start: 0, end: 4 }, 2, lut, 0, 1);
    assert.equal(img.length, H * 2 * 4);
    const px = (row: number, col: number): number => img[(row * 2 + col) * 4]!;
    const near = (a: number, b: number): void => assert.ok(Math.abs(a - b) <= 1, `${a} ≈ ${b}`);
    near(px(0, 0), (0 + 1 / 3) / 2 * 255); // unit 0, t 0..1
    near(px(0, 1), (2 / 3 + 1) / 2 * 255); // unit 0, t 2..3
    near(px(1, 0), (1 + 2 / 3) / 2 * 255);
    assert.equal(img[3], 255);
  });

  it('honours the window and leaves non-finite values transparent', () => {
    const v = grid(10, 1, (t) => (t === 7 ? NaN : t));
    const img = heatmapImage(v, 1, { start: 5, end: 9 }, 4, lut, 0, 10);
    assert.equal(img[0], lutIndexOf(5));
    assert.equal(img[2 * 4 + 3], 0, 't = 7 is NaN');
    function lutIndexOf(x: number): number { return lut[lutIndex(x, 0, 10) * 4]!; }
  });
});

describe('webview data: series', () => {
  it('keeps every point of a narrow window', () => {
    const s = vectorSeries(Float32Array.from([1, 2, 3, 4]), { start: 1, end: 3 }, { buckets: 100 });
    assert.deepEqual(s, [{ x: 1, y: 2 }, { x: 2, y: 3 }]);
  });

  it('decimates a wide window to min and max per bucket, in time order, so spikes survive', () => {
    const v = new Float32Array(10_000).fill(1);
    v[4321] = 50;
    v[4322] = -50;
    const s = vectorSeries(v, { start: 0, end: 10_000 }, { buckets: 100 });
    assert.ok(s.length <= 200);
    assert.ok(s.some((p) => p.y === 50 && p.x === 4321));
    assert.ok(s.some((p) => p.y === -50 && p.x === 4322));
    for (let k = 1; k < s.length; k++) assert.ok(s[k]!.x > s[k - 1]!.x, 'x increases');
  });

  it('reads one unit of a (T, H) array', () => {
    const v = grid(5, 3, (t, j) => t * 10 + j);
    assert.deepEqual(unitSeries(v, 3, 2, { start: 0, end: 5 }, { buckets: 10 }).map((p) => p.y), [2, 12, 22, 32, 42]);
    assert.deepEqual(stridedSeries(v, 3, 1, { start: 3, end: 5 }, { buckets: 10 }).map((p) => p.y), [31, 41]);
  });

  it('labels a log axis at 1, 2 and 5 × 10^k only', () => {
    assert.deepEqual([1e-3, 2e-4, 5e-5, 3e-4, 1, 20, 0].map(logTickLabel), ['1e−3', '2e−4', '5e−5', '', '1e0', '2e1', '']);
  });

  it('labels a log axis with a few round values whatever its range', () => {
    // chart.js ticks a log axis at every whole mantissa
    const ticks = (lo: number, hi: number): number[] => {
      const out: number[] = [];
      for (let e = Math.floor(Math.log10(lo)); Number(`1e${e}`) <= hi; e++) for (let k = 1; k <= 9; k++) if (Number(`${k}e${e}`) >= lo && Number(`${k}e${e}`) <= hi) out.push(Number(`${k}e${e}`));
      return out;
    };
    const labels = (lo: number, hi: number): string[] => { const t = ticks(lo, hi); return t.map((v) => logAxisLabel(v, t)).filter((s) => s); };
    assert.deepEqual(labels(9.5e-5, 9.5e-4), ['1e−4', '2e−4', '4e−4', '6e−4', '8e−4'], 'within a decade');
    assert.deepEqual(labels(1e-4, 3e-2), ['1e−4', '2e−4', '5e−4', '1e−3', '2e−3', '5e−3', '1e−2', '2e−2']);
    assert.deepEqual(labels(1e-7, 1e-1), ['1e−7', '1e−6', '1e−5', '1e−4', '1e−3', '1e−2', '1e−1']);
    assert.deepEqual(labels(1e-16, 10), ['1e−16', '1e−14', '1e−12', '1e−10', '1e−8', '1e−6', '1e−4', '1e−2', '1e0'], 'every other power beyond 8 decades');
    for (const [lo, hi] of [[2e-5, 3e-5], [1e-3, 5], [1e-30, 1e3]]) assert.ok(labels(lo!, hi!).length <= 10);
  });

  it('turns values a log scale cannot place into gaps', () => {
    const s = vectorSeries(Float32Array.from([1e-3, 0, -1, 2, Infinity]), { start: 0, end: 5 }, { buckets: 10, positive: true });
    assert.deepEqual(s.map((p) => Number.isNaN(p.y) ? 'gap' : p.y), [0.0010000000474974513, 'gap', 'gap', 2, 'gap']);
    assert.deepEqual(positiveExtent([Float32Array.from([0, 4, 1e-5]), [2, -1]]), { min: Math.fround(1e-5), max: 4 });
    assert.equal(positiveExtent([[0, -1]]), null);
    assert.ok(Math.abs(geometricMean([1e-2, 1e-4, 0]) - 1e-3) < 1e-12);
  });
});

describe('webview data: unit search', () => {
  const T = 100, H = 4;
  // unit 0: on exactly inside [20, 30); unit 1: always on; unit 2: strongly negative inside; unit 3: on inside and half outside
  const v = grid(T, H, (t, j) => {
    const inside = t >= 20 && t < 30;
    if (j === 0) return inside ? 0.9 : -0.1;
    if (j === 1) return 0.9;
    if (j === 2) return inside ? -0.95 : 0.1;
    return inside || t % 2 === 0 ? 0.8 : 0;
  });

  it('ranks units that are on inside and off outside first, with either sign', () => {
    const r = rankUnits(v, T, H, 'h', { start: 20, end: 30 }, 0.5);
    assert.deepEqual(r.map((m) => [m.unit, m.sign]), [[0, 1], [2, -1], [3, 1]]);
    assert.equal(r[0]!.inside, 1);
    assert.equal(r[0]!.outside, 0);
    assert.equal(r[0]!.score, 1);
    assert.ok(Math.abs(r[2]!.outside - 45 / 90) < 1e-12);
    assert.ok(!r.some((m) => m.unit === 1), 'a unit that is always on is not selective');
  });

  it('a stricter threshold drops weaker units; limits and empty ranges', () => {
    assert.deepEqual(rankUnits(v, T, H, 'h', { start: 20, end: 30 }, 0.85).map((m) => m.unit), [0, 2]);
    assert.equal(rankUnits(v, T, H, 'h', { start: 20, end: 30 }, 0.5, 1).length, 1);
    assert.deepEqual(rankUnits(v, T, H, 'h', { start: 30, end: 30 }, 0.5), []);
  });

  it('brings gates and the cell state to [−1, 1] first', () => {
    assert.equal(normalise('f')(1), 1);
    assert.equal(normalise('i')(0), -1);
    assert.equal(normalise('c')(100), 1);
    assert.equal(normalise('g')(-0.5), -0.5);
  });
});

describe('webview data: statistics', () => {
  it('gate saturation is the fraction of timesteps below 0.1 and above 0.9, per unit', () => {
    const v = grid(10, 2, (t, j) => (j === 0 ? (t < 3 ? 0.05 : t < 9 ? 0.5 : 0.95) : 0.99));
    const s = saturation(v, 10, 2);
    assert.ok(Math.abs(s.left[0]! - 0.3) < 1e-6);
    assert.ok(Math.abs(s.right[0]! - 0.1) < 1e-6);
    assert.equal(s.left[1], 0);
    assert.equal(s.right[1], 1);
  });

  it('a robust scale for the cell state ignores rare outliers', () => {
    const v = new Float32Array(1000).map((_, k) => (k % 2 ? 2 : -1));
    v[10] = 1000;
    assert.equal(robustMaxAbs(v), 2);
    assert.equal(robustMaxAbs(new Float32Array(4)), 1e-6);
  });

  it('picks the units whose values vary most', () => {
    const v = grid(50, 3, (t, j) => (j === 1 ? Math.sin(t) : j === 2 ? 0.1 * Math.sin(t) : 0.5));
    assert.deepEqual(mostVariableUnits(v, 50, 3, 2), [1, 2]);
  });
});

describe('webview data: text layout', () => {
  const chars = (s: string): string[] => [...s];

  it('ends rows at newlines and wraps long lines after a space', () => {
    const l = layoutText(chars('ab\ncd'), 10);
    assert.deepEqual([...l.rowStart], [0, 3, 5]);
    const w = layoutText(chars('the quick brown fox'), 10);
    assert.deepEqual([...w.rowStart], [0, 10, 19]);
    assert.equal(w.rows, 2);
  });

  it('hard-wraps a line without spaces and keeps every character in one row', () => {
    const l = layoutText(chars('abcdefghij'), 4);
    assert.deepEqual([...l.rowStart], [0, 4, 8, 10]);
    for (let t = 0; t < 10; t++) assert.equal(hitTest(l, rowOf(l, t), t - l.rowStart[rowOf(l, t)]!), t);
    assert.equal(hitTest(l, 2, 3), null, 'past the end of a short row');
    assert.equal(hitTest(l, 9, 0), null);
  });

  it('handles empty lines and a trailing newline', () => {
    assert.deepEqual([...layoutText(chars('a\n\nb\n'), 8).rowStart], [0, 2, 3, 5]);
    assert.equal(layoutText([], 8).rows, 0);
  });
});

describe('webview data: time window', () => {
  it('zooms around a timestep, keeping it in place', () => {
    const w = zoomWindow({ start: 0, end: 1000 }, 1000, 0.5, 250);
    assert.deepEqual(w, { start: 125, end: 625 });
    assert.deepEqual(zoomWindow(w, 1000, 100, 300), { start: 0, end: 1000 });
    assert.equal(zoomWindow({ start: 0, end: 20 }, 1000, 0.01, 10).end - zoomWindow({ start: 0, end: 20 }, 1000, 0.01, 10).start, 16);
  });

  it('pans and follows the cursor within the text', () => {
    assert.deepEqual(panWindow({ start: 0, end: 100 }, 150, 80), { start: 50, end: 150 });
    assert.deepEqual(follow({ start: 0, end: 100 }, 1000, 130), { start: 31, end: 131 });
    assert.deepEqual(follow({ start: 200, end: 300 }, 1000, 150), { start: 150, end: 250 });
    assert.deepEqual(clampWindow({ start: -5, end: 3 }, 10), { start: 0, end: 10 });
  });

  it('maps timesteps to pixels and back', () => {
    const w = { start: 100, end: 200 };
    assert.equal(xOf(100, w, 1000), 5);
    assert.equal(tAt(5, w, 1000), 100);
    assert.equal(tAt(999, w, 1000), 199);
    assert.equal(tAt(-20, w, 1000), 100);
  });
});
