/**
 * How a resource is named to the user — in messages, titles, the debugger's call stack, model names — the same on
 * every side of every boundary: the last segment of its path.
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
