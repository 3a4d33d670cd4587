import { Rng } from '../engine/rng';
import { sample } from '../engine/sample';
import { readModelFile } from './files';

export interface SampleCliOptions {
  model: string; prime: string; length: number; temperature: number; topK: number; greedy?: boolean; seed: number;
}

export function runSample(o: SampleCliOptions): void {
  const m = readModelFile(o.model);
  const gen = sample(m.net, m.vocab, { prime: o.prime, length: o.length, temperature: o.temperature, topK: o.topK, greedy: !!o.greedy }, new Rng(o.seed));
  let buf = o.prime;
  for (const ch of gen) {
    buf += ch;
    if (buf.length >= 256) { process.stdout.write(buf); buf = ''; }
  }
  process.stdout.write(buf + '\n');
}
