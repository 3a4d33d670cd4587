import { quantitiesOf, type EditedStep, type Quantity } from '../../src/protocol/webview';
import type { TraceData } from '../../src/protocol/trace';

/**
 * The debugger's edited state (Set Value) as the views of one step read it: the unit's values, and the words that
 * mark them. Pure; the views draw them (details.ts, cellDiagram.ts, editedNote.ts). H units.
 */

/** Every quantity of one unit in the edited state, in the order unitReadout gives the trace's (i, f, g, o, c, h for an LSTM). */
export function editedReadout(cell: TraceData['cell'], e: EditedStep, layer: number, unit: number): { readonly q: Quantity; readonly value: number }[] {
  const l = e.layers[layer];
  if (!l) return [];
  const out: { q: Quantity; value: number }[] = [];
  for (const q of quantitiesOf(cell)) {
    const v = q === 'h' ? l.h : q === 'c' ? l.c : l.gates[q];
    if (v) out.push({ q, value: v[unit]! });
  }
  return out;
}

/** One intervention as the debugger's Variables view names it: `layer(1).h[48] = −1 at t = 12` (the layer only with several). */
function editText(e: EditedStep['edits'][number], layers: number): string {
  const value = e.value < 0 ? `−${formatValue(-e.value)}` : formatValue(e.value);
  return `${layers > 1 ? `layer(${e.layer}).` : ''}${e.state}[${e.unit}] = ${value}${e.t !== null ? ` at t = ${e.t}` : ''}`;
}

function formatValue(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
}

/** The mark on the views that show the edited state: what was set, at most three interventions named. */
export function editedMark(e: EditedStep): string {
  const named = e.edits.slice(-3).map((x) => editText(x, e.layers.length));
  const more = e.edits.length > 3 ? ` and ${e.edits.length - 3} more` : '';
  return `Edited in the debugger (Set Value${named.length ? `: ${named.join(', ')}${more}` : ''}): these are the debugger's values, not the trace's`;
}

/** The one line over the time-series views while the cursor's step is edited: they keep the unedited trace. */
export function seriesNote(t: number): string {
  return `Step t = ${t} is edited in the debugger (Set Value): the heatmaps and trajectories show the unedited trace.`;
}
