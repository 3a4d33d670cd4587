/**
 * How a resource and its size are named to the user — in messages, titles, the debugger's call stack, model names —
 * the same on every side of every boundary: the last segment of its path; sizes in bytes, kB, MB, GB.
 */

/** A URI with a scheme (file:, vscode-remote:, untitled:), not a Windows path with a drive letter. */
const URI = /^[a-zA-Z][a-zA-Z0-9+.-]+:/;

/**
 * The base name of a path or URI: a file path (either separator), a URI string (its query and fragment dropped,
 * percent-escapes decoded), or anything with a decoded `path` (vscode.Uri). The input itself when it has none.
 */
export function baseName(resource: string | { readonly path: string }): string {
  if (typeof resource !== 'string') return lastSegment(resource.path) || resource.path;
  if (!URI.test(resource)) return lastSegment(resource) || resource;
  const segment = lastSegment(resource.replace(/[?#].*$/, ''));
  try {
    return decodeURIComponent(segment) || resource;
  } catch {
    return segment || resource; // a stray '%': the name as written
  }
}

function lastSegment(path: string): string {
  return path.split(/[\\/]/).pop() ?? '';
}

/** 12 bytes, 8.4 kB, 109 MB, 1.2 GB: whole numbers from 10 up, one decimal below; never "0.0 MB" for something. */
export function formatBytes(n: number): string {
  if (!(n >= 1000)) return `${Math.max(0, Math.round(n))} byte${Math.round(n) === 1 ? '' : 's'}`;
  const [value, unit] = n < 1e6 ? [n / 1e3, 'kB'] : n < 1e9 ? [n / 1e6, 'MB'] : [n / 1e9, 'GB'];
  return `${value >= 9.95 ? Math.round(value) : value.toFixed(1).replace(/\.0$/, '')} ${unit}`;
}
