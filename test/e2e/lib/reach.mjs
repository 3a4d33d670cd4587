// Browser E2E scenario for the Gradient reach card (issue 10), dark and light, on the bundled example pair: as a person
// would, inspect the LSTM on the held-out textwrap.py, "Compare with RNN" → "Load a model…" → the RNN trained the
// same way, click a character, and look at the card. Pixel check: the reach chart draws the LSTM's curves and the
// RNN's in two distinct colours (blue and red, VS Code's charts.blue and charts.red). Then saliency on the text.
import { inspectExample } from './example.mjs';

export async function reachScenario({ page, wb, screenshot, log, workspace }) {
  const view = await inspectExample({ page, wb, workspace });
  const headline = view.locator('#reach .reach-headline');
  await headline.filter({ hasText: 'characters back the LSTM keeps' }).waitFor({ timeout: 90_000 });
  log(`headline: ${await headline.innerText()}`);

  // Compare with RNN → Load a model… → the bundled RNN
  await view.locator('#reach button.btn-primary').click();
  const load = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Load a model' });
  await load.first().waitFor({ timeout: 30_000 });
  await load.first().click();
  // code-server's file dialog is a quick input listing the folder: wait for the file's row (typing before the
  // dialog has filled its own input loses the text), pick it, and accept
  const file = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'stdlib-rnn.safetensors' });
  await file.first().waitFor({ timeout: 30_000 });
  await file.first().click();
  const input = page.locator('.quick-input-widget input.input');
  if (await input.isVisible()) {
    await page.waitForFunction((want) => document.querySelector('.quick-input-widget input.input')?.value.endsWith(want), 'stdlib-rnn.safetensors', { timeout: 10_000 }).catch(() => {});
    if (await input.isVisible()) await input.press('Enter');
  }
  await headline.filter({ hasText: 'the RNN' }).waitFor({ timeout: 90_000 });

  // move the editor's cursor into the text: the inspector, and its reach, follow it
  const line = page.locator('.monaco-editor .view-lines .view-line').filter({ hasText: 'the maximum width of wrapped lines' }).first();
  await line.click({ position: { x: 160, y: 6 } });
  await view.locator('#reach .chart-legend').filter({ hasText: /t = [1-9]\d+/ }).first().waitFor({ timeout: 30_000 });
  const followed = await reachAt(view);
  log(`the reach follows the editor's cursor to t = ${followed}`);

  // click a character near the top of the text strip: the reach is of the prediction there
  const strip = view.locator('#text .strip');
  const box = await strip.boundingBox();
  const cursorRow = await view.locator('.cursor-label').innerText();
  await strip.click({ position: { x: Math.round(box.width * 0.3), y: 40 } });
  const clicked = await waitForChange(view, cursorRow);
  await view.locator('#reach .chart-legend').filter({ hasText: `t = ${clicked},` }).first().waitFor({ timeout: 30_000 });
  if (clicked === followed) throw new Error(`clicking the strip did not move the prediction (t = ${clicked})`);
  await page.waitForTimeout(800);
  const text = await headline.innerText();
  log(`clicked t = ${clicked}; headline: ${text}`);
  if (!/50 characters back the LSTM keeps \d\.\de-\d of the gradient, its cell state \d\.\de-\d, the RNN \d\.\de-\d+/.test(text)) throw new Error(`unexpected headline: ${text}`);
  log(`reach chart: ${await view.locator('#reach-chart').getAttribute('aria-label')}`);
  log(`factor chart: ${await view.locator('#reach-factor-chart').getAttribute('aria-label')}`);

  // a window tall enough for the whole card, its top just under the inspector's sticky toolbar
  await page.setViewportSize({ width: 1400, height: 1500 });
  await page.waitForTimeout(800);
  await view.locator('#reach').evaluate((card) => {
    const bar = document.querySelector('.toolbar');
    const below = bar ? bar.getBoundingClientRect().bottom : 0;
    window.scrollBy(0, card.getBoundingClientRect().top - below - 6);
  });
  await page.waitForTimeout(500);
  await screenshot('01-reach-lstm-vs-rnn', view.locator('#reach'));

  const ink = await view.locator('#reach-chart').evaluate((c) => {
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let blue = 0, red = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
      if (a < 200) continue;
      if (b > 180 && b - r > 90 && b - g > 30) blue++;
      else if (r > 180 && r - b > 90 && r - g > 90) red++;
    }
    return { blue, red };
  });
  log(`reach chart pixels: blue (LSTM) ${ink.blue}, red (RNN) ${ink.red}`);
  if (ink.blue < 150 || ink.red < 150) throw new Error(`expected two distinct curves, found blue ${ink.blue} and red ${ink.red} pixels`);

  await view.locator('#reach button', { hasText: 'Saliency' }).click();
  const strip2 = view.locator('#text .strip');
  for (let k = 0; k < 100 && !/Most depended on: t = \d+/.test(await strip2.getAttribute('aria-label')); k++) await page.waitForTimeout(100);
  const said = await strip2.getAttribute('aria-label');
  log(`text strip in saliency mode: ${said}`);
  if (!/coloured by saliency .* Most depended on: t = \d+ ".*" \d\.\de-\d+/.test(said)) throw new Error(`the strip does not say its saliency: ${said}`);
  await page.waitForTimeout(500);
  await view.locator('#text').scrollIntoViewIfNeeded();
  await screenshot('02-saliency-on-the-text', view.locator('#text'));
  await screenshot('03-inspector', wb.webviewElement());
}

/** The prediction the reach card shows, from its legend ("… t = 963, h"). */
async function reachAt(view) {
  const legend = await view.locator('#reach .chart-legend').first().innerText();
  const m = /t = (\d+),/.exec(legend);
  if (!m) throw new Error(`no prediction in the reach legend: ${legend}`);
  return Number(m[1]);
}

/** The toolbar's cursor ("t = 1,234 · x") once it differs from `before`, as a number. */
async function waitForChange(view, before) {
  const label = view.locator('.cursor-label');
  for (let k = 0; k < 100; k++) {
    const now = await label.innerText();
    if (now !== before) return Number(/t = ([\d,]+)/.exec(now)[1].replaceAll(',', ''));
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`clicking the text strip did not move the cursor from ${before}`);
}
