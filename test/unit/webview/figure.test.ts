import * as assert from 'node:assert/strict';
import {
  AXIS_LEFT, BAR_W, barTicks, FIGURE_PAD, FIGURE_WIDTH, flowLayout, formatTick, heatmapPanelLayout, heatmapPlotHeight, niceTicks, overlaps, PANEL_GAP,
  plotWidth, scaleCaption, timeAxisLayout, wrapText, type HeatmapPanelInput, type Label, type Rect,
} from '../../../webview/data/figure';

/**
 * The exported figures' geometry (webview/data/figure.ts): colour bars keep both ends' numbers and as many round
 * values between as fit without touching; heatmap panels stacked never let one panel's last unit number meet the
 * next one's first (the "127" over "0" of the old export); no label leaves the figure. Text is measured as a
 * canvas would, at about 0.6 em per character.
 */
const measure = (text: string, px: number): number => [...text].length * px * 0.6;

const shift = (r: Rect, dy: number): Rect => ({ ...r, y: r.y + dy });

/** Every label of a panel, as boxes in panel coordinates. */
function labelsOf(L: ReturnType<typeof heatmapPanelLayout>): Rect[] {
  return [L.name, L.caption, ...L.rowLabels, L.axisLabel, ...L.ticks.map((t) => ({ ...t.box, x: L.bar.x + t.box.x, y: L.bar.y + L.bar.h + t.box.y }))];
}

