/** What "Sample from Model" asks, checked as typed (no VS Code here: unit-tested). */

/** A temperature as typed: a number in (0, 10]; else why not. */
export function parseTemperature(s: string): number | string {
  const t = Number(s.trim());
  return s.trim() !== '' && Number.isFinite(t) && t > 0 && t <= 10 ? t
    : 'a number above 0 and at most 10: 1 samples as the model predicts, lower is more conservative, higher more surprising';
}

/** A length as typed: a whole number of characters from 1 to 1,000,000; else why not. */
export function parseLength(s: string): number | string {
  const n = Number(s.trim().replace(/[,_ ]/g, ''));
  return Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : 'a whole number of characters from 1 to 1,000,000';
}
