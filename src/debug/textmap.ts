import { isPairAt } from '../engine/text';

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
    // typed arrays sized for the worst case (one token per UTF-16 unit): a long text costs 8 bytes per character
    const offsets = new Uint32Array(text.length + 1);
    const lines = new Uint32Array(text.length);
    this.lineStart = [0];
    this.lineContentEnd = [];
    this.lineFirstToken = [-1];
    let line = 0;
    let n = 0;
    for (let i = 0; i < text.length;) {
      const c = text.charCodeAt(i);
      const pair = isPairAt(text, i);
      if (this.lineFirstToken[line] === -1) this.lineFirstToken[line] = n;
      offsets[n] = i;
      lines[n] = line;
      n++;
      if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
        const crlf = c === 0x0a && i > 0 && text.charCodeAt(i - 1) === 0x0d;
        this.lineContentEnd.push(crlf ? i - 1 : i);
        line++;
        this.lineStart.push(i + 1);
        this.lineFirstToken.push(-1);
      }
      i += pair ? 2 : 1;
    }
    this.lineContentEnd.push(text.length);
    offsets[n] = text.length;
    this.offsets = offsets.subarray(0, n + 1);
    this.tokenLine = lines.subarray(0, n);
    this.length = n;
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
