/**
 * Where each character of the stepped text sits in the document. Tokens are code points (an emoji is one
 * timestep), while editors count UTF-16 units: token t starts at UTF-16 offset offsets[t] of the text, and
 * its column is in UTF-16 units, as VS Code and DAP count them. Lines end at \n, \r\n or a lone \r, as in
 * VS Code; a line terminator's characters sit at the end of their line.
 */

/** The document position of the text's first character (a selection need not start at 0:0). 0-based. */
export interface Origin {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** A character's place in the document: 0-based line, UTF-16 columns [column, endColumn), UTF-16 offset. */
export interface CharPosition {
  readonly line: number;
  readonly column: number;
  readonly endColumn: number;
  readonly offset: number;
}

export class TextMap {
  /** T, the number of tokens. */
  readonly length: number;
  private readonly offsets: Uint32Array;    // (T + 1) UTF-16 offset of each token in the text
  private readonly tokenLine: Uint32Array;  // (T) line of each token, relative to the text
  private readonly lineStart: number[];     // UTF-16 offset where each line of the text starts
  private readonly lineContentEnd: number[]; // UTF-16 offset where its content ends (before the terminator)
  private readonly lineFirstToken: number[]; // first token of each line (−1: the line has none)

  constructor(readonly text: string, readonly origin: Origin = { offset: 0, line: 0, column: 0 }) {
    const offsets: number[] = [];
    const lines: number[] = [];
    this.lineStart = [0];
    this.lineContentEnd = [];
    this.lineFirstToken = [-1];
    let line = 0;
    for (let i = 0; i < text.length;) {
      const c = text.charCodeAt(i);
      const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      const width = pair ? 2 : 1;
      if (this.lineFirstToken[line] === -1) this.lineFirstToken[line] = offsets.length;
      offsets.push(i);
      lines.push(line);
      if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
        const crlf = c === 0x0a && i > 0 && text.charCodeAt(i - 1) === 0x0d;
        this.lineContentEnd.push(crlf ? i - 1 : i);
        line++;
        this.lineStart.push(i + 1);
        this.lineFirstToken.push(-1);
      }
      i += width;
    }
    this.lineContentEnd.push(text.length);
    offsets.push(text.length);
    this.offsets = Uint32Array.from(offsets);
    this.tokenLine = Uint32Array.from(lines);
    this.length = lines.length;
  }

  /** UTF-16 offset of token t in the text (t = T gives the text's length). */
  offsetOf(t: number): number {
    return this.offsets[t]!;
  }

  /** Document line (0-based) of token t. */
  lineOf(t: number): number {
    return this.tokenLine[t]! + this.origin.line;
  }

  position(t: number): CharPosition {
    const local = this.tokenLine[t]!;
    const start = this.offsets[t]!;
    const shift = local === 0 ? this.origin.column : 0;
    const contentEnd = this.lineContentEnd[local]!;
    // a line terminator sits at the end of its line, with no width: editors have no column for it
    const at = Math.min(start, contentEnd);
    const column = at - this.lineStart[local]! + shift;
    const endColumn = start >= contentEnd ? column : this.offsets[t + 1]! - this.lineStart[local]! + shift;
    return { line: local + this.origin.line, column, endColumn, offset: this.origin.offset + start };
  }

  /** The first token on a document line, or undefined when the text has no character there. */
  firstTokenOnLine(docLine: number): number | undefined {
    const t = this.lineFirstToken[docLine - this.origin.line];
    return t === undefined || t < 0 ? undefined : t;
  }

  /** The last token on the line of token t (its line terminator, when it has one). */
  lastTokenOnLineOf(t: number): number {
    const next = this.lineFirstToken[this.tokenLine[t]! + 1];
    return next === undefined || next < 0 ? this.length - 1 : next - 1;
  }

  /** True when token t is the first of its line in the text (where a line breakpoint stops). */
  startsLine(t: number): boolean {
    return t === 0 || this.tokenLine[t - 1] !== this.tokenLine[t];
  }

  /** The character of token t. */
  charAt(t: number): string {
    return this.text.slice(this.offsets[t]!, this.offsets[t + 1]!);
  }

  /** The token at a document position (for hovers), or undefined outside the text. */
  tokenAt(docLine: number, column: number): number | undefined {
    const first = this.firstTokenOnLine(docLine);
    if (first === undefined) return undefined;
    const last = this.lastTokenOnLineOf(first);
    for (let t = first; t <= last; t++) {
      const p = this.position(t);
      if (column >= p.column && column < Math.max(p.endColumn, p.column + 1)) return t;
    }
    return undefined;
  }
}

/** 0-based line and UTF-16 column of a UTF-16 offset in a document's text. */
export function positionAt(text: string, offset: number): { line: number; column: number } {
  let line = 0;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart };
}
