// check_svg.mjs — drives a pyflare flame graph SVG in headless Chromium and reports what it saw.
//
//   node check_svg.mjs FILE.svg interact REGEX   hover, zoom, reset, search
//   node check_svg.mjs FILE.svg hostile          hover and click everything, then look for injections
//
// Prints one JSON object; tests/formats_visual/run.py judges it.
import { openBrowser, watch, fileUrl, injected } from './common.mjs';

const [file, mode, regex] = process.argv.slice(2);
const out = {};
const { ctx, close } = await openBrowser();
try {
  const page = await ctx.newPage();
  const state = {};
  watch(page, state);
  await page.goto(fileUrl(file));
  await page.waitForFunction(() => window.pyflare && window.pyflare.frames);

  // Frames as the script sees them: row (depth), exact start and weight.
  const frames = () => page.evaluate(() => window.pyflare.frames.map((f, i) => {
    const b = f.r.getBoundingClientRect();
    return { i, d: f.d, s: f.s, n: f.n, m: f.m, cls: f.g.getAttribute('class') || '', shown: f.g.style.display !== 'none',
      w: +f.r.getAttribute('width'), x: +f.r.getAttribute('x'), cx: b.x + b.width / 2, cy: b.y + b.height / 2, bw: b.width,
      title: (f.ti || f.g.getElementsByTagName('title')[0] || { textContent: '' }).textContent };
  }));
  let fr = await frames();
  out.frames = fr.length;

  if (mode === 'interact') {
    // Hover the widest frame of row 1 and read the tooltip.
    const row1 = fr.filter((f) => f.d === 1 && !f.m).sort((a, b) => b.w - a.w)[0];
    await page.mouse.move(row1.cx, row1.cy);
    out.hover = { title: row1.title, n: row1.n };
    out.tooltip = await page.evaluate(() => {
      const t = document.getElementById('tip');
      return { shown: t.style.display !== 'none', lines: [...t.querySelectorAll('tspan')].map((s) => s.textContent) };
    });

    // Zoom into a frame two rows up that is narrower than the full width.
    const target = fr.filter((f) => f.d >= 2 && !f.m && f.bw > 4 && f.w < 1100).sort((a, b) => b.d - a.d || b.w - a.w)[0];
    out.zoom = { target: target.i, depth: target.d, before: target.w };
    await page.mouse.click(target.cx, target.cy);
    fr = await frames();
    const t2 = fr[target.i];
    const ancestors = fr.filter((f) => f.d < target.d && f.s <= target.s && f.s + f.n >= target.s + target.n);
    const outside = fr.filter((f) => f.d >= target.d && (f.s + f.n <= target.s || f.s >= target.s + target.n));
    out.zoom.after = t2.w;
    out.zoom.ancestors = ancestors.length;
    out.zoom.ancestorsGreyed = ancestors.filter((f) => f.shown && /\ba\b/.test(f.cls) && f.w > 1179).length;
    out.zoom.outsideShown = outside.filter((f) => f.shown).length;
    out.zoom.resetShown = await page.evaluate(() => document.getElementById('rz').style.display !== 'none');
    await page.click('#rz');
    fr = await frames();
    out.reset = { width: fr[target.i].w, greyed: fr.filter((f) => /\ba\b/.test(f.cls)).length,
      hidden: fr.filter((f) => !f.shown).length };

    // Search through the button's prompt, as a user would.
    state.promptAnswer = regex;
    await page.click('#sb');
    await page.waitForFunction(() => document.getElementById('m').textContent !== '');
    out.matched = await page.evaluate(() => document.getElementById('m').textContent);
    out.highlighted = await page.evaluate(() => [...document.querySelectorAll('#f rect')].filter((r) => r.getAttribute('fill') === '#e040e0').length);
  } else {
    // Hover and click everything a user could, then look for side effects.
    for (const f of fr.slice(0, 300)) {
      if (f.bw < 1) continue;
      await page.mouse.move(f.cx, f.cy);
    }
    for (const f of fr.filter((g) => g.bw > 2).slice(0, 20)) {
      await page.mouse.click(f.cx, f.cy);
      await page.keyboard.press('Escape');
    }
    out.titles = fr.map((f) => f.title.split('\n')[0]);
  }
  out.injected = await injected(page);
  out.dialogs = state.dialogs;
  out.errors = state.errors;
} finally {
  await close();
}
console.log(JSON.stringify(out));
