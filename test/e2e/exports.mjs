// Browser E2E scenario for the Inspector's PNG exports (issue 15, item 1), on the bundled example: as a person would,
// inspect the LSTM on textwrap.py, turn on "c and h too", and press the PNG buttons of the heatmaps, the gradient
// chart and the text strip, accepting code-server's save dialog where it offers (beside the text, named after the
// model and the text). The written PNGs are copied into the output folder as they are, and checked: their size, and
// that much of each is drawn on the background (titles, panels, legends), not an empty page.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';
import { inspectExample } from './lib/example.mjs';

/** The exports, their buttons, and the width each PNG must have (figures are 1200 CSS pixels × 2). */
const EXPORTS = [
  { name: 'heatmaps', card: '#heatmaps', button: 'Save the heatmaps as PNG', width: 2400, minHeight: 1400, minInk: 0.1 },
  { name: 'gradients', card: '#gradients', button: 'Save the gradient chart as PNG', width: 2400, minHeight: 700, minInk: 0.02 },
  { name: 'text', card: '#text', button: 'Save the text strip as PNG', width: null, minHeight: 300, minInk: 0.05 },
];

export default async function exportsScenario({ page, wb, screenshot, log, workspace, outDir }) {
  const view = await inspectExample({ page, wb, workspace });
  await view.locator('#heatmap-i').waitFor({ timeout: 90_000 });
  await view.locator('#reach .reach-headline').filter({ hasText: 'characters back' }).waitFor({ timeout: 90_000 });
  await view.locator('#show-states').check();
  await view.locator('#heatmap-c').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await screenshot('00-inspector', wb.webviewElement());

  for (const e of EXPORTS) {
    const file = path.join(workspace, `stdlib-lstm-textwrap-${e.name}.png`);
    const button = view.locator(`${e.card} button[aria-label^="${e.button}"]`);
    await button.scrollIntoViewIfNeeded();
    await button.click();
    // code-server's save dialog is a quick input holding the proposed path: accept it as offered
    const input = page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    await page.waitForFunction((want) => document.querySelector('.quick-input-widget input.input')?.value.endsWith(want), path.basename(file), { timeout: 10_000 });
    await input.press('Enter');
    await waitFor(() => existsSync(file) && readFileSync(file).length > 0, `${path.basename(file)} is written`, 30_000);
    await page.waitForTimeout(300);
    const out = path.join(outDir, `${e.name}.png`);
    copyFileSync(file, out);
    const png = decodePng(readFileSync(file));
    const ink = inkFraction(png);
    log(`${e.name}: ${png.width} × ${png.height} pixels, ${(100 * ink).toFixed(1)}% drawn on the background → ${path.relative(process.cwd(), out)}`);
    if (e.width !== null && png.width !== e.width) throw new Error(`${e.name}: ${png.width} pixels wide, expected ${e.width}`);
    if (png.width < 1440 || png.height < e.minHeight) throw new Error(`${e.name}: ${png.width} × ${png.height} pixels, expected at least 1440 × ${e.minHeight}`);
    if (ink < e.minInk) throw new Error(`${e.name}: only ${(100 * ink).toFixed(1)}% of the image is drawn (expected ≥ ${100 * e.minInk}%)`);
  }
}

async function waitFor(ok, what, timeout) {
  const end = Date.now() + timeout;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The pixels of an 8-bit RGB or RGBA PNG (what a canvas writes): { width, height, channels, data }. */
function decodePng(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8, width = 0, height = 0, channels = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off), type = buf.toString('latin1', off + 4, off + 8);
    const body = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8], colour = body[9], interlace = body[12];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`unexpected PNG format (depth ${depth}, colour type ${colour}, interlace ${interlace})`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(body);
    }
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? data[y * stride + x - channels] : 0;
      const b = y > 0 ? data[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? data[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      data[y * stride + x] = (line[x] + pred) & 0xff;
    }
  }
  return { width, height, channels, data };
}

/** The fraction of pixels that differ visibly from the background (the top-left pixel). */
function inkFraction({ width, height, channels, data }) {
  const bg = [data[0], data[1], data[2]];
  let inked = 0;
  for (let p = 0; p < width * height; p++) {
    const k = p * channels;
    if (Math.abs(data[k] - bg[0]) + Math.abs(data[k + 1] - bg[1]) + Math.abs(data[k + 2] - bg[2]) > 24) inked++;
  }
  return inked / (width * height);
}
