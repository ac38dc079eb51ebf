// check_html.mjs — drives a pyflare HTML report in headless Chromium and reports what it saw.
//
//   node check_html.mjs FILE.html interact REGEX   every view: flame, icicle, table, callers, tree, timeline, search
//   node check_html.mjs FILE.html hostile          use every view, then look for injections
//   node check_html.mjs FILE.html timing           time from navigation to first render
//   node check_html.mjs FILE.html source FUNC [LINE]  the Source tab: FUNC's widest frame (at LINE) hovered (the tooltip's
//                                                  hint), Ctrl-clicked (the jump), clicked (a zoom) then its
//                                                  file:line link in the bar, then shift-clicked; the functions
//                                                  table's file link; every file's rows as shown
//
// Prints one JSON object; tests/formats_visual/run.py judges it.
import { openBrowser, watch, fileUrl, injected } from './common.mjs';

const [file, mode, regex, line] = process.argv.slice(2);
const out = {};
const { ctx, close } = await openBrowser();
const tab = (page, v) => page.click(`#tabs button[data-v=${v}]`);
try {
  const page = await ctx.newPage();
  const state = {};
  watch(page, state);
  const t0 = Date.now();
  await page.goto(fileUrl(file));
  await page.waitForFunction(() => window.pyflare && window.pyflare.ready, null, { timeout: 120000 });
  out.wallMs = Date.now() - t0;
  out.readyMs = await page.evaluate(() => window.pyflare.ready);
  out.nodes = await page.evaluate(() => window.pyflare.nodes);
  out.samples = await page.evaluate(() => window.pyflare.samples);
  const layout = () => page.evaluate(() => window.pyflare.layout());

  if (mode === 'interact' || mode === 'hostile') {
    // Flame graph: hover the widest frame of row 1, read the tooltip.
    let L = await layout();
    const row1 = L.rects.filter((r) => r.depth === 1).sort((a, b) => b.w - a.w)[0];
    await page.mouse.move(row1.x + row1.w / 2, row1.cy);
    out.hover = { label: row1.label, tip: await page.evaluate(() => document.getElementById('tip').hidden ? null : document.getElementById('tip').innerText) };

    // Zoom into a deeper frame; it should span the width, its ancestors greyed.
    let target = L.rects.filter((r) => r.depth >= 2 && r.w > 8 && r.w < L.width - 10).sort((a, b) => b.depth - a.depth || b.w - a.w)[0];
    // A recorded start-up can be 70 frames deep, the graph taller than the
    // window: make the window tall enough first (a click outside it reaches nothing).
    const view = page.viewportSize();
    if (target.cy > view.height - 20) {
      await page.setViewportSize({ width: view.width, height: Math.ceil(target.cy + 100) });
      L = await layout();
      target = L.rects.find((r) => r.node === target.node);
    }
    await page.mouse.click(target.x + target.w / 2, target.cy);
    L = await layout();
    const z = L.rects.find((r) => r.node === target.node);
    out.zoom = { label: target.label, depth: target.depth, before: target.w, after: z ? z.w : -1, width: L.width,
      zoomRoot: L.zoomRoot === target.node, greyed: L.rects.filter((r) => r.grey).length,
      greyedFull: L.rects.filter((r) => r.grey && r.w >= L.width - 1).length };
    await page.click('#reset');
    L = await layout();
    out.reset = { zoomRoot: L.zoomRoot, rootWidth: L.rects.find((r) => r.depth === 0).w, width: L.width };

    // Icicle: the root row is now on top.
    await tab(page, 'icicle');
    L = await layout();
    const root = L.rects.find((r) => r.depth === 0), deeper = L.rects.find((r) => r.depth === 1);
    out.icicle = { rootAbove: root && deeper ? root.cy < deeper.cy : null };
    await tab(page, 'flame');

    // Search: the figure, then the same search seen by the other views.
    if (regex) {
      await page.fill('#search', regex);
      await page.press('#search', 'Enter');
      out.matched = await page.evaluate(() => document.getElementById('matched').textContent);
    }

    // Functions table: sort by self, both ways, and by name.
    await tab(page, 'table');
    const rows = () => page.evaluate(() => [...document.querySelectorAll('#ftable tbody tr')].map((tr) => ({
      f: +tr.dataset.f, name: tr.cells[0].textContent, file: tr.cells[1].textContent, self: tr.cells[2].textContent, total: tr.cells[4].textContent })));
    const num = (s) => parseFloat(s.replace(/,/g, ''));
    out.tableFiltered = (await rows()).length;
    if (regex) {
      await page.fill('#search', '');
      await page.press('#search', 'Enter');
    }
    let r = await rows();
    out.tableRows = r.length;
    const sortedBy = (list, key, desc) => list.every((x, i) => i === 0 || (desc ? key(list[i - 1]) >= key(x) : key(list[i - 1]) <= key(x)));
    out.sort = { defaultSelfDesc: sortedBy(r, (x) => num(x.self), true) };
    await page.click('#ftable th[data-k=self]');
    r = await rows();
    out.sort.selfAsc = sortedBy(r, (x) => num(x.self), false);
    await page.click('#ftable th[data-k=total]');
    r = await rows();
    out.sort.totalDesc = sortedBy(r, (x) => num(x.total), true);
    await page.click('#ftable th[data-k=name]');
    r = await rows();
    out.sort.nameAsc = sortedBy(r, (x) => x.name, false);
    out.functions = r.map((x) => ({ name: x.name, file: x.file, self: num(x.self), total: num(x.total) }));

    // Select the function with the largest total below 100%: read callers and callees.
    await page.click('#ftable th[data-k=total]');
    r = await rows();
    const pick = r.find((x) => num(x.total) < num(r[0].total)) || r[0];
    await page.click(`#ftable tbody tr[data-f="${pick.f}"]`);
    out.selected = await page.evaluate(() => ({
      shown: !document.getElementById('cc').hidden,
      name: document.getElementById('ccname').textContent,
      callers: [...document.querySelectorAll('#callers tbody tr')].map((tr) => [tr.cells[0].textContent, tr.cells[1] ? tr.cells[1].textContent : '']),
      callees: [...document.querySelectorAll('#callees tbody tr')].map((tr) => [tr.cells[0].textContent, tr.cells[1] ? tr.cells[1].textContent : '']),
    }));

    // Call tree: expand a collapsed row.
    await tab(page, 'tree');
    const visible = () => page.evaluate(() => [...document.querySelectorAll('#tree .trow')].filter((e) => e.offsetParent !== null).length);
    const before = await visible();
    const closed = await page.$('#tree .trow:not(.open) > .tline');
    let canExpand = false;
    if (closed) {
      canExpand = await closed.evaluate((e) => e.firstChild.textContent === '\u25b8');
      if (canExpand) await closed.click();
    }
    out.tree = { before, after: await visible(), expanded: canExpand };

    // Timeline: one row per thread.
    await tab(page, 'timeline');
    out.timeline = await page.evaluate(() => ({
      rows: [...document.querySelectorAll('#tl .tlrow')].map((e) => e.textContent),
      canvas: !!document.getElementById('tlc'),
      empty: (document.querySelector('#tl .empty') || { textContent: '' }).textContent,
    }));
    if (out.timeline.canvas) {
      const b = await page.evaluate(() => { const r = document.getElementById('tlc').getBoundingClientRect(); return [r.x, r.y, r.width]; });
      await page.mouse.move(b[0] + b[2] / 2, b[1] + 11);
    }
    if (mode === 'hostile') {
      await page.fill('#search', 'script|img|alert');
      await page.press('#search', 'Enter');
      for (const v of ['flame', 'icicle', 'table', 'tree', 'timeline']) await tab(page, v);
      out.title = await page.evaluate(() => document.title);
      out.h1 = await page.evaluate(() => document.querySelector('h1').textContent);
    }
  }
  if (mode === 'source') {
    let L = await layout();
    // FUNC's widest frame (at LINE when given: a function's frames are its lines)
    const frames = L.rects.filter((r) => r.label.startsWith(regex + ' (') && !r.grey &&
      (!line || r.label.endsWith(':' + line + ')'))).sort((a, b) => b.w - a.w);
    const view = page.viewportSize();
    if (frames.length && frames[0].cy > view.height - 20) {
      await page.setViewportSize({ width: view.width, height: Math.ceil(frames[0].cy + 100) });
      L = await layout();
    }
    const f = L.rects.find((r) => r.node === (frames[0] || {}).node);
    out.clicked = f ? f.label : null;
    const shown = () => page.evaluate(() => {
      const sel = document.querySelector('table.stab tr.sel');
      const r = sel ? sel.getBoundingClientRect() : null;
      return { sourceVisible: !document.getElementById('v-source').hidden, selected: sel ? sel.id : null,
        selectedText: sel ? sel.cells[3].textContent : null, hot: sel ? sel.classList.contains('hot') : null,
        inView: r ? r.top >= 0 && r.bottom <= window.innerHeight : null };
    });
    if (f) {
      // hovering: the tooltip says what a click and a Ctrl-click do
      await page.mouse.move(f.x + f.w / 2, f.cy);
      out.tip = await page.evaluate(() => document.getElementById('tip').hidden ? null : document.getElementById('tip').innerText);
      // Ctrl-click: straight to the frame's line, no zoom on the way
      await page.keyboard.down('Control');
      await page.mouse.click(f.x + f.w / 2, f.cy);
      await page.keyboard.up('Control');
      out.afterCtrl = await shown();
      out.afterCtrl.zoomRoot = (await layout()).zoomRoot;
      // Scroll the source away, then back to the flame graph for the plain click
      await page.evaluate(() => window.scrollTo(0, 0));
      await tab(page, 'flame');
      await page.mouse.click(f.x + f.w / 2, f.cy);
      out.link = await page.evaluate(() => { const b = document.getElementById('srcgo'); return b.hidden ? null : b.textContent; });
      await page.click('#srcgo');
      out.afterLink = await shown();
      await tab(page, 'flame');
      await page.click('#reset');
      L = await layout();
      const g = L.rects.find((r) => r.node === f.node);
      await page.keyboard.down('Shift');
      await page.mouse.click(g.x + g.w / 2, g.cy);
      await page.keyboard.up('Shift');
      out.afterShift = await shown();
    }
    // the function table: select the function, follow its source link (its hottest line)
    await tab(page, 'table');
    const fnRow = await page.evaluate((name) => { const tr = [...document.querySelectorAll('#ftable tbody tr')].find((t) => t.cells[0].textContent === name); return tr ? tr.dataset.f : null; }, regex);
    if (fnRow) {
      await page.click(`#ftable tbody tr[data-f="${fnRow}"]`);
      await page.click('#ccsrc');
      out.afterTable = await shown();
      // the row's file is a link too: the same line
      await page.evaluate(() => window.scrollTo(0, 0));
      await tab(page, 'table');
      const link = await page.$(`#ftable tbody tr[data-f="${fnRow}"] td.file a`);
      if (link) {
        await link.click();
        out.afterTableLink = await shown();
      }
    }
    // the timeline: a sample of FUNC (found by hovering along the rows) clicked: its line
    await page.evaluate(() => window.scrollTo(0, 0));
    await tab(page, 'timeline');
    const tl = await page.evaluate(() => { const c = document.getElementById('tlc'); if (!c) return null; const b = c.getBoundingClientRect(); return { x: b.left, y: b.top, w: b.width, h: b.height }; });
    if (tl) {
      search: for (let y = tl.y + 11; y < tl.y + tl.h; y += 22) {
        for (let x = tl.x + 1; x < tl.x + tl.w; x += 3) {
          await page.mouse.move(x, y);
          const t = await page.evaluate(() => document.getElementById('tip').hidden ? null : document.getElementById('tip').innerText);
          if (t && t.startsWith(regex + ' (')) {
            await page.mouse.click(x, y);
            out.timeline = { label: t.split('\n')[0], tip: t, ...(await shown()) };
            break search;
          }
        }
      }
    }
    await tab(page, 'source');
    // open every file, then read what each shows
    await page.evaluate(() => document.querySelectorAll('details.sfile').forEach((d) => { d.open = true; }));
    await page.waitForFunction(() => [...document.querySelectorAll('details.sfile')].every((d) => d.querySelector('table.stab')));
    out.files = await page.evaluate(() => [...document.querySelectorAll('details.sfile')].map((d) => ({
      name: d.querySelector('summary').firstChild.textContent,
      summary: d.querySelector('summary').textContent,
      note: (d.querySelector('.note') || { textContent: '' }).textContent,
      hot: (d.querySelector('tr.hot') || { id: '' }).id.split('-').pop(),
      gaps: [...d.querySelectorAll('table.stab tr.gap')].map((tr) => tr.textContent),
      rows: [...d.querySelectorAll('table.stab tr:not(.gap)')].map((tr) => ({ line: +tr.cells[2].textContent,
        own: +(tr.dataset.own || 0), total: +(tr.dataset.total || 0), code: tr.cells[3].textContent })),
    })));
    out.hottest = await page.evaluate(() => [...document.querySelectorAll('#shot a')].map((a) => a.textContent));
    out.pwned = await page.evaluate(() => window.PWNED === undefined ? null : String(window.PWNED));
  }
  out.injected = await injected(page);
  out.dialogs = state.dialogs;
  out.errors = state.errors;
} finally {
  await close();
}
console.log(JSON.stringify(out));
