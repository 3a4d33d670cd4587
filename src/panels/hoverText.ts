import type { TraceData } from '../protocol/trace';
import { displayChar, probabilityOfActual, topPredictions, unitReadout } from '../protocol/traceQuery';
import { QUANTITY_NAMES, type Quantity } from '../protocol/webview';

/**
 * The editor hover of "Colour Text by Unit", as Markdown: the same details as the inspector's text strip —
 * t, the character, every gate and state of the unit, and the top-5 next-character predictions. No vscode.
 */
export function hoverMarkdown(trace: TraceData, layer: number, unit: number, quantity: Quantity, t: number): string {
  const ch = trace.vocab[trace.tokens[t]!]!;
  const code = (s: string): string => `\`${s.replace(/`/g, 'ˋ')}\``;
  const p = probabilityOfActual(trace, t);
  const readout = unitReadout(trace, layer, unit, t);
  const fmt = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)).replace('-', '−');
  const lines = [
    `**Gatescope** · t = ${t} · ${code(displayChar(ch))}${p === null ? '' : ` · p(${code(displayChar(ch))}) = ${p.toFixed(3)}, the probability the model gave this character before reading it`}`,
    '',
    `unit ${unit}, layer ${layer} (coloured by ${quantity}, ${QUANTITY_NAMES[quantity]})`,
    '',
    `| ${readout.map((r) => (r.q === quantity ? `**${r.q}**` : r.q)).join(' | ')} |`,
    `|${readout.map(() => '---:').join('|')}|`,
    `| ${readout.map((r) => fmt(r.value)).join(' | ')} |`,
    '',
    `next character, the model's top 5 with their probabilities: ${topPredictions(trace, t, 5).map((x) => `${code(displayChar(x.char))} ${x.p.toFixed(2)}`).join(' · ')}`,
  ];
  return lines.join('\n');
}
