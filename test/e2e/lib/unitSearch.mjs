// Browser E2E scenario for the unit search (issue 11): as a person would, inspect the bundled LSTM on the held-out
// textwrap.py; the card opens on the `column` feature and ranks the units by r; a regex typed key by key is searched
// as it is typed (its matches underlined in the text strip, the count updating); an invalid one says why; a click on
// a result colours the text by that unit; ranges are added from selections of the strip. Pixel check: the scatter
// has dots.
import { inspectExample } from './example.mjs';

export async function unitSearchScenario({ page, wb, screenshot, log, workspace }) {
  const view = await inspectExample({ page, wb, workspace });
  await page.setViewportSize({ width: 1400, height: 1300 });
  const card = view.locator('#search');
  const rows = card.locator('#feature-results button');
  await rows.first().waitFor({ timeout: 90_000 });
  const best = await rows.first().getAttribute('aria-label');
  log(`column: ${best}`);
  const m = /^Layer (\d+), unit (\d+), (\S+): r = (-?[\d.]+)/.exec(best ?? '');
  if (!m || Number(m[4]) < 0.6) throw new Error(`the column's best unit: ${best}`);
  await showCard(view, '#search');
  const dots = await inkOf(view, '#search-scatter');
  log(`scatter: ${dots} pixels drawn`);
  if (dots < 500) throw new Error(`the scatter is nearly empty (${dots} pixels)`);
  await screenshot('01-column', card);

  // a regex, typed as a person types it: each keystroke searches
  await card.locator('#search-mode-regex').click();
  const input = card.locator('#search-regex-input');
  await input.click();
  await input.pressSequentially("'[^'\\n]*'", { delay: 60 });
  const count = card.locator('.match-count');
  await count.filter({ hasText: /[1-9][\d,]* of [\d,]+ characters match/ }).waitFor({ timeout: 30_000 });
  await rows.first().waitFor({ timeout: 30_000 });
  log(`regex: ${await count.innerText()}; best ${await rows.first().getAttribute('aria-label')}`);
  await showCard(view, '#text');
  const underlined = await view.locator('#text canvas.layer-overlay').evaluate((c) => {
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 200) n++;
    return n;
  });
  log(`text strip overlay: ${underlined} pixels (cursor box and the matches underlined)`);
  if (underlined < 400) throw new Error(`the regex's matches are not underlined in the strip (${underlined} pixels)`);
  await screenshot('02-regex-as-typed', view.locator('#text'));

  // an invalid regex says why, in the card
  await input.press('End');
  await input.type('(');
  const msg = card.locator('.search-message');
  await msg.filter({ hasText: 'The regular expression is not valid' }).waitFor({ timeout: 30_000 });
  log(`invalid: ${await msg.innerText()}`);
  await input.press('Backspace');
  await rows.first().waitFor({ timeout: 30_000 });

  // click the second result: the text is coloured by it
  const second = rows.nth(1);
  const label = await second.getAttribute('aria-label');
  const [, layer, unit] = /^Layer (\d+), unit (\d+)/.exec(label ?? '') ?? [];
  await second.click();
  await view.locator('#text .card-subtitle').filter({ hasText: `of unit ${unit}, layer ${layer}` }).waitFor({ timeout: 10_000 });
  const shown = await view.locator('#unit').inputValue();
  if (shown !== unit) throw new Error(`clicked unit ${unit}, the toolbar shows ${shown}`);
  await card.locator('.scatter-caption').filter({ hasText: `of unit ${unit}, layer ${layer}` }).waitFor({ timeout: 10_000 });
  log(`picked ${label}`);

  // ranges: select in the strip, Add, select another
  await card.locator('#search-mode-ranges').click();
  const strip = view.locator('#text .strip');
  // select a line's worth of the strip (the card re-renders after each Add: find the strip again every time)
  const drag = async (y) => {
    await showCard(view, '#text');
    const box = await strip.boundingBox();
    await page.mouse.move(box.x + 40, box.y + y);
    await page.mouse.down();
    await page.mouse.move(box.x + 200, box.y + y, { steps: 6 });
    await page.mouse.up();
    await card.locator('button', { hasText: 'Add' }).click();
  };
  await drag(30);
  await card.locator('.range-chip').first().waitFor({ timeout: 10_000 });
  await drag(90);
  await card.locator('.range-chip').nth(1).waitFor({ timeout: 10_000 });
  await rows.first().waitFor({ timeout: 30_000 });
  log(`ranges: ${await card.locator('.range-chip').count()} added; best ${await rows.first().getAttribute('aria-label')}`);
  await showCard(view, '#search');
  await screenshot('03-ranges', card);
}

/** Scrolls a card of the inspector to just under its sticky toolbar. */
async function showCard(view, selector) {
  await view.locator(selector).evaluate((el) => {
    const bar = document.querySelector('.toolbar');
    window.scrollBy(0, el.getBoundingClientRect().top - (bar ? bar.getBoundingClientRect().bottom : 0) - 6);
  });
  await view.locator(selector).page().waitForTimeout(400);
}

async function inkOf(view, selector) {
  return view.locator(selector).evaluate((c) => {
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  });
}
