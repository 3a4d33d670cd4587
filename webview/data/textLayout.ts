/**
 * Lays the traced text out in rows of at most `cols` cells for the text strip: a newline ends its row (it is
 * drawn as ↵ in the row's last cell), long lines wrap after the last space that leaves the row at least half
 * full, else at `cols`. Every character takes one cell. Pure.
 * Dimension legend: T characters, R rows.
 */
export interface TextLayout {
  readonly cols: number;
  readonly rows: number;
  /** (R + 1) first timestep of each row; rowStart[R] = T. */
  readonly rowStart: Int32Array;
}

export function layoutText(chars: readonly string[], cols: number): TextLayout {
  const width = Math.max(1, Math.floor(cols));
  const starts: number[] = [0];
  const T = chars.length;
  let rowBegin = 0;
  let lastSpace = -1;
  for (let t = 0; t < T; t++) {
    const ch = chars[t]!;
    if (t - rowBegin >= width) {
      const brk = lastSpace >= rowBegin + Math.floor(width / 2) ? lastSpace + 1 : t;
      starts.push(brk);
      rowBegin = brk;
      lastSpace = -1;
      for (let k = brk; k < t; k++) if (chars[k] === ' ') lastSpace = k;
    }
    if (ch === '\n') {
      starts.push(t + 1);
      rowBegin = t + 1;
      lastSpace = -1;
    } else if (ch === ' ' || ch === '\t') {
      lastSpace = t;
    }
  }
  if (starts[starts.length - 1]! < T) starts.push(T);
  return { cols: width, rows: starts.length - 1, rowStart: Int32Array.from(starts) };
}

/** The row that holds timestep t. */
export function rowOf(layout: TextLayout, t: number): number {
  let lo = 0, hi = Math.max(0, layout.rows - 1);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (layout.rowStart[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The timestep drawn at (row, col), or null for an empty cell. */
export function hitTest(layout: TextLayout, row: number, col: number): number | null {
  if (row < 0 || row >= layout.rows || col < 0) return null;
  const t = layout.rowStart[row]! + col;
  return t < layout.rowStart[row + 1]! ? t : null;
}
