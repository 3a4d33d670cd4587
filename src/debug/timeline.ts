import type { Network } from '../engine/network';
import { Stepper, type StepState } from '../engine/stepper';

/**
 * The network's path through the text, with time travel. `t` is the program counter: the stepper has read
 * tokens 0..t, so its internals are those of step t and its probs predict token t + 1 (the trace's row t).
 *
 * Step back restores BIT-IDENTICAL state: a checkpoint holds the recurrent state (h, c per layer) after every
 * K-th step, and going to t loads the last checkpoint before t and replays at most K steps. A step is a pure
 * function of (state, token, parameters), so the replay recomputes the very same floats, internals included
 * (gates, probs). Memory is bounded: K is chosen so that T / K checkpoints fit in `checkpointBudget` bytes.
 *
 * Interventions (Set Value on a unit of h or c at t) are part of the path: they are replayed after step t
 * whenever t is recomputed, and the checkpoints from t on are dropped, because the path after t changed.
 */
export class Timeline {
  readonly stepper: Stepper;
  /** Steps between checkpoints. */
  readonly interval: number;
  private current = -1;
  private readonly checkpoints = new Map<number, StepState>(); // t → state after step t, for (t + 1) % K == 0
  private readonly edits = new Map<number, Map<string, Edit>>(); // t → unit key → edit applied after step t

  constructor(readonly net: Network, readonly tokens: ArrayLike<number>, checkpointBudget = 64 * 1024 * 1024) {
    this.stepper = new Stepper(net);
    const { layers: L, hidden: H, cell } = net.cfg;
    const bytesPerState = L * H * (cell === 'lstm' ? 2 : 1) * net.Float.BYTES_PER_ELEMENT + 64 * L;
    this.interval = Math.max(1, Math.ceil((tokens.length * bytesPerState) / checkpointBudget));
  }

  get t(): number {
    return this.current;
  }

  get length(): number {
    return this.tokens.length;
  }

  /** Bytes held by checkpoints now (at most about the budget). */
  get checkpointBytes(): number {
    let n = 0;
    for (const s of this.checkpoints.values()) {
      for (const h of s.h) n += h.byteLength;
      for (const c of s.c) n += c?.byteLength ?? 0;
    }
    return n;
  }

  /** Reads the next token: t → t + 1. */
  advance(): void {
    const t = this.current + 1;
    if (t >= this.tokens.length) throw new Error(`cannot step past the end of the text (t=${t})`);
    this.stepper.step(this.tokens[t]!);
    this.current = t;
    this.applyEdits(t);
    if ((t + 1) % this.interval === 0 && !this.checkpoints.has(t)) this.checkpoints.set(t, this.stepper.saveState());
  }

  /** Moves to any t in [0, T): forward by stepping, backward by a checkpoint and a replay of < K steps. */
  goTo(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.tokens.length) throw new Error(`t=${t} is outside the text (0..${this.tokens.length - 1})`);
    if (t === this.current) return;
    const forward = t > this.current;
    // the newest checkpoint before t; going forward, the current state is as good as one
    let from = t - 1;
    while (from >= 0 && !this.checkpoints.has(from) && !(forward && from === this.current)) from--;
    if (!(forward && from === this.current)) {
      if (from >= 0) this.stepper.loadState(this.checkpoints.get(from)!);
      else this.stepper.reset();
      this.current = from;
    }
    while (this.current < t) this.advance();
  }

  /** Back to before the first token, forgetting checkpoints (interventions too, unless kept). */
  reset(keepEdits = false): void {
    this.stepper.reset();
    this.current = -1;
    this.checkpoints.clear();
    if (!keepEdits) this.edits.clear();
  }

  /** Sets unit j of layer l's h or c at the current t; returns the value stored (rounded to the buffer's type). */
  setUnit(layer: number, state: 'h' | 'c', j: number, value: number): number {
    const t = this.current;
    if (t < 0) throw new Error('no step has run yet');
    const buf = state === 'h' ? this.stepper.layers[layer]?.h : this.stepper.layers[layer]?.c;
    if (!buf) throw new Error(state === 'c' ? 'only LSTM layers have a cell state c' : `there is no layer ${layer}`);
    if (!Number.isInteger(j) || j < 0 || j >= buf.length) throw new Error(`unit ${j} is out of range: units are numbered 0 to ${buf.length - 1}`);
    let at = this.edits.get(t);
    if (!at) this.edits.set(t, (at = new Map()));
    at.set(`${layer}:${state}:${j}`, { layer, state, unit: j, value });
    for (const k of [...this.checkpoints.keys()]) if (k >= t) this.checkpoints.delete(k);
    this.applyEdits(t);
    if ((t + 1) % this.interval === 0) this.checkpoints.set(t, this.stepper.saveState());
    return buf[j]!;
  }

  /** Interventions in time order. */
  interventions(): (Edit & { t: number })[] {
    return [...this.edits].sort(([a], [b]) => a - b).flatMap(([t, m]) => [...m.values()].map((e) => ({ ...e, t })));
  }

  /** True when an intervention at or before the current t makes the state differ from the unedited run. */
  get diverged(): boolean {
    for (const t of this.edits.keys()) if (t <= this.current) return true;
    return false;
  }

  /** Edits of step t go in after the step; an edit of the top layer's h changes the prediction at once. */
  private applyEdits(t: number): void {
    const at = this.edits.get(t);
    if (!at) return;
    const top = this.stepper.layers.length - 1;
    let repredict = false;
    for (const e of at.values()) {
      const s = this.stepper.layers[e.layer]!;
      (e.state === 'h' ? s.h : s.c!)[e.unit] = e.value;
      if (e.state === 'h' && e.layer === top) repredict = true;
    }
    if (repredict) this.stepper.repredict();
  }
}

/** An intervention: unit `unit` of layer `layer`'s h or c is set to `value` right after its step. */
export interface Edit {
  readonly layer: number;
  readonly state: 'h' | 'c';
  readonly unit: number;
  readonly value: number;
}
