// Locators and small retrying actions for VS Code's web workbench (code-server 4.100.3 = VS Code 1.100.3), for E2E
// scenarios run by e2e.mjs. Every helper takes the playwright `page` first; e2e.mjs also hands scenarios a `wb`
// object with these already bound to the page (wb.runCommand('Gatescope: Train Model')).
//
// Why the retries: the workbench UI is up before the remote extension host has registered the extension's
// commands and menu contributions, so "open the menu once and click" races. The helpers re-open the palette/menu
// until the entry shows or the timeout passes.

const DEFAULT_TIMEOUT = 60000;

function escapeRegExp(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
const exactText = (s) => new RegExp(`^\\s*${escapeRegExp(s)}\\s*$`);

/**
 * Waits until the workbench is usable: the shell is rendered, the status bar is up, and — when a folder is open —
 * the Explorer shows the folder's entries (which also means the connection to the server's file system works).
 */
export async function waitForWorkbench(page, { timeout = DEFAULT_TIMEOUT, folderOpen = true } = {}) {
  await page.locator('.monaco-workbench').waitFor({ timeout });
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout });
  if (folderOpen) await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout });
}

/** Explorer row whose file/folder name is exactly `name` (not a row that merely contains it). */
export function explorerRow(page, name) {
  return page.locator('.explorer-folders-view .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactText(name) }) });
}

/** Status bar entry containing `text` (e.g. the extension's own "ready" item). */
export function statusBarItem(page, text) {
  return page.locator('.statusbar-item', { hasText: text });
}

/** Notification toast containing `text` (vscode.window.showInformationMessage & co.). */
export function notification(page, text) {
  return page.locator('.notification-toast', { hasText: text });
}

/** Editor tab whose label contains `title`; `{ active: true }` for the active tab only. */
export function editorTab(page, title, { active = false } = {}) {
  return page.locator(active ? '.tab.active' : '.tab', { hasText: title });
}

/**
 * The content frame of a webview (panel or view). Webviews are an outer iframe (`iframe.webview.ready`, VS Code's
 * webview host page) wrapping `#active-frame` (the extension's HTML). `index` counts from the last one created.
 */
export function webviewFrame(page, { index = 0 } = {}) {
  const outer = page.locator('iframe.webview.ready');
  const frame = index === 0 ? outer.last() : outer.nth(-1 - index);
  return frame.contentFrame().locator('#active-frame').contentFrame();
}

/** The outer iframe element of the last webview (for element screenshots). */
export function webviewElement(page) {
  return page.locator('iframe.webview.ready').last();
}

/**
 * Right-clicks `target` and returns the context-menu entry named `name`, re-opening the menu until the entry exists.
 * The web workbench draws its menus in HTML, so they are ordinary role=menuitem elements.
 * NB: menus show a command's bare `title` ('Train LSTM on File'), while the Command Palette shows
 * '<category>: <title>' ('Gatescope: Train LSTM on File').
 */
export async function contextMenuItem(page, target, name, { timeout = DEFAULT_TIMEOUT } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    await target.click({ button: 'right' });
    const item = page.getByRole('menuitem', { name, exact: true });
    try {
      await item.waitFor({ timeout: 3000 });
      return item;
    } catch (e) {
      if (Date.now() > end) throw new Error(`context menu entry "${name}" did not appear within ${timeout} ms`, { cause: e });
      await page.keyboard.press('Escape');
      await page.waitForTimeout(500);
    }
  }
}

/**
 * Right-click `target` and click the entry `name`. The workbench's menus ignore a click that arrives while the menu
 * is still settling, so the click is checked by the menu closing; if it stays open, the entry (which the pointer has
 * focused) is chosen with Enter.
 */
export async function runContextMenuCommand(page, target, name, opts) {
  const item = await contextMenuItem(page, target, name, opts);
  await item.hover();
  await item.click();
  try {
    await item.waitFor({ state: 'detached', timeout: 2000 });
  } catch {
    await item.focus();
    await page.keyboard.press('Enter');
    await item.waitFor({ state: 'detached', timeout: 5000 });
  }
}

/**
 * Runs a command by its title from the Command Palette (F1, type, Enter). Retries until the command is listed, which
 * also covers the extension not being registered yet.
 * @param {string} title  the title as shown in the palette, e.g. 'Gatescope: Train LSTM on File' (category + title).
 *   Commands hidden by a `commandPalette` menu entry with `when: false` never show up here.
 */
export async function runCommand(page, title, { timeout = DEFAULT_TIMEOUT } = {}) {
  const end = Date.now() + timeout;
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactText(title) }) }).first();
  for (;;) {
    // make sure the keyboard focus is in the workbench, not in a webview iframe that would swallow F1
    if (!(await input.isVisible().catch(() => false))) await page.keyboard.press('F1');
    await input.waitFor({ timeout: 10000 });
    await input.fill(`>${title}`);
    try {
      await row.waitFor({ timeout: 3000 });
      await row.click();
      return;
    } catch (e) {
      if (Date.now() > end) throw new Error(`command "${title}" not found in the Command Palette within ${timeout} ms`, { cause: e });
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1000);
    }
  }
}

/** Opens a workspace file through Quick Open (Ctrl+P), which works whether or not the Explorer shows it. */
export async function openFile(page, relativePath, { timeout = DEFAULT_TIMEOUT } = {}) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10000 });
  await input.fill(relativePath);
  const base = relativePath.split('/').pop();
  await page.locator('.quick-input-list .monaco-list-row', { hasText: base }).first().waitFor({ timeout });
  await page.keyboard.press('Enter');
  await editorTab(page, base, { active: true }).waitFor({ timeout });
  // the tab shows before the text model arrives from the server: wait for the editor to render its lines
  await activeEditorLines(page).first().waitFor({ timeout });
}

/** The rendered text lines of the active text editor (`.view-line` elements, one per visible line). */
export function activeEditorLines(page) {
  return page.locator('.editor-group-container.active .monaco-editor .view-lines .view-line');
}

/** All helpers bound to one page: `const wb = bind(page); await wb.runCommand('...')`. */
export function bind(page) {
  return {
    waitForWorkbench: (o) => waitForWorkbench(page, o),
    explorerRow: (name) => explorerRow(page, name),
    statusBarItem: (text) => statusBarItem(page, text),
    notification: (text) => notification(page, text),
    editorTab: (title, o) => editorTab(page, title, o),
    webviewFrame: (o) => webviewFrame(page, o),
    webviewElement: () => webviewElement(page),
    contextMenuItem: (target, name, o) => contextMenuItem(page, target, name, o),
    runContextMenuCommand: (target, name, o) => runContextMenuCommand(page, target, name, o),
    runCommand: (title, o) => runCommand(page, title, o),
    openFile: (p, o) => openFile(page, p, o),
    activeEditorLines: () => activeEditorLines(page),
  };
}
