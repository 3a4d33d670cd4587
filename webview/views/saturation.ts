import { QUANTITY_NAMES, type Quantity } from '../../src/protocol/webview';
import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { h } from '../dom';
import { button, card } from './card';
import { Chart, withAlpha } from './charts';

/** What the saturation chart reads and calls. */
type SaturationContext = Pick<ViewContext, 'trace' | 'view' | 'theme' | 'quantities' | 'saturationOf' | 'selectUnit' | 'exportPng'>;

type Scatter = Chart<'scatter', { x: number; y: number }[]>;

/**
 * Gate saturation as Karpathy et al. plot it: one point per unit and σ gate, x the fraction of timesteps the
 * gate is below 0.1 (left-saturated), y the fraction above 0.9 (right-saturated). Points on the diagonal
 * x + y = 1 are always saturated; the origin never is. Click a point to select its unit.
 */
export class SaturationChart implements View {
  readonly el: HTMLElement;
  private readonly canvas = h('canvas', { id: 'saturation-chart', role: 'img' });
  private chart: Scatter | null = null;
  private gates: Quantity[] = [];

  constructor(private readonly ui: SaturationContext) {
    const c = card('saturation', 'Gate saturation');
    this.el = c.el;
    c.subtitle.textContent = 'per unit';
    c.actions.append(button('PNG', 'Save the saturation plot as PNG', () => void ui.exportPng('saturation', `Gate saturation, layer ${ui.view.layer}`, [this.canvas])));
    c.body.append(h('div', { class: 'chart-wrap square' }, this.canvas));
  }

  canvases(): readonly HTMLCanvasElement[] {
    return [this.canvas];
  }

  update(c: ReadonlySet<Change>): void {
    const ui = this.ui;
    if (!ui.trace || ui.view.tab !== 'inspect') return;
    this.gates = ui.quantities().filter((q) => ['i', 'f', 'o', 'r', 'z'].includes(q));
    this.el.hidden = !this.gates.length;
    if (!this.gates.length) return;
    if (c.has('theme')) {
      this.chart?.destroy();
      this.chart = null;
    }
    if (c.has('data') || c.has('theme') || c.has('layer') || c.has('tab') || c.has('unit') || !this.chart) this.render();
  }

  private render(): void {
    const ui = this.ui;
    const colours: Record<string, string> = { i: ui.theme.series[0]!, f: ui.theme.series[1]!, o: ui.theme.series[2]!, r: ui.theme.series[3]!, z: ui.theme.series[1]! };
    // constant options (no per-point functions), so that chart.js shares them across the points: the selected
    // unit is a separate dataset drawn on top
    const sat = this.gates.map((q) => ui.saturationOf(q)!);
    const datasets = this.gates.map((q, g) => ({
      label: `${q} · ${QUANTITY_NAMES[q]}`, type: 'scatter' as const,
      data: Array.from(sat[g]!.left, (x, j) => ({ x, y: sat[g]!.right[j]! })),
      backgroundColor: withAlpha(colours[q]!, 0.55), borderColor: colours[q]!, pointRadius: 2.5, pointBorderWidth: 0, pointHoverRadius: 5,
    }));
    const u = ui.view.unit;
    const selected = {
      label: `unit ${u}`, type: 'scatter' as const,
      data: sat.map((s) => ({ x: s.left[u]!, y: s.right[u]! })),
      backgroundColor: this.gates.map((q) => colours[q]!), borderColor: ui.theme.fg, pointRadius: 6, pointBorderWidth: 2, pointHoverRadius: 7,
    };
    const diagonal = {
      label: 'always saturated (x + y = 1)', data: [{ x: 0, y: 1 }, { x: 1, y: 0 }], type: 'scatter' as const, showLine: true,
      borderColor: withAlpha(ui.theme.grid, 0.6), borderDash: [3, 3], borderWidth: 1, pointRadius: 0, pointHoverRadius: 0,
    };
    if (!this.chart) {
      this.chart = new Chart(this.canvas, {
        type: 'scatter',
        data: { datasets: [...datasets, selected, diagonal] },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
          layout: { padding: 4 },
          scales: {
            x: { min: 0, max: 1, title: { display: true, text: 'fraction < 0.1 (left-saturated)' }, ticks: { maxTicksLimit: 6 }, grid: { color: withAlpha(ui.theme.grid, 0.18) } },
            y: { min: 0, max: 1, title: { display: true, text: 'fraction > 0.9 (right-saturated)' }, ticks: { maxTicksLimit: 6 }, grid: { color: withAlpha(ui.theme.grid, 0.18) } },
          },
          plugins: {
            legend: { position: 'bottom', labels: { boxWidth: 8, boxHeight: 8, usePointStyle: true, filter: (item) => (item.datasetIndex ?? 0) < this.gates.length } },
            tooltip: {
              filter: (item) => item.datasetIndex <= this.gates.length,
              callbacks: {
                label: (item) => {
                  const p = item.raw as { x: number; y: number };
                  const sel = item.datasetIndex === this.gates.length;
                  const gate = this.gates[sel ? item.dataIndex : item.datasetIndex];
                  const unit = sel ? this.ui.view.unit : item.dataIndex;
                  return `${gate} unit ${unit}: ${(p.x * 100).toFixed(0)}% < 0.1, ${(p.y * 100).toFixed(0)}% > 0.9`;
                },
              },
            },
          },
          onClick: (_e, elements) => {
            const hit = elements.find((el) => el.datasetIndex < this.gates.length);
            if (hit) ui.selectUnit(hit.index, true);
          },
        },
      }) as unknown as Scatter;
    } else {
      this.chart.data.datasets = [...datasets, selected, diagonal] as unknown as Scatter['data']['datasets'];
      this.chart.update('none');
    }
    this.canvas.setAttribute('aria-label', `Gate saturation of layer ${ui.view.layer}: for each unit and gate ${this.gates.join(', ')}, ` +
      'the fraction of timesteps below 0.1 against the fraction above 0.9');
  }
}
