import { readModelFile } from './files';

export function runInfo(file: string, o: { json?: boolean }): void {
  const m = readModelFile(file);
  const c = m.net.cfg;
  const summary = {
    cell: c.cell, layers: c.layers, hidden: c.hidden, embed: c.embed, vocab: c.vocabSize,
    parameters: m.net.params.length, resumable: m.training !== null, ...m.info,
  };
  if (o.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  const lines = [
    `${file}`,
    `  ${c.cell}, ${c.layers} layer${c.layers > 1 ? 's' : ''} × ${c.hidden} hidden, embedding ${c.embed}, vocabulary ${c.vocabSize}`,
    `  ${m.net.params.length.toLocaleString('en-US')} parameters; ${m.training ? `resumable from step ${m.training.step}` : 'no training state (inference only)'}`,
  ];
  if (m.info.source) lines.push(`  trained on ${m.info.source}${m.info.steps !== undefined ? ` for ${m.info.steps} steps` : ''}`);
  if (m.info.loss !== undefined) lines.push(`  loss ${m.info.loss.toFixed(4)}${m.info.valLoss !== undefined ? `, validation ${m.info.valLoss.toFixed(4)}` : ''} (nats per character)`);
  for (const w of m.warnings) lines.push(`  warning: ${w}`);
  process.stdout.write(lines.join('\n') + '\n');
}
