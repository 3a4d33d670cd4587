import type { EngineClient } from '../engineClient';
import type { ReachData, ReachView } from '../protocol/reach';

/**
 * A panel's gradient reach, from the engine worker: the worker keeps the panel's traces (its model's and its
 * comparison model's) under keys of this panel, so a click costs a short backward; when the worker has dropped
 * one (idle, or other panels' traces), it is traced again first.
 */
export class PanelReach {
  private static panels = 0;
  private readonly id = ++PanelReach.panels;
  /** The comparison model traced under the comparison key (traced again when the panel's comparison changes). */
  private comparedModel: Uint8Array | null = null;
  private comparedText = '';

  constructor(private readonly engine: EngineClient) {}

  /** The key the panel's own trace is kept under (the panel traces with it). */
  get modelKey(): string {
    return `inspector-${this.id}:model`;
  }

  private get compareKey(): string {
    return `inspector-${this.id}:compare`;
  }

  /**
   * The reach at `at` of the model (kept under modelKey, `text` traced with `model`) and of the comparison
   * model when there is one; a comparison that cannot be traced on this text says why instead.
   */
  async at(at: number, maxK: number, layer: number, text: string, model: Uint8Array, compare: { bytes: Uint8Array; label: string } | null): Promise<ReachView> {
    const own = await this.get(this.modelKey, model, text, at, maxK, layer);
    let other: ReachData | null = null, note: string | null = null;
    if (compare) {
      try {
        if (compare.bytes !== this.comparedModel || text !== this.comparedText) {
          await this.engine.trace(compare.bytes, text, this.compareKey);
          this.comparedModel = compare.bytes;
          this.comparedText = text;
        }
        other = await this.get(this.compareKey, compare.bytes, text, at, maxK, layer); // the worker clamps the layer
      } catch (e) {
        note = `The comparison model cannot be traced on this text: ${(e as Error).message}`;
      }
    }
    return { at, model: own, compare: other, compareLabel: compare?.label ?? null, compareNote: note };
  }

  private async get(key: string, bytes: Uint8Array, text: string, at: number, maxK: number, layer: number): Promise<ReachData> {
    const first = await this.engine.reach(key, at, maxK, layer);
    if (first !== null) return first;
    await this.engine.trace(bytes, text, key);
    const again = await this.engine.reach(key, at, maxK, layer);
    if (again === null) throw new Error('the engine dropped the trace at once (too many inspectors open?)');
    return again;
  }
}
