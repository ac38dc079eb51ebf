// common.mjs — starts Debian's Chromium headless through playwright-core, for the browser checks.
//
// Each check script prints one JSON object of observations on stdout; the
// Python suite (tests/formats_visual/run.py) decides pass or fail, so the
// expectations live next to the data they are computed from.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { chromium } from 'playwright-core';

export async function openBrowser() {
  // A fresh profile directory each run: no state leaks between checks.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyflare-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const close = async () => {
    await ctx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { ctx, close };
}

// Records every dialog and page error; dialogs we did not ask for are dismissed.
export function watch(page, state) {
  state.dialogs = [];
  state.errors = [];
  state.promptAnswer = null;
  page.on('dialog', async (d) => {
    state.dialogs.push({ type: d.type(), message: d.message() });
    if (d.type() === 'prompt' && state.promptAnswer !== null) {
      const a = state.promptAnswer;
      state.promptAnswer = null;
      await d.accept(a);
    } else await d.dismiss();
  });
  page.on('pageerror', (e) => state.errors.push(String(e.message || e)));
}

export function fileUrl(p) {
  return 'file://' + path.resolve(p);
}

// Whatever markup a hostile name might have injected.
export async function injected(page) {
  return page.evaluate(() => ({
    img: document.querySelectorAll('img').length,
    scripts: document.querySelectorAll('script').length,
    onattrs: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name))).length,
    bold: document.querySelectorAll('b').length,
  }));
}
