/**
 * The ZIP container of a torch.save file (PKWARE APPNOTE 6.3.x), read from its central directory: the End Of Central
 * Directory record (EOCD), its ZIP64 locator and record, and each entry's ZIP64 extra field, which PyTorch writes
 * for archives past 4 GiB. Only stored entries (method 0) are read — PyTorch never compresses its data (TorchScript
 * deflates its code, which is listed but never read) — and each one's CRC-32 is checked when it is read. Entries are views into the file, never copies.
 *
 * Every offset and size comes from the file, so each is checked against the file before it is used. No honest
 * entry occupies more than the file, and honest entries do not overlap: the sum of all entries' sizes above the
 * file's length is refused as corrupt (the zip-bomb shape of claim), and so is a stored entry whose stored and
 * uncompressed sizes differ.
 */
import { badFile, damaged, quote } from './fail';

/** One entry of the central directory, located and bounds-checked but not yet CRC-checked. */
export interface ZipEntry {
  readonly name: string;
  /** Compression method: 0 stored (the only one read), 8 deflate, … */
  readonly method: number;
  readonly encrypted: boolean;
  /** Where the entry's bytes start in the file (after its local header). */
  readonly dataOffset: number;
  /** Bytes the entry occupies in the file (for a stored entry, its size). */
  readonly size: number;
  readonly crc32: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const ZIP64_EXTRA_ID = 0x0001;
const FLAG_ENCRYPTED = 0x0001;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;

/** Whether the bytes start like a ZIP archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** A ZIP archive's entries by name; `read` returns an entry's bytes once its CRC-32 matched. */
export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly verified = new Set<string>();

  constructor(private readonly bytes: Uint8Array) {
    this.entries = readCentralDirectory(bytes);
  }

  /**
   * A stored entry's bytes (a view into the file); refuses a missing, compressed or encrypted entry and one whose
   * CRC-32 does not match.
   */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (entry === undefined) throw damaged(`the zip entry ${quote(name)} is missing`);
    if (entry.encrypted) throw badFile(`The zip entry ${quote(name)} of this PyTorch file is encrypted; save the file again without encryption.`);
    if (entry.method === METHOD_DEFLATE) {
      throw badFile(
        `This PyTorch file was recompressed by a zip tool (the entry ${quote(name)} is deflated, and PyTorch stores entries ` +
          'uncompressed): load it in PyTorch and save it again with torch.save(torch.load(PATH), NEW_PATH), or unzip it and zip it again with no compression (zip -0).',
      );
    }
    if (entry.method !== METHOD_STORED) throw badFile(`The zip entry ${quote(name)} uses compression method ${entry.method}, which PyTorch never writes; save the file again with torch.save.`);
    const data = this.bytes.subarray(entry.dataOffset, entry.dataOffset + entry.size);
    if (!this.verified.has(name)) {
      if (crc32(data) !== entry.crc32) throw damaged(`the zip entry ${quote(name)} fails its CRC-32 check`);
      this.verified.add(name);
    }
    return data;
  }
}

