/**
 * One small request/reply helper for every boundary (host ↔ worker, host ↔ webview). A request carries an
 * `id`; its reply carries `inReplyTo` and either `result` or `error`. Everything else is a notification.
 * Large arrays travel as typed arrays in the transfer list, never as JSON number arrays.
 */
export interface Port {
  postMessage(message: unknown, transfer?: readonly ArrayBuffer[]): void;
}

export interface Envelope {
  readonly id?: number;
  readonly inReplyTo?: number;
  readonly result?: unknown;
  readonly error?: WireError;
  readonly body?: unknown;
}

/** An error as it crosses a boundary: the message, and whether it is the user's (shown as is) or ours. */
export interface WireError {
  readonly message: string;
  readonly code?: string;
  readonly user: boolean;
}

export class RemoteError extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
    this.name = 'RemoteError';
  }
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * `Out`: the messages this side sends (requests and notifications); `In`: the ones it receives; `Replies`: what the
 * other side answers each request type with, so that `request({ type: 'trace', … })` has its reply's type.
 */
export class Messenger<Out extends { type: string }, In extends { type: string }, Replies = Record<never, never>> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly port: Port,
    private readonly handlers: {
      /** Answers a request from the other side (return value or thrown error become the reply). */
      onRequest?(req: In): Promise<unknown> | unknown;
      onNotification?(note: In): void;
      /**
       * Checks a received message's body against the protocol: the message, or null to refuse it (a request is
       * answered with an error, a notification dropped) — for a boundary whose other side is not trusted as the
       * worker is (a webview).
       */
      check?(body: unknown): In | null;
      /** Told of each refused body (for the log). */
      onRefused?(body: unknown): void;
    } = {},
  ) {}

  /** Sends a request and resolves with the other side's reply. */
  request<K extends Out['type'] & keyof Replies>(req: Extract<Out, { type: K }>, transfer: readonly ArrayBuffer[] = []): Promise<Replies[K]> {
    const id = this.nextId++;
    return new Promise<Replies[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ id, body: req } satisfies Envelope, transfer);
    });
  }

  notify(note: Out, transfer: readonly ArrayBuffer[] = []): void {
    this.port.postMessage({ body: note } satisfies Envelope, transfer);
  }

  /** Feed every message received from the port here. */
  async receive(message: unknown): Promise<void> {
    if (typeof message !== 'object' || message === null) return;
    const env = message as Envelope;
    if (env.inReplyTo !== undefined) {
      const p = this.pending.get(env.inReplyTo);
      if (!p) return;
      this.pending.delete(env.inReplyTo);
      if (env.error) p.reject(new RemoteError(env.error));
      else p.resolve(env.result);
      return;
    }
    const check = this.handlers.check;
    const body = check ? check(env.body) : env.body as In;
    if (body === null) this.handlers.onRefused?.(env.body);
    if (env.id !== undefined) {
      if (!Number.isSafeInteger(env.id)) return;
      if (body === null) {
        this.port.postMessage({ inReplyTo: env.id, error: { message: 'the request does not follow the protocol', user: false } } satisfies Envelope);
        return;
      }
      try {
        const result = await this.handlers.onRequest?.(body);
        this.port.postMessage({ inReplyTo: env.id, result } satisfies Envelope, transfersOf(result));
      } catch (e) {
        this.port.postMessage({ inReplyTo: env.id, error: toWireError(e) } satisfies Envelope);
      }
      return;
    }
    if (body !== null) this.handlers.onNotification?.(body);
  }

  /** Fails every request still waiting (the other side is gone). */
  rejectAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  get waiting(): number {
    return this.pending.size;
  }
}

export function toWireError(e: unknown): WireError {
  const err = e as { message?: string; code?: string; name?: string };
  const user = err?.name === 'GatescopeError' || err instanceof RemoteError && err.wire.user;
  return { message: String(err?.message ?? e), code: err?.code, user };
}

/** The ArrayBuffers of typed arrays found in a result (one level deep and in arrays/records), to transfer. */
export function transfersOf(value: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (value === null || typeof value !== 'object' || depth > 4) return out;
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && !out.includes(value.buffer)) out.push(value.buffer);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) transfersOf(v, out, depth + 1);
  return out;
}
