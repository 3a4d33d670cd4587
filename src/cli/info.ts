import { CELL_NAMES } from '../engine/types';
import { readModelFile } from './files';
import { printable } from './terminal';

export function runInfo(file: string, o: { json?: boolean }): void {
  const m = readModelFile(file);
  const c = m.net.cfg;
  const summary = {
    cell: c.cell, cellName: CELL_NAMES[c.cell], layers: c.layers, hidden: c.hidden, embed: c.embed, vocab: c.vocabSize,
    parameters: m.net.params.length, resumable: m.training !== null, ...m.info,
  };
  if (o.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  const lines = [
    `${file}`,
    `  ${c.cell}: ${CELL_NAMES[c.cell]}, ${c.layers} layer${c.layers > 1 ? 's' : ''} × ${c.hidden} hidden, embedding ${c.embed}, vocabulary ${c.vocabSize}`,
    `  ${m.net.params.length.toLocaleString('en-US')} parameters; ${m.training ? `resumable from step ${m.training.step}` : 'no training state (inference only)'}`,
  ];
  if (m.info.source) lines.push(`  trained on ${m.info.source}${m.info.steps !== undefined ? ` for ${m.info.steps} steps` : ''}`);
  if (m.info.sources?.length) {
    const where = m.info.sources.map((s) => `${s.uri}${s.range ? ` [${s.range.start}, ${s.range.end})` : ''}${s.bytes !== undefined ? ` (first ${s.bytes} bytes)` : ''}`);
    lines.push(`  training text: ${where.length > 4 ? `${where.slice(0, 4).join(', ')}, … (${where.length} sources)` : where.join(', ')}` +
      `${m.info.join && m.info.sources.length > 1 ? `, joined ${m.info.join}` : ''}`);
  }
  if (m.info.textHash) lines.push(`  training text SHA-256: ${m.info.textHash}`);
  const of = m.info.comparisonOf;
  if (of) lines.push(`  a comparison model for the model with SHA-256 ${of.modelHash}, trained on ${of.likeForLike ? 'its training text' : 'another text'} (SHA-256 ${of.textHash})`);
  if (m.info.loss !== undefined) lines.push(`  loss ${m.info.loss.toFixed(4)}${m.info.valLoss !== undefined ? `, validation ${m.info.valLoss.toFixed(4)}` : ''} (nats per character)`);
  for (const w of m.warnings) lines.push(`  warning: ${w}`);
  // metadata and tensor names come from the file: shown, never acted on by the terminal
  process.stdout.write(lines.map(printable).join('\n') + '\n');
}
