/**
 * The standalone page's fixture format: a value with typed arrays as one binary file (JSON with typed arrays
 * replaced by references, then their bytes), so the fake host gets real Float32Arrays as VS Code would deliver
 * them. Non-finite numbers survive (JSON alone would turn NaN into null). Used by the server and the page.
 */
type Kind = 'f32' | 'f64' | 'i32' | 'u8';
const CTORS = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u8: Uint8Array } as const;

function kindOf(v: ArrayBufferView): Kind | null {
  if (v instanceof Float32Array) return 'f32';
  if (v instanceof Float64Array) return 'f64';
  if (v instanceof Int32Array) return 'i32';
  if (v instanceof Uint8Array) return 'u8';
  return null;
}

export function encodeWire(value: unknown): Uint8Array {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const json = JSON.stringify(value, function (this: unknown, _k, v: unknown) {
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    if (v && typeof v === 'object' && ArrayBuffer.isView(v)) {
      const kind = kindOf(v);
      if (!kind) throw new Error('unsupported typed array');
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const at = offset;
      chunks.push(bytes);
      offset += bytes.length;
      const pad = (8 - (offset % 8)) % 8;
      if (pad) { chunks.push(new Uint8Array(pad)); offset += pad; }
      return { $ta: kind, at, n: v.byteLength / CTORS[kind].BYTES_PER_ELEMENT };
    }
    return v;
  });
  const head = new TextEncoder().encode(json);
  const headLen = head.length + ((8 - ((head.length + 8) % 8)) % 8);
  const out = new Uint8Array(8 + headLen + offset);
  new DataView(out.buffer).setUint32(0, head.length, true);
  new DataView(out.buffer).setUint32(4, headLen, true);
  out.set(head, 8);
  let p = 8 + headLen;
  for (const c of chunks) { out.set(c, p); p += c.length; }
  return out;
}

export function decodeWire(buf: ArrayBuffer): unknown {
  const dv = new DataView(buf);
  const len = dv.getUint32(0, true), headLen = dv.getUint32(4, true);
  const json = new TextDecoder().decode(new Uint8Array(buf, 8, len));
  const base = 8 + headLen;
  return JSON.parse(json, (_k, v: unknown) => {
    const o = v as { $ta?: Kind; at?: number; n?: number; $num?: string };
    if (o && typeof o === 'object' && o.$ta) return new CTORS[o.$ta](buf.slice(base + o.at!, base + o.at! + o.n! * CTORS[o.$ta].BYTES_PER_ELEMENT));
    if (o && typeof o === 'object' && typeof o.$num === 'string') return Number(o.$num);
    return v;
  });
}