describe('webview data: exported figures', () => {
  it('formats tick numbers with three significant digits and a true minus', () => {
    assert.deepEqual([0, 1, -1, 0.5, -2.3456, 127, 1234.5, 1e-4].map(formatTick), ['0', '1', '−1', '0.5', '−2.35', '127', '1235', '0.0001']);
  });

  it('finds round ticks in a range', () => {
    assert.deepEqual(niceTicks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(niceTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(niceTicks(-2.34, 2.34, 5), [-2, -1, 0, 1, 2]);
  });

  it('labels a colour bar at both ends and between, flush with its ends and never overlapping', () => {
    for (const [lo, hi] of [[0, 1], [-1, 1], [-2.345, 2.345], [-0.0123, 0.0123], [-345.6, 345.6]] as const) {
      const ticks = barTicks(lo, hi, BAR_W, measure);
      assert.equal(ticks[0]!.value, lo);
      assert.equal(ticks[ticks.length - 1]!.value, hi);
      assert.ok(ticks.length >= 3, `[${lo}, ${hi}]: ${ticks.map((t) => t.label).join(' ')}`);
      assert.equal(ticks[0]!.box.x, 0, 'the first number starts at the bar\'s start');
      const last = ticks[ticks.length - 1]!.box;
      assert.ok(Math.abs(last.x + last.w - BAR_W) < 1e-9, 'the last one ends at its end');
      for (let k = 1; k < ticks.length; k++) {
        assert.ok(ticks[k - 1]!.box.x + ticks[k - 1]!.box.w + 8 <= ticks[k]!.box.x, `[${lo}, ${hi}] ticks ${k - 1} and ${k} keep apart`);
        assert.ok(ticks[k]!.at > ticks[k - 1]!.at);
      }
    }
    // σ gates: the labels the view's own bar shows
    assert.deepEqual(barTicks(0, 1, BAR_W, measure).map((t) => t.label), ['0', '0.2', '0.4', '0.6', '0.8', '1']);
    // a bar too short for more than its ends keeps just them
    assert.deepEqual(barTicks(-123.4, 123.4, 60, measure).map((t) => t.label), ['−123', '123']);
  });

  it('places explicit ticks (the saliency\'s log scale) by value', () => {
    const ticks = barTicks(0, 1, BAR_W, measure, [{ value: 0, label: '10⁻⁴ × max' }, { value: 0.5, label: '10⁻²' }, { value: 1, label: 'max' }]);
    assert.deepEqual(ticks.map((t) => t.label), ['10⁻⁴ × max', '10⁻²', 'max']);
    assert.equal(ticks[1]!.at, BAR_W / 2);
  });

  it('wraps text at spaces and lays legend entries out in rows', () => {
    assert.deepEqual(wrapText('one two three four', measure('three four', 10), 10, measure), ['one two', 'three four']);
    assert.deepEqual(wrapText('a\nb', 1000, 10, measure), ['a', 'b']);
    assert.deepEqual(flowLayout([100, 100, 100], 250, 10), [{ x: 0, row: 0 }, { x: 110, row: 0 }, { x: 0, row: 1 }]);
    assert.deepEqual(flowLayout([400], 250), [{ x: 0, row: 0 }], 'an entry wider than the row still gets one');
  });

  it('lays out heatmap panels whose labels stay apart, inside the figure, also stacked', () => {
    const input = (over: Partial<HeatmapPanelInput>): HeatmapPanelInput => ({
      name: 'i · input gate', caption: scaleCaption('i', { lo: 0, hi: 1 }, true), lo: 0, hi: 1, rows: 128, rowLabel: 'unit (0–127)',
      plotHeight: heatmapPlotHeight(128), ...over,
    });
    const panels = [
      input({}),
      input({ name: 'c · cell state', caption: scaleCaption('c', { lo: -2.345, hi: 2.345 }, false), lo: -2.345, hi: 2.345 }),
      // a caption too long for the line of the name and bar moves under the name
      input({ name: 'g · cell candidate', caption: 'x'.repeat(140), lo: -1, hi: 1 }),
      input({ rows: 6, plotHeight: heatmapPlotHeight(6) }),
    ];
    const inner = FIGURE_WIDTH - 2 * FIGURE_PAD;
    let y = 0;
    const all: { panel: number; box: Rect; what: string }[] = [];
    panels.forEach((p, k) => {
      const L = heatmapPanelLayout(p, measure);
      assert.equal(L.plot.x, AXIS_LEFT);
      assert.equal(L.plot.w, plotWidth());
      assert.ok(L.plot.h >= 80);
      assert.equal(L.rowLabels[0]!.text, '0');
      assert.equal(L.rowLabels[L.rowLabels.length - 1]!.text, String(p.rows - 1));
      const boxes = labelsOf(L);
      for (const b of [...boxes, L.bar, L.plot]) {
        assert.ok(b.x >= 0 && b.x + b.w <= inner + 1e-9 && b.y >= 0 && b.y + b.h <= L.height + 1e-9, `panel ${k}: ${JSON.stringify(b)} inside`);
      }
      for (const [i, a] of boxes.entries()) {
        for (const b of boxes.slice(i + 1)) assert.ok(!overlaps(a, b), `panel ${k}: ${(a as Label).text} and ${(b as Label).text} overlap`);
        assert.ok(!overlaps(a, L.bar) || L.ticks.some((t) => t.label === (a as Label).text), `panel ${k}: ${(a as Label).text} on the bar`);
      }
      for (const l of L.rowLabels) assert.ok(l.x + l.w <= AXIS_LEFT, 'row numbers stay in the gutter');
      assert.ok(!overlaps(L.axisLabel, L.plot));
      if (k === 2) assert.ok(L.caption.y >= L.name.y + L.name.h, 'the long caption goes under the name');
      all.push(...boxes.map((box) => ({ panel: k, box: shift(box, y), what: (box as Label).text })));
      y += L.height + PANEL_GAP;
    });
    // across panels: nothing of one touches anything of another (the bottom unit number and the next top one)
    for (const [i, a] of all.entries()) {
      for (const b of all.slice(i + 1)) {
        if (a.panel !== b.panel) assert.ok(!overlaps(a.box, b.box), `${a.what} (panel ${a.panel}) and ${b.what} (panel ${b.panel})`);
      }
    }
  });

  it('labels the time axis with round timesteps that do not overlap, and the characters when they fit', () => {
    const pw = plotWidth();
    const wide = timeAxisLayout(0, 10_000, pw, 't: position in the traced text', measure, []);
    assert.equal(wide.chars.length, 0);
    assert.ok(wide.ticks.length >= 5, wide.ticks.map((t) => t.text).join(' '));
    assert.equal(wide.ticks[0]!.text, '0');
    assert.ok(wide.ticks.some((t) => t.text === '2,000'));
    for (let k = 1; k < wide.ticks.length; k++) assert.ok(!overlaps(wide.ticks[k - 1]!, wide.ticks[k]!));
    for (const t of wide.ticks) assert.ok(t.x >= 0 && t.x + t.w <= pw);
    assert.ok(wide.title.y >= wide.ticks[0]!.y + wide.ticks[0]!.h, 'the title under the numbers');

    const chars = [...'def f(x):\n    return x\n'.repeat(4)];
    const zoomed = timeAxisLayout(0, 60, pw, 't', measure, chars);
    assert.equal(zoomed.chars.length, 60, 'each character under its column');
    assert.equal(zoomed.chars[9]!.text, '↵');
    assert.ok(zoomed.ticks.every((t) => zoomed.chars.every((c) => !overlaps(t, c))), 'numbers under the characters');
  });

  it('says what a quantity\'s colours mean', () => {
    assert.match(scaleCaption('f', { lo: 0, hi: 1 }, true), /σ gate, in \[0, 1\]: 0 closed, 1 open/);
    assert.match(scaleCaption('h', { lo: -1, hi: 1 }, true), /\[−1, 1\]/);
    assert.equal(scaleCaption('c', { lo: -2.345, hi: 2.345 }, false), 'unbounded: colours saturate at ±2.35 (99th percentile of |c| in this layer)');
  });
});