function readCentralDirectory(bytes: Uint8Array): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.length;
  const eocd = findEocd(bytes, view);

  const disk = view.getUint16(eocd + 4, true);
  const cdDisk = view.getUint16(eocd + 6, true);
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  // the central directory ends where the ZIP64 end record starts, when there is one, else at the EOCD
  let cdLimit = eocd;

  const locator = eocd - ZIP64_LOCATOR_SIZE;
  if (locator >= 0 && view.getUint32(locator, true) === SIG_ZIP64_LOCATOR) {
    const record = u64(view, locator + 8, 'the ZIP64 end record offset');
    if (view.getUint32(locator + 16, true) > 1) throw badFile('This PyTorch file is a multi-part zip archive; join its parts into one file first.');
    if (record > locator - ZIP64_EOCD_SIZE) throw damaged('the ZIP64 end record lies outside the file');
    if (view.getUint32(record, true) !== SIG_ZIP64_EOCD) throw damaged('the ZIP64 end record is missing');
    if (view.getUint32(record + 16, true) !== 0 || view.getUint32(record + 20, true) !== 0) {
      throw badFile('This PyTorch file is a multi-part zip archive; join its parts into one file first.');
    }
    count = u64(view, record + 32, 'the number of zip entries');
    cdSize = u64(view, record + 40, 'the central directory size');
    cdOffset = u64(view, record + 48, 'the central directory offset');
    cdLimit = record;
  } else if (disk !== 0 || cdDisk !== 0) {
    throw badFile('This PyTorch file is a multi-part zip archive; join its parts into one file first.');
  }

  if (cdOffset > cdLimit || cdSize > cdLimit - cdOffset) throw damaged('its zip central directory lies outside the file');
  // each central header is at least 46 bytes: a count the directory cannot hold is refused before anything is allocated
  if (count > Math.floor(cdSize / CENTRAL_SIZE)) throw damaged(`its zip directory claims ${count} entries in ${cdSize} bytes`);

  const entries = new Map<string, ZipEntry>();
  const names = new TextDecoder('utf-8');
  let claimed = 0;
  let at = cdOffset;
  const cdEnd = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (at + CENTRAL_SIZE > cdEnd || view.getUint32(at, true) !== SIG_CENTRAL) throw damaged(`zip directory entry ${i} is malformed`);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    let compressed = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let startDisk = view.getUint16(at + 34, true);
    let localOffset = view.getUint32(at + 42, true);
    const nameStart = at + CENTRAL_SIZE;
    const extraStart = nameStart + nameLength;
    const next = extraStart + extraLength + commentLength;
    if (next > cdEnd) throw damaged(`zip directory entry ${i} runs past the directory`);
    const nameBytes = bytes.subarray(nameStart, extraStart);
    const name = names.decode(nameBytes);

    // ZIP64: the 64-bit values of exactly the fields saturated in the 32-bit header, in this order
    const extra = findExtra(view, extraStart, extraLength, ZIP64_EXTRA_ID, name);
    if (extra !== undefined) {
      let p = extra.start;
      const take = (what: string): number => {
        if (p + 8 > extra.end) throw damaged(`the ZIP64 field of ${quote(name)} is too short`);
        const v = u64(view, p, what);
        p += 8;
        return v;
      };
      if (size === 0xffffffff) size = take('an entry size');
      if (compressed === 0xffffffff) compressed = take('an entry size');
      if (localOffset === 0xffffffff) localOffset = take('an entry offset');
      if (startDisk === 0xffff) {
        if (p + 4 > extra.end) throw damaged(`the ZIP64 field of ${quote(name)} is too short`);
        startDisk = view.getUint32(p, true);
      }
    }

    if (startDisk !== 0) throw badFile('This PyTorch file is a multi-part zip archive; join its parts into one file first.');
    if (method === METHOD_STORED && compressed !== size) throw damaged(`the stored zip entry ${quote(name)} claims ${compressed} bytes stored for ${size} bytes of data`);
    // what lies in the file is `compressed` bytes; a compressed entry's own size only matters once it is read, and
    // only stored entries ever are
    if (compressed > length) throw damaged(`the zip entry ${quote(name)} claims ${compressed} bytes, more than the whole ${length}-byte file`);
    claimed += compressed;
    if (claimed > length) throw damaged(`its zip entries claim ${claimed} bytes together, more than the whole ${length}-byte file`);

    // the local header repeats the name and has its own extra field (PyTorch pads it to align the data)
    if (localOffset > length - LOCAL_SIZE) throw damaged(`the zip entry ${quote(name)} starts outside the file`);
    if (view.getUint32(localOffset, true) !== SIG_LOCAL) throw damaged(`the zip entry ${quote(name)} has no local header`);
    const localNameLength = view.getUint16(localOffset + 26, true);
    const localExtraLength = view.getUint16(localOffset + 28, true);
    const dataOffset = localOffset + LOCAL_SIZE + localNameLength + localExtraLength;
    if (dataOffset > length || compressed > length - dataOffset) throw damaged(`the zip entry ${quote(name)} runs past the end of the file`);
    if (localNameLength !== nameLength || !sameBytes(bytes, localOffset + LOCAL_SIZE, nameBytes)) {
      throw damaged(`the zip entry ${quote(name)} has a different name in its local header`);
    }
    if (entries.has(name)) throw damaged(`the zip entry ${quote(name)} appears twice`);
    entries.set(name, { name, method, encrypted: (flags & FLAG_ENCRYPTED) !== 0, dataOffset, size: compressed, crc32: crc });
    at = next;
  }
  return entries;
}

/** The last EOCD signature whose comment ends exactly at the end of the file. */
function findEocd(bytes: Uint8Array, view: DataView): number {
  const last = bytes.length - EOCD_SIZE;
  if (last < 0) throw damaged(`${bytes.length} bytes cannot hold a zip directory`);
  const first = Math.max(0, last - MAX_COMMENT);
  for (let at = last; at >= first; at--) {
    if (bytes[at] === 0x50 && view.getUint32(at, true) === SIG_EOCD && at + EOCD_SIZE + view.getUint16(at + 20, true) === bytes.length) {
      return at;
    }
  }
  throw damaged('the end of its zip directory is missing');
}

function findExtra(view: DataView, start: number, length: number, id: number, name: string): { start: number; end: number } | undefined {
  const end = start + length;
  let at = start;
  while (at + 4 <= end) {
    const blockId = view.getUint16(at, true);
    const blockLength = view.getUint16(at + 2, true);
    const blockEnd = at + 4 + blockLength;
    if (blockEnd > end) throw damaged(`the extra field of the zip entry ${quote(name)} runs past its end`);
    if (blockId === id) return { start: at + 4, end: blockEnd };
    at = blockEnd;
  }
  return undefined;
}

/** A u64 field as a number; anything past 2^53 is past the end of any file this reader can hold. */
function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw damaged(`${what} is ${v}, past the end of the file`);
  return Number(v);
}

function sameBytes(bytes: Uint8Array, at: number, expected: Uint8Array): boolean {
  if (at + expected.length > bytes.length) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum ZIP stores per entry, eight bytes at a time
 * ("slicing-by-8"): table k maps a byte to its CRC contribution k bytes further on.
 */
const CRC_TABLES = ((): Int32Array[] => {
  // Int32Array, not Uint32Array: entries stay small integers for the JIT instead of becoming doubles past 2^31
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c;
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!;
    tables.push(prev.map((c) => (c >>> 8) ^ t0[c & 0xff]!));
  }
  return tables;
})();

export function crc32(data: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let c = -1;
  let i = 0;
  for (const end8 = data.length - 7; i < end8; i += 8) {
    const lo = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c = t7[lo & 0xff]! ^ t6[(lo >>> 8) & 0xff]! ^ t5[(lo >>> 16) & 0xff]! ^ t4[lo >>> 24]! ^
      t3[data[i + 4]!]! ^ t2[data[i + 5]!]! ^ t1[data[i + 6]!]! ^ t0[data[i + 7]!]!;
  }
  for (; i < data.length; i++) c = t0[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
