import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { InspectorSnapshot } from '../../src/protocol/webview';
import { ROOT } from './fixtures';
import { startServer, warm } from './serve';

/**
 * Opens the standalone Inspector in headless Chromium, takes screenshots in the dark and light themes into
 * test/artifacts/webview/, checks that every canvas drew something, that the CSP was never violated and the
 * console stayed clean, and measures the speed targets on the 10,000-character 2 × 256 LSTM fixture.
 *   npx tsx test/webview-standalone/shoot.ts [--no-bench] [--only demo]
 * Exit code 0 when every check passes. playwright-core comes from the VS Code harness (test/vscode-harness).
 */
// page.evaluate callbacks run in the browser; the root tsconfig has no DOM lib
declare const window: any;
declare const document: any;
declare const requestAnimationFrame: (f: () => void) => number;
declare const MouseEvent: any;
type HTMLElement = any;

const OUT = path.join(ROOT, 'test/artifacts/webview');
const args = process.argv.slice(2);

/** The little of playwright-core this script uses (its types are not installed in the project). */
interface Browser {
  newPage(o: { viewport: { width: number; height: number }; deviceScaleFactor: number }): Promise<unknown>;
  close(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { chromium } = require(resolvePlaywright()) as { chromium: { launch(o: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser> } };

function resolvePlaywright(): string {
  for (const p of [path.join(ROOT, 'test/vscode-harness/node_modules/playwright-core'), 'playwright-core']) {
    try {
      return require.resolve(p);
    } catch {
      // next
    }
  }
  throw new Error('playwright-core not found: run `npm ci` in test/vscode-harness (or install it in a scratch directory)');
}

interface Page {
  goto(url: string): Promise<unknown>;
  evaluate<R, A = undefined>(f: (a: A) => R | Promise<R>, a?: A): Promise<R>;
  waitForFunction(f: string | (() => unknown), arg?: unknown, o?: { timeout: number }): Promise<unknown>;
  screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown>;
  mouse: { move(x: number, y: number, o?: { steps: number }): Promise<void>; down(): Promise<void>; up(): Promise<void>; click(x: number, y: number): Promise<void> };
  locator(s: string): { boundingBox(): Promise<{ x: number; y: number; width: number; height: number } | null>; click(): Promise<void>; first(): { click(): Promise<void> } };
  keyboard: { press(k: string): Promise<void> };
  on(e: 'console' | 'pageerror', f: (m: { type?(): string; text?(): string; message?: string }) => void): void;
  setViewportSize(s: { width: number; height: number }): Promise<void>;
}

const failures: string[] = [];
const check = (ok: boolean, what: string): void => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

async function snapshot(page: Page): Promise<InspectorSnapshot> {
  return page.evaluate(() => (window as unknown as { __host: { getState(): Promise<InspectorSnapshot> } }).__host.getState());
}

async function waitPainted(page: Page): Promise<InspectorSnapshot> {
  await page.waitForFunction(() => (window as unknown as { __host?: unknown }).__host !== undefined, undefined, { timeout: 30_000 });
  for (let k = 0; k < 200; k++) {
    const s = await snapshot(page).catch(() => null);
    if (s && s.timings.paintMs !== null) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the inspector never painted');
}

function checkCanvases(s: InspectorSnapshot, label: string): void {
  const blank = s.canvases.filter((c) => !(c.ink > 0.002));
  check(s.canvases.length > 0 && blank.length === 0,
    `${label}: all ${s.canvases.length} canvases drew something${blank.length ? ` (blank: ${blank.map((c) => c.id).join(', ')})` : ''}`);
  check(s.cspViolations.length === 0, `${label}: no CSP violations${s.cspViolations.length ? ` (${s.cspViolations.join('; ')})` : ''}`);
}

async function inspectScenario(browser: Browser, base: string, scenario: string, theme: 'dark' | 'light'): Promise<void> {
  const page = (await browser.newPage({ viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 })) as unknown as Page;
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type?.() === 'error') errors.push(m.text?.() ?? ''); });
  page.on('pageerror', (e) => errors.push(e.message ?? String(e)));
  await page.goto(`${base}/?scenario=${scenario}&theme=${theme}&fresh=1`);
  let s = await waitPainted(page);
  check(s.steps > 0 && s.theme === theme, `${scenario}/${theme}: a trace of ${s.steps} characters is shown in the ${s.theme} theme`);

  // select a range in the text strip by dragging (the unit search), hover a character (the tooltip)
  const strip = (await page.locator('#strip').boundingBox())!;
  await page.mouse.move(strip.x + 12 + 8 * 4, strip.y + 12);
  await page.mouse.down();
  await page.mouse.move(strip.x + 12 + 8 * 22, strip.y + 12, { steps: 5 });
  await page.mouse.up();
  if (scenario === 'demo') {
    await page.locator('#reach button.btn-primary').click();
    for (let k = 0; k < 100 && (await snapshot(page)).compare === null; k++) await new Promise((r) => setTimeout(r, 100));
  }
  s = await snapshot(page);
  check(s.search.length > 0, `${scenario}/${theme}: the unit search ranks units for the selection (${s.search.slice(0, 3).map((m) => `u${m.unit} ${m.score.toFixed(2)}`).join(', ')})`);
  if (scenario === 'demo') check(s.compare !== null, `${scenario}/${theme}: the RNN comparison is overlaid`);
  checkCanvases(s, `${scenario}/${theme} inspect`);
  await page.evaluate(() => window.scrollTo(0, 0));
  const at = (await page.locator('#strip').boundingBox())!;
  await page.mouse.move(at.x + 12 + 8 * 30, at.y + 12 + 40);
  await page.screenshot({ path: path.join(OUT, `${scenario}-inspect-${theme}.png`), fullPage: true });

  // keyboard: arrows step the cursor
  await page.locator('#strip').click();
  const before = (await snapshot(page)).view.cursor;
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  check((await snapshot(page)).view.cursor === before + 2, `${scenario}/${theme}: arrow keys step the cursor`);

  if (scenario === 'demo') {
    // the training tab: the recorded run, then a theme switch at runtime repaints everything
    await page.locator('#tab-training').click();
    await new Promise((r) => setTimeout(r, 200));
    s = await snapshot(page);
    check(s.training !== null && s.training.reports > 0, `${scenario}/${theme}: the dashboard shows ${s.training?.reports} progress reports`);
    checkCanvases(s, `${scenario}/${theme} training`);
    await page.screenshot({ path: path.join(OUT, `${scenario}-training-${theme}.png`), fullPage: true });
    await page.locator('#tab-inspect').click();
    const other = theme === 'dark' ? 'light' : 'dark';
    await page.evaluate((k) => (window as unknown as { __host: { setTheme(k: string): void } }).__host.setTheme(k), other);
    await new Promise((r) => setTimeout(r, 300));
    s = await snapshot(page);
    check(s.theme === other, `${scenario}/${theme}: switching to ${other} at runtime is picked up`);
    checkCanvases(s, `${scenario}/${theme}→${other}`);
  }
  check(errors.length === 0, `${scenario}/${theme}: no console errors${errors.length ? ` (${errors.join(' | ')})` : ''}`);
  await (page as unknown as { close(): Promise<void> }).close();
}

/** The live dashboard: the fake host replays the recorded run's reports and samples as deltas after `init`. */
async function live(browser: Browser, base: string, theme: 'dark' | 'light'): Promise<void> {
  const page = (await browser.newPage({ viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 })) as unknown as Page;
  await page.goto(`${base}/?scenario=demo&theme=${theme}&live=1&fresh=1`);
  await page.waitForFunction(() => (window as any).__host !== undefined, undefined, { timeout: 30_000 });
  await new Promise((r) => setTimeout(r, 500));
  let s = await snapshot(page);
  check(s.view.tab === 'training' && s.steps === 0, `live/${theme}: a panel without a trace opens on the Training tab`);
  check(!!s.training && s.training.reports > 3 && !s.training.finished, `live/${theme}: progress arrives as deltas (${s.training?.reports} reports so far)`);
  await page.screenshot({ path: path.join(OUT, `demo-training-live-${theme}.png`), fullPage: true });
  for (let k = 0; k < 100 && !(s.training?.finished); k++) {
    await new Promise((r) => setTimeout(r, 100));
    s = await snapshot(page);
  }
  check(!!s.training?.finished && s.training.samples > 0, `live/${theme}: the run ends with ${s.training?.samples} samples shown`);
  checkCanvases(s, `live/${theme}`);
  await (page as unknown as { close(): Promise<void> }).close();
}

/** The speed targets: every view painted < 0.5 s after the data arrives; hover < 16 ms. */
async function bench(browser: Browser, base: string): Promise<Record<string, unknown>> {
  const page = (await browser.newPage({ viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 })) as unknown as Page;
  const paints: number[] = [];
  for (let run = 0; run < 3; run++) {
    await page.goto(`${base}/?scenario=bench&theme=dark&fresh=1`);
    const s = await waitPainted(page);
    paints.push(s.timings.paintMs!);
    if (run === 0) {
      check(s.steps === 10_000 && s.layers === 2 && s.hidden === 256, `bench: 10,000 characters on a 2 × 256 LSTM (${s.steps}, ${s.layers} × ${s.hidden})`);
      checkCanvases(s, 'bench');
      await page.screenshot({ path: path.join(OUT, 'bench-inspect-dark.png'), fullPage: false });
    }
  }
  // hover: synthetic mouse moves over the strip and a heatmap; the handler's own time (all views updated,
  // synchronously) and the time to the next frame
  const hover = await page.evaluate(async () => {
    const targets = [document.querySelector('.strip')!, document.querySelector('.heatmap-wrap')!, document.querySelector('#trajectories .chart-wrap')!];
    const handler: number[] = [], frame: number[] = [];
    const host = window as unknown as { __host: { getState(): Promise<{ timings: { hoverMs: number | null } }> } };
    for (let k = 0; k < 60; k++) {
      const el = targets[k % targets.length] as HTMLElement;
      const r = el.getBoundingClientRect();
      const x = r.left + 70 + ((k * 37) % Math.max(1, r.width - 90)), y = r.top + 10 + ((k * 13) % Math.max(1, r.height - 20));
      const t0 = performance.now();
      el.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: y, bubbles: true }));
      const t1 = performance.now();
      await new Promise((res) => requestAnimationFrame(() => res(null)));
      frame.push(performance.now() - t0);
      handler.push(t1 - t0);
    }
    const s = await host.__host.getState();
    return { handler, frame, lastHoverMs: s.timings.hoverMs };
  });
  const stats = (a: number[]): { median: number; p95: number; max: number } => {
    const s = [...a].sort((x, y) => x - y);
    return { median: s[Math.floor(s.length / 2)]!, p95: s[Math.floor(s.length * 0.95)]!, max: s[s.length - 1]! };
  };
  const result = { paintMs: paints, hoverHandlerMs: stats(hover.handler), hoverToFrameMs: stats(hover.frame) };
  console.log(`bench: all views painted ${paints.map((p) => p.toFixed(0)).join(', ')} ms after the data arrived (target < 500)`);
  console.log(`bench: hover handler median ${result.hoverHandlerMs.median.toFixed(1)} ms, p95 ${result.hoverHandlerMs.p95.toFixed(1)}, max ${result.hoverHandlerMs.max.toFixed(1)} (target < 16)`);
  console.log(`bench: hover to next frame median ${result.hoverToFrameMs.median.toFixed(1)} ms, p95 ${result.hoverToFrameMs.p95.toFixed(1)}`);
  check(Math.min(...paints) < 500, 'bench: painted in < 0.5 s');
  check(result.hoverHandlerMs.p95 < 16, 'bench: hover response < 16 ms (p95)');
  await (page as unknown as { close(): Promise<void> }).close();
  return result;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  if (!existsSync(path.join(ROOT, 'dist/worker.js'))) {
    const b = spawnSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('build failed (the fixtures need dist/worker.js)');
  }
  const only = args.includes('--only') ? [args[args.indexOf('--only') + 1]!] : ['demo', 'gru', 'rnn'];
  const withBench = !args.includes('--no-bench');
  await warm([...only, ...(withBench ? ['bench'] : [])], (s) => console.log(s));
  const server = await startServer(0, (s) => console.log(s));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    for (const scenario of only) for (const theme of ['dark', 'light'] as const) await inspectScenario(browser, server.url, scenario, theme);
    if (only.includes('demo')) for (const theme of ['dark', 'light'] as const) await live(browser, server.url, theme);
    if (withBench) writeFileSync(path.join(OUT, 'bench.json'), JSON.stringify(await bench(browser, server.url), null, 2));
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(failures.length ? `${failures.length} check(s) failed` : 'all checks passed');
  console.log(`screenshots in ${path.relative(ROOT, OUT)}/`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
