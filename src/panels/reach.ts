import type { EngineClient } from '../host/engineClient';
import { vocabularyDifference } from '../models/provenance';
import type { ReachData, ReachView } from '../protocol/reach';
import type { UnitsQuery, UnitsView } from '../protocol/units';
import type { TraceExportFormat } from '../protocol/traceExport';

/** What a panel asks: the prediction at `at`, K = `maxK` steps back, the per-step factor of `layer`. */
export interface ReachQuery {
  readonly at: number;
  readonly maxK: number;
  readonly layer: number;
  /** The saliency reaches back to this timestep (the text strip's window); undefined: `maxK` steps. */
  readonly saliencyFrom?: number;
}

/** The panel's model and the text it traced (the model's vocabulary: `vocab`), and its comparison model if any. */
export interface ReachSubject {
  readonly text: string;
  readonly model: Uint8Array;
  readonly vocab: readonly string[];
  readonly compare: { readonly bytes: Uint8Array; readonly label: string } | null;
}

/**
 * A panel's requests on the traces the engine worker keeps for it — the gradient reach and the unit search: the
 * worker keeps the panel's traces (its model's and its comparison model's) under keys of this panel, so a click
 * costs a short backward and a search one pass over the values; when the worker has dropped one (idle, or other
 * panels' traces), it is traced again first.
 */
export class PanelReach {
  private static panels = 0;
  private readonly id = ++PanelReach.panels;
  /** The comparison model traced under compareKey, on `comparedText` (traced again when either changes). */
  private comparedModel: Uint8Array | null = null;
  private comparedText = '';
  /** Why the comparison model cannot be compared (another vocabulary), for `comparedModel`. */
  private compareRefused: string | null = null;

  constructor(private readonly engine: EngineClient) {}

  /** The key the panel's own trace is kept under (the panel traces with it). */
  get modelKey(): string {
    return `inspector-${this.id}:model`;
  }

  /** The key the comparison model's trace of the same text is kept under. */
  get compareKey(): string {
    return `inspector-${this.id}:compare`;
  }

  /**
   * The reach of the model (kept under modelKey) and of the comparison model when there is one; a comparison that
   * cannot be measured on this text (another vocabulary, characters it lacks) says why in one line instead.
   */
  async at(q: ReachQuery, s: ReachSubject): Promise<ReachView> {
    const own = await this.get(this.modelKey, s.model, s.text, q);
    let other: ReachData | null = null, note: string | null = null;
    if (s.compare) {
      try {
        if (s.compare.bytes !== this.comparedModel || s.text !== this.comparedText) {
          this.comparedModel = null;
          const other = await this.engine.describe(s.compare.bytes);
          const differs = vocabularyDifference(s.vocab, other.vocab, `The comparison model (${s.compare.label})`);
          if (differs === null) await this.engine.trace(s.compare.bytes, s.text, this.compareKey);
          this.compareRefused = differs && `${differs}; its reach is not shown.`;
          this.comparedModel = s.compare.bytes;
          this.comparedText = s.text;
        }
        if (this.compareRefused === null) other = await this.get(this.compareKey, s.compare.bytes, s.text, q); // the worker clamps the layer
        else note = this.compareRefused;
      } catch (e) {
        note = `The comparison model cannot be traced on this text: ${firstLine((e as Error).message)}`;
      }
    }
    return { at: q.at, model: own, compare: other, compareLabel: s.compare?.label ?? null, compareNote: note };
  }

  /** The units of the model's trace ranked against a feature of its text. */
  units(q: UnitsQuery, s: Pick<ReachSubject, 'text' | 'model'>): Promise<UnitsView> {
    return this.onKept(this.modelKey, s.model, s.text, () => this.engine.units(this.modelKey, q));
  }

  /** The model's trace of the text as JSON bytes (the CLI's `trace --json` schema), built in the worker. */
  traceJson(s: Pick<ReachSubject, 'text' | 'model'>): Promise<Uint8Array> {
    return this.onKept(this.modelKey, s.model, s.text, () => this.engine.traceJson(this.modelKey));
  }

  /** Opens an export of the model's trace in the worker (src/protocol/traceExport.ts): its size; then EngineClient.exportNext. */
  exportOpen(exportId: number, format: TraceExportFormat, s: Pick<ReachSubject, 'text' | 'model'>): Promise<{ readonly size: number }> {
    return this.onKept(this.modelKey, s.model, s.text, () => this.engine.exportOpen(exportId, this.modelKey, format));
  }

  private get(key: string, bytes: Uint8Array, text: string, q: ReachQuery): Promise<ReachData> {
    return this.onKept(key, bytes, text, () => this.engine.reach(key, q.at, q.maxK, q.layer, q.saliencyFrom));
  }

  /** Asks of the trace kept under `key`; when the worker no longer keeps it, traces `text` again first. */
  private async onKept<R>(key: string, bytes: Uint8Array, text: string, ask: () => Promise<R | null>): Promise<R> {
    const first = await ask();
    if (first !== null) return first;
    await this.engine.trace(bytes, text, key);
    const again = await ask();
    if (again === null) throw new Error('the engine dropped the trace at once (too many inspectors open?)');
    return again;
  }
}

/** The first sentence of an engine message (the engine's advice to a CLI user does not fit a card's note). */
function firstLine(message: string): string {
  const end = message.search(/\.\s/);
  return end < 0 ? message : message.slice(0, end + 1);
}
