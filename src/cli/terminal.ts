/**
 * Text from a file (a model's metadata, a tensor's name, a path) shown in a terminal: control characters — ESC
 * sequences that recolour, move the cursor or retitle the window, line breaks that forge output lines — and the
 * bidirectional overrides that reorder what is read ("Trojan Source") are shown as escapes instead of acting.
 */
// C0 controls, DEL, C1 controls; U+202A–U+202E and U+2066–U+2069 (bidi embeddings, overrides, isolates)
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => {
    switch (c) {
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\t': return '\\t';
      default: {
        const code = c.charCodeAt(0);
        return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
      }
    }
  });
}
