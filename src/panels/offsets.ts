import { codePointStarts } from '../engine/text';

/**
 * Timesteps ↔ editor offsets. Tokens are code points (an emoji is one timestep) while editors count UTF-16
 * units: timestep t of a text that starts at document offset `origin` covers offsets [at(t), at(t + 1)).
 * No vscode: unit-tested in Node. Dimension legend: T characters.
 */
export class OffsetMap {
  private readonly starts: Uint32Array; // (T + 1) UTF-16 offset of each timestep in the text; starts[T] = its length

  constructor(text: string, readonly origin = 0) {
    this.starts = codePointStarts(text);
  }

  /** T. */
  get length(): number {
    return this.starts.length - 1;
  }

  /** Document offset where timestep t starts. */
  offsetOf(t: number): number {
    return this.origin + this.starts[Math.max(0, Math.min(this.length, t))]!;
  }

  /** Document offsets [start, end) of timestep t. */
  rangeOf(t: number): { start: number; end: number } {
    return { start: this.offsetOf(t), end: this.offsetOf(t + 1) };
  }

  /** The timestep at a document offset, or null outside the text. */
  stepAt(offset: number): number | null {
    const o = offset - this.origin;
    if (o < 0 || o >= this.starts[this.length]!) return null;
    let lo = 0, hi = this.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The timesteps [start, end) that overlap document offsets [from, to), or null when none do. */
  stepsIn(from: number, to: number): { start: number; end: number } | null {
    const T = this.length;
    const a = Math.max(from, this.origin), b = Math.min(to, this.offsetOf(T));
    if (b <= a) return null;
    const start = this.stepAt(a)!;
    const end = (this.stepAt(b - 1) ?? T - 1) + 1;
    return { start, end };
  }
}
