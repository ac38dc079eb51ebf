/* report.js — the script of the html report (html.c embeds it, see
 * src/output/assets.h): reads the profile from the page's JSON block
 * (#pf-data) and draws the flame graph, icicle, function table, call tree and
 * timeline. Names from the profile are shown only through textContent or
 * canvas text, never parsed as markup. Checked by `node --check`
 * (tests/assets). */
(function () {
'use strict';
var $ = function (id) { return document.getElementById(id); };
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
var D = JSON.parse($('pf-data').textContent);
/* Control characters in names would draw as boxes or break lines. */
var S = D.strings.map(function (s) { return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd'); });
function fail(msg) {
  var m = el('p', 'empty', msg);
  document.querySelector('main').textContent = '';
  document.querySelector('main').appendChild(m);
}
/* The tree and the samples come as one deflated block of varints; the
 * source texts (Source tab) as another. */
function inflate(b64) {
  var bin = atob(b64 || ''), raw = new Uint8Array(bin.length);
  for (var b = 0; b < bin.length; b++) raw[b] = bin.charCodeAt(b);
  bin = null;
  if (!raw.length) return Promise.resolve(raw);
  var ds = new DecompressionStream('deflate'), wr = ds.writable.getWriter(), rd = ds.readable.getReader(), parts = [], got = 0;
  wr.write(raw).catch(function () {}); wr.close().catch(function () {});
  var pump = function (r) {
    if (r.done) {
      var all = new Uint8Array(got), at = 0;
      for (var k = 0; k < parts.length; k++) { all.set(parts[k], at); at += parts[k].length; }
      return all;
    }
    parts.push(r.value); got += r.value.length;
    return rd.read().then(pump);
  };
  return rd.read().then(pump);
}
if (typeof DecompressionStream === 'undefined') fail('This browser cannot open the page: it lacks DecompressionStream (use a current Chromium, Firefox or Safari).');
else {
  Promise.all([inflate(D.bin), inflate(D.srcbin)]).then(function (r) { main(r[0], r[1]); })
    .catch(function (e) { fail('The profile data is damaged: ' + e); });
}

function main(B, SRC) {
var N = D.n, NS = D.ns, pos = 0;
function vi() { var x = B[pos++], v = x & 127, m = 128; while (x & 128) { x = B[pos++]; v += (x & 127) * m; m *= 128; } return v; }
function zz(v) { return v % 2 ? -(v + 1) / 2 : v / 2; }
var self = new Float64Array(N), par = new Int32Array(N), frm = new Int32Array(N);
var tot = new Float64Array(N), size = new Int32Array(N), dep = new Int32Array(N);
var SM = { dt: new Float64Array(NS), node: new Int32Array(NS), thread: new Int32Array(NS) };
var i, j;
for (i = 0; i < N; i++) self[i] = vi();
var bad = 0;
for (i = 1; i < N; i++) { par[i] = i - vi(); frm[i] = vi(); if (par[i] < 0 || frm[i] >= D.frames.func.length) bad = 1; }
var lastNode = new Int32Array(D.threads.name.length + 1);
for (i = 0; i < NS; i++) {
  SM.dt[i] = zz(vi());
  var th = SM.thread[i] = Math.min(vi(), D.threads.name.length);
  SM.node[i] = lastNode[th] = lastNode[th] + zz(vi());
  if (SM.node[i] < 0 || SM.node[i] >= N) bad = 1;
}
if (bad || pos !== B.length) { fail('The profile data is damaged (wrong size).'); return; }
var NSU = D.unit === 'nanoseconds';
var fnName = D.funcs.name, fnFile = D.funcs.file, fnKind = D.funcs.kind, fnKnown = D.funcs.origin, NF = fnName.length;
/* The writer's enums (pf_func_kind, pf_origin) by name: no value is written here. */
var K = D.enums.kind, O = D.enums.origin, LG = D.enums.legend;
var frFunc = D.frames.func, frLine = D.frames.line, NFR = frFunc.length;
/* Nodes come in preorder: a subtree is the range [i, i + size[i]). */
for (i = N - 1; i > 0; i--) { tot[i] += self[i]; size[i] += 1; tot[par[i]] += tot[i]; size[par[i]] += size[i]; }
if (N) { tot[0] += self[0]; size[0] += 1; }
var maxDep = 0;
for (i = 1; i < N; i++) { dep[i] = dep[par[i]] + 1; if (dep[i] > maxDep) maxDep = dep[i]; }
var T = N ? tot[0] : 0;
var nodeFn = new Int32Array(N);
for (i = 1; i < N; i++) nodeFn[i] = frFunc[frm[i]];

/* ---- names, places, colours ---- */
var frLab = new Array(NFR), fnLab = new Array(NF);
/* Synthetic frames (thread, process, <idle>) have no place. */
function place(f) { var kind = fnKind[f]; return kind === K.thread || kind === K.process || kind === K.other ? '' : S[fnFile[f]]; }
function frameLabel(fr) {
  if (fr === 0) return 'all';
  var s = frLab[fr];
  if (s === undefined) {
    var f = frFunc[fr], file = place(f);
    s = file ? S[fnName[f]] + ' (' + file + (frLine[fr] > 0 ? ':' + frLine[fr] : '') + ')' : S[fnName[f]];
    frLab[fr] = s;
  }
  return s;
}
function funcLabel(f) {
  var s = fnLab[f];
  if (s === undefined) { var file = place(f); s = fnLab[f] = file ? S[fnName[f]] + ' (' + file + ')' : S[fnName[f]]; }
  return s;
}
function nodeLabel(i) { return i === 0 ? 'all' : frameLabel(frm[i]); }
function hash(s) { var h = 2166136261; for (var k = 0; k < s.length; k++) { h ^= s.charCodeAt(k); h = Math.imul(h, 16777619); } return h >>> 0; }
var ORIGINS = D.legend; /* the legend's names, as report/legend.h counts them */
function origin(f) { return fnKnown[f]; } /* the legend entry, decided in C (report/legend.c) */
var fnColour = new Array(NF), fnOrigin = new Int8Array(NF);
function colour(f) {
  var c = fnColour[f];
  if (c === undefined) {
    var h = hash(S[fnName[f]]), a = (h & 255) / 255, b = (h >>> 8 & 255) / 255, o = fnOrigin[f] = origin(f), r, g, bl;
    if (o === LG.own) { r = 225 + a * 30; g = 95 + b * 100; bl = 50 + a * 30; }
    else if (o === LG.stdlib) { r = 95 + b * 45; g = 150 + a * 45; bl = 215 + b * 35; }
    else if (o === LG.third_party) { r = 110 + a * 55; g = 190 + b * 40; bl = 95 + a * 45; }
    else if (o === LG.native) { r = 190 + a * 30; g = 175 + a * 30; bl = 130 + b * 35; }
    else if (o === LG.root) { r = 175 + a * 30; g = 150 + b * 30; bl = 220 + a * 30; }
    else { r = g = bl = 195 + a * 20; }
    c = fnColour[f] = [r | 0, g | 0, bl | 0];
  }
  return c;
}
function css(c) { return 'rgb(' + c[0] + ',' + c[1] + ',' + c[2] + ')'; }
function num(n) { return Math.round(n).toLocaleString('en-US'); }
function wt(n) {
  if (!NSU) return num(n) + (n === 1 ? ' sample' : ' samples');
  return n >= 1e9 ? (n / 1e9).toFixed(2) + ' s' : n >= 1e6 ? (n / 1e6).toFixed(2) + ' ms' : n >= 1e3 ? (n / 1e3).toFixed(2) + ' us' : n + ' ns';
}
function pct(n, of) { return (of ? 100 * n / of : 0).toFixed(2) + '%'; }

/* ---- search, shared by every view ---- */
var re = null, frMatch = null, nodeMatch = null, stackMatch = null, matchedW = 0;
function applySearch(text) {
  re = null; frMatch = nodeMatch = stackMatch = null;
  var m = $('matched');
  if (text) {
    try { re = new RegExp(text); } catch (e) { m.textContent = 'invalid regular expression'; re = null; }
  }
  if (re) {
    frMatch = new Int8Array(NFR);
    for (var k = 1; k < NFR; k++) frMatch[k] = re.test(frameLabel(k)) ? 1 : 0;
    nodeMatch = new Int8Array(N); stackMatch = new Int8Array(N); matchedW = 0;
    for (var n = 1; n < N; n++) {
      nodeMatch[n] = frMatch[frm[n]];
      stackMatch[n] = nodeMatch[n] || stackMatch[par[n]];
      if (stackMatch[n]) matchedW += self[n];
    }
    m.textContent = 'Matched: ' + pct(matchedW, T);
  } else if (!text) m.textContent = '';
  dirty = { flame: 1, table: 1, tree: 1, timeline: 1 };
  render();
}

/* ---- flame graph and icicle (one canvas) ---- */
var ROWH = 18, zoomRoot = 0, rowsHit = [], charW = 7;
var cv = $('flame'), ctx = cv.getContext('2d'), tip = $('tip');
function drawFlame(inverted) {
  var wrap = $('fwrap'), W = Math.max(200, wrap.clientWidth - 2), dpr = window.devicePixelRatio || 1;
  var rects = [], z = zoomRoot, zt = tot[z], zd = dep[z], maxRow = zd;
  rowsHit = [];
  if (!T) { cv.width = W; cv.height = 40; ctx.font = '14px sans-serif'; ctx.fillText('No samples', 10, 24); return; }
  /* ancestors of the zoomed frame: full width, greyed */
  if (z !== 0) for (var a = par[z]; ; a = par[a]) { rects.push(a, 0, W, dep[a], 1); if (a === 0) break; }
  /* breadth first, so each row's frames come out left to right for hit testing */
  var k2 = W / zt, qN = [z], qX = [0];
  for (var h = 0; h < qN.length; h++) {
    var n = qN[h], x = qX[h], d = dep[n];
    rects.push(n, x, tot[n] * k2, d, 0);
    if (d > maxRow) maxRow = d;
    if (d - zd > 1800) continue; /* a canvas cannot be taller */
    var end = n + size[n];
    for (var c = n + 1; c < end; c += size[c]) {
      var w = tot[c] * k2;
      if (w >= 0.3) { qN.push(c); qX.push(x); }
      x += w;
    }
  }
  var H = (maxRow + 1) * ROWH;
  cv.style.width = W + 'px'; cv.style.height = H + 'px';
  cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.font = '12px Verdana, sans-serif'; ctx.textBaseline = 'middle';
  charW = ctx.measureText('abcdefghijklmnopqrstuvwxyz_.()').width / 30;
  for (var r = 0; r <= maxRow; r++) rowsHit.push([]);
  for (var q = 0; q < rects.length; q += 5) {
    var node = rects[q], rx = rects[q + 1], rw = rects[q + 2], row = rects[q + 3], grey = rects[q + 4];
    var y = inverted ? row * ROWH : (maxRow - row) * ROWH;
    var col = node === 0 ? [200, 200, 200] : colour(nodeFn[node]);
    if (nodeMatch && nodeMatch[node]) col = [224, 64, 224];
    ctx.globalAlpha = grey ? 0.45 : 1;
    ctx.fillStyle = css(col);
    ctx.fillRect(rx, y, Math.max(rw - 0.5, 0.3), ROWH - 1);
    rowsHit[row].push(rx, rw, node);
    var chars = Math.floor((rw - 6) / charW);
    if (chars >= 3) {
      var lab = nodeLabel(node);
      if (lab.length > chars) lab = lab.slice(0, chars - 2) + '..';
      ctx.fillStyle = '#000';
      ctx.fillText(lab, rx + 3, y + ROWH / 2);
    }
  }
  ctx.globalAlpha = 1;
  cv.dataset.rows = String(maxRow + 1);
  cv.dataset.inverted = inverted ? '1' : '0';
  $('reset').disabled = zoomRoot === 0;
  $('crumb').textContent = zoomRoot ? 'zoomed: ' + nodeLabel(zoomRoot) + ' (' + pct(tot[zoomRoot], T) + ' of all)' : '';
  var sl = zoomRoot ? srcPlace(frm[zoomRoot]) : null;
  $('srcgo').hidden = !sl;
  if (sl) { $('srcgo').textContent = sl + ' \u2197'; $('srcgo').title = 'show ' + sl + ' in the Source tab'; }
}
function flameHit(e) {
  var b = cv.getBoundingClientRect(), x = e.clientX - b.left, y = e.clientY - b.top;
  var rows = rowsHit.length, r = Math.floor(y / ROWH);
  if (cv.dataset.inverted !== '1') r = rows - 1 - r;
  var L = rowsHit[r];
  if (!L) return -1;
  var lo = 0, hi = L.length / 3 - 1;
  while (lo <= hi) {
    var mid = (lo + hi) >> 1, x0 = L[mid * 3], w = L[mid * 3 + 1];
    if (x < x0) hi = mid - 1; else if (x >= x0 + w) lo = mid + 1; else return L[mid * 3 + 2];
  }
  return -1;
}
function showTip(e, lines, hint) {
  tip.textContent = '';
  for (var k = 0; k < lines.length; k++) tip.appendChild(el('div', k ? '' : 'tn', lines[k]));
  if (hint) tip.appendChild(el('div', 'th', hint));
  tip.hidden = false;
  var x = e.clientX + 14, y = e.clientY + 16, r = tip.getBoundingClientRect();
  if (x + r.width > window.innerWidth) x = Math.max(0, e.clientX - r.width - 10);
  if (y + r.height > window.innerHeight) y = Math.max(0, e.clientY - r.height - 10);
  tip.style.left = x + 'px'; tip.style.top = y + 'px';
}
function nodeTip(e, n) {
  var lines = [];
  if (n === 0) lines.push('all');
  else {
    var f = nodeFn[n], file = place(f), fr = frm[n];
    lines.push(S[fnName[f]]);
    if (file) lines.push(file + (frLine[fr] > 0 ? ':' + frLine[fr] : ''));
  }
  lines.push(wt(tot[n]) + ', ' + pct(tot[n], T) + ' of all' + (zoomRoot ? ', ' + pct(tot[n], tot[zoomRoot]) + ' of zoomed' : ''));
  lines.push('self: ' + wt(self[n]) + ' (' + pct(self[n], T) + ')');
  showTip(e, lines, n && srcPlace(frm[n]) ? 'click: zoom \u00b7 ' + JUMP_KEYS + ': its line in Source' : 'click: zoom');
}
cv.addEventListener('mousemove', function (e) { var n = flameHit(e); if (n < 0) tip.hidden = true; else nodeTip(e, n); });
cv.addEventListener('mouseleave', function () { tip.hidden = true; });
/* A plain click zooms (as in every flame graph); with Ctrl (the Mac's Cmd) or
 * Shift held it opens the frame's own line in the Source tab, as a modified
 * click follows a link in an editor. A zoomed frame's file:line is a link in
 * the bar above the graph too. */
var JUMP_KEYS = /Mac|iPhone|iPad/.test(navigator.platform || '') ? '\u2318-click' : 'Ctrl-click';
function jumpClick(e) { return e.ctrlKey || e.metaKey || e.shiftKey; }
cv.addEventListener('click', function (e) {
  var n = flameHit(e);
  if (n < 0) return;
  if (jumpClick(e) && n && srcPlace(frm[n])) { showSource(frm[n]); return; }
  zoomRoot = n === zoomRoot ? (n ? par[n] : 0) : n;
  dirty.flame = 1; render();
});
$('srcgo').addEventListener('click', function (e) { e.preventDefault(); if (zoomRoot) showSource(frm[zoomRoot]); });
$('reset').addEventListener('click', function () { zoomRoot = 0; dirty.flame = 1; render(); });

/* ---- functions table, callers and callees ---- */
var fSelf = null, fTot = null, sortKey = 'self', sortDesc = true, selFn = -1;
function funcTotals() {
  if (fSelf) return;
  fSelf = new Float64Array(NF); fTot = new Float64Array(NF);
  /* total counts a function once per stack even when it recurses */
  var open = new Int32Array(NF), st = [];
  for (var n = 1; n < N; n++) {
    while (st.length && st[st.length - 1] + size[st[st.length - 1]] <= n) open[nodeFn[st.pop()]]--;
    var f = nodeFn[n];
    fSelf[f] += self[n];
    if (!open[f]) fTot[f] += tot[n];
    open[f]++; st.push(n);
  }
}
function drawTable() {
  funcTotals();
  var rows = [];
  for (var f = 1; f < NF; f++) if (fTot[f] > 0 && (!re || re.test(funcLabel(f)))) rows.push(f);
  var key = sortKey, sign = sortDesc ? -1 : 1;
  rows.sort(function (a, b) {
    var x, y;
    if (key === 'name') { x = S[fnName[a]]; y = S[fnName[b]]; }
    else if (key === 'file') { x = place(a); y = place(b); }
    else if (key === 'self') { x = fSelf[a]; y = fSelf[b]; }
    else { x = fTot[a]; y = fTot[b]; }
    return x < y ? -sign : x > y ? sign : a - b;
  });
  var tb = $('ftable').tBodies[0], shown = Math.min(rows.length, 2000);
  tb.textContent = '';
  var frag = document.createDocumentFragment();
  for (var k = 0; k < shown; k++) {
    var fn = rows[k], tr = el('tr');
    tr.dataset.f = String(fn);
    if (fn === selFn) tr.className = 'sel';
    var sw = el('span', 'sw'); sw.style.background = css(colour(fn));
    var td = el('td', 'name'); td.appendChild(sw); td.appendChild(document.createTextNode(S[fnName[fn]]));
    tr.appendChild(td);
    var fileCell = el('td', 'file'), hotFr = funcHotFrame(fn);
    if (hotFr > 0) { /* the function's hottest line, one click away */
      var a = el('a', 'sgo', place(fn)); a.dataset.fr = String(hotFr); a.title = 'its hottest line in the Source tab';
      fileCell.appendChild(a);
    } else fileCell.textContent = place(fn);
    tr.appendChild(fileCell);
    tr.appendChild(el('td', 'n', wt(fSelf[fn])));
    tr.appendChild(el('td', 'n', pct(fSelf[fn], T)));
    tr.appendChild(el('td', 'n', wt(fTot[fn])));
    tr.appendChild(el('td', 'n', pct(fTot[fn], T)));
    frag.appendChild(tr);
  }
  tb.appendChild(frag);
  $('tcount').textContent = shown < rows.length ? 'showing ' + shown + ' of ' + rows.length + ' functions' : rows.length + ' functions';
  var ths = $('ftable').tHead.rows[0].cells;
  for (k = 0; k < ths.length; k++) ths[k].className = ths[k].dataset.k === sortKey ? (sortDesc ? 'desc' : 'asc') : '';
  drawCallers();
}
$('ftable').tHead.addEventListener('click', function (e) {
  var th = e.target.closest('th');
  if (!th) return;
  var k = th.dataset.k;
  if (k === sortKey) sortDesc = !sortDesc; else { sortKey = k; sortDesc = k !== 'name' && k !== 'file'; }
  drawTable();
});
function selectFn(f) { selFn = f; dirty.table = 1; render(); }
$('ftable').tBodies[0].addEventListener('click', function (e) {
  if (e.target.classList.contains('sgo')) { showSource(+e.target.dataset.fr); return; }
  var tr = e.target.closest('tr'); if (tr) selectFn(+tr.dataset.f);
});
function fillCC(id, map, total) {
  var tb = $(id).tBodies[0], list = [];
  tb.textContent = '';
  map.forEach(function (w, f) { list.push([f, w]); });
  list.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
  if (!list.length) { var tr0 = el('tr'); tr0.appendChild(el('td', 'none', '(none)')); tb.appendChild(tr0); }
  list.slice(0, 500).forEach(function (p) {
    var tr = el('tr');
    tr.dataset.f = String(p[0]);
    tr.appendChild(el('td', 'name', p[0] < 0 ? '(root)' : funcLabel(p[0])));
    tr.appendChild(el('td', 'n', wt(p[1])));
    tr.appendChild(el('td', 'n', pct(p[1], total)));
    tb.appendChild(tr);
  });
}
function drawCallers() {
  var box = $('cc');
  if (selFn < 1) { box.hidden = true; return; }
  box.hidden = false;
  $('ccname').textContent = funcLabel(selFn);
  var hotFr = funcHotFrame(selFn);
  $('ccsrc').hidden = hotFr <= 0;
  $('ccsrc').dataset.fr = String(hotFr);
  var callers = new Map(), callees = new Map(), end = -1, total = 0;
  for (var n = 1; n < N; n++) {
    if (n < end || nodeFn[n] !== selFn) continue;
    end = n + size[n]; total += tot[n];
    var p = par[n], pf = p === 0 ? -1 : nodeFn[p];
    callers.set(pf, (callers.get(pf) || 0) + tot[n]);
    for (var c = n + 1; c < end; c += size[c]) callees.set(nodeFn[c], (callees.get(nodeFn[c]) || 0) + tot[c]);
  }
  $('ccstat').textContent = wt(total) + ' (' + pct(total, T) + ' of all); percentages below are of this function\u2019s total';
  fillCC('callers', callers, total);
  fillCC('callees', callees, total);
}
$('ccsrc').addEventListener('click', function () { showSource(+this.dataset.fr); });
$('callers').addEventListener('click', function (e) { var tr = e.target.closest('tr'); if (tr && +tr.dataset.f > 0) selectFn(+tr.dataset.f); });
$('callees').addEventListener('click', function (e) { var tr = e.target.closest('tr'); if (tr && +tr.dataset.f > 0) selectFn(+tr.dataset.f); });

/* ---- call tree ---- */
function kids(n) {
  var out = [], end = n + size[n];
  for (var c = n + 1; c < end; c += size[c]) if (tot[c] > 0) out.push(c);
  out.sort(function (a, b) { return tot[b] - tot[a] || a - b; });
  return out;
}
function treeRow(n) {
  var row = el('div', 'trow'), line = el('div', 'tline');
  row.dataset.n = String(n);
  var has = size[n] > 1;
  line.appendChild(el('span', 'tog', has ? '\u25b8' : ' '));
  line.appendChild(el('span', 'tp', pct(tot[n], T)));
  line.appendChild(el('span', 'tp', pct(self[n], T)));
  var lab = el('span', 'tl', nodeLabel(n));
  if (n && nodeMatch && nodeMatch[n]) lab.className = 'tl hit';
  line.appendChild(lab);
  if (n && srcPlace(frm[n])) { var go = el('span', 'sgo', ' \u2197 source'); go.dataset.fr = String(frm[n]); line.appendChild(go); }
  line.style.paddingLeft = (Math.min(dep[n], 200) * 14) + 'px';
  row.appendChild(line);
  return row;
}
function expand(row, open) {
  var n = +row.dataset.n, tog = row.firstChild.firstChild, box = row.children[1];
  if (size[n] <= 1) return;
  if (open === undefined) open = !box || box.hidden;
  if (open && !box) {
    box = el('div', 'tkids');
    var ks = kids(n), lim = Math.min(ks.length, 1000);
    for (var k = 0; k < lim; k++) box.appendChild(treeRow(ks[k]));
    if (lim < ks.length) box.appendChild(el('div', 'more', (ks.length - lim) + ' more not shown'));
    row.appendChild(box);
  }
  if (box) box.hidden = !open;
  tog.textContent = open ? '\u25be' : '\u25b8';
  row.classList.toggle('open', open);
}
function drawTree() {
  var t = $('tree');
  t.textContent = '';
  if (!T) { t.appendChild(el('p', 'empty', 'No samples.')); return; }
  var root = treeRow(0);
  t.appendChild(root);
  /* open the hot path a few levels deep */
  var r = root;
  for (var k = 0; k < 4 && r; k++) { expand(r, true); var box = r.children[1]; r = box && box.firstChild && box.firstChild.dataset ? box.firstChild : null; }
}
$('tree').addEventListener('click', function (e) {
  if (e.target.classList.contains('sgo')) { showSource(+e.target.dataset.fr); return; }
  var row = e.target.closest('.trow'); if (row && e.target.closest('.tline')) expand(row);
});

/* ---- timeline ---- */
var sT = null, tlHit = null, tlW = 0, tlT0 = 0, tlSpan = 1, TLH = 22;
var threadRows = [];
function drawTimeline() {
  var box = $('tl');
  box.textContent = '';
  if (!NS) {
    box.appendChild(el('p', 'empty', 'No timeline: this profile has no time-ordered samples (folded stacks, for one, carry none). Record with pyflare to get one.'));
    return;
  }
  if (!sT) {
    sT = new Float64Array(NS);
    var t = 0;
    for (var k = 0; k < NS; k++) { t += SM.dt[k]; sT[k] = t; }
  }
  var nth = D.threads.name.length, used = new Int8Array(Math.max(nth, 1) + 1), lo = Infinity, hi = -Infinity;
  for (k = 0; k < NS; k++) { used[Math.min(SM.thread[k], nth)] = 1; if (sT[k] < lo) lo = sT[k]; if (sT[k] > hi) hi = sT[k]; }
  threadRows = []; var rowOf = new Int32Array(nth + 1).fill(-1);
  for (k = 0; k <= nth; k++) if (used[k]) { rowOf[k] = threadRows.length; threadRows.push(k); }
  var labels = el('div', 'tlabels'), W = Math.max(200, box.clientWidth - 200), H = threadRows.length * TLH;
  threadRows.forEach(function (th) {
    var name = th < nth ? S[D.threads.name[th]] : '';
    var txt = (name || 'thread') + (th < nth ? ' (' + D.threads.tid[th] + ')' : '');
    var d = el('div', 'tlrow', txt); d.title = txt; labels.appendChild(d);
  });
  var c = el('canvas'); c.id = 'tlc'; c.width = W; c.height = H; c.style.width = W + 'px'; c.style.height = H + 'px';
  var wrap = el('div', 'tlwrap'); wrap.appendChild(labels); wrap.appendChild(c); box.appendChild(wrap);
  box.appendChild(el('div', 'tlaxis', (NSU ? '' : '') + 'time: 0 .. ' + ((hi - lo) / 1e6).toFixed(3) + ' s, ' + num(NS) + ' samples, colour = leaf function' + (re ? ', grey = not matching the search' : '')));
  var cx = c.getContext('2d'), img = cx.createImageData(W, H), px = new Uint32Array(img.data.buffer);
  px.fill(0xfff2f2ee);
  tlHit = new Int32Array(threadRows.length * W).fill(-1);
  tlW = W; tlT0 = lo; tlSpan = Math.max(hi - lo, 1);
  var colCache = new Uint32Array(NF);
  for (k = 0; k < NS; k++) {
    var row = rowOf[Math.min(SM.thread[k], nth)], x = Math.min(W - 1, Math.floor((sT[k] - lo) / tlSpan * (W - 1)));
    var node = SM.node[k], f = nodeFn[node], v;
    if (stackMatch && !stackMatch[node]) v = 0xffd0d0d0;
    else {
      v = colCache[f];
      if (!v) { var cc = node ? colour(f) : [180, 180, 180]; v = colCache[f] = (0xff000000 | cc[2] << 16 | cc[1] << 8 | cc[0]) >>> 0; }
    }
    tlHit[row * W + x] = k;
    for (var y = row * TLH + 2, ye = row * TLH + TLH - 2; y < ye; y++) px[y * W + x] = v;
  }
  cx.putImageData(img, 0, 0);
  c.addEventListener('mousemove', function (e) {
    var b = c.getBoundingClientRect(), x = Math.floor(e.clientX - b.left), r = Math.floor((e.clientY - b.top) / TLH);
    var s = r >= 0 && r < threadRows.length && x >= 0 && x < tlW ? tlHit[r * tlW + x] : -1;
    if (s < 0) { tip.hidden = true; return; }
    var n = SM.node[s];
    showTip(e, [nodeLabel(n), 't = ' + ((sT[s] - tlT0) / 1e6).toFixed(4) + ' s', 'thread: ' + labels.children[r].textContent],
            n && srcPlace(frm[n]) ? 'click: its line in Source' : '');
  });
  /* a sample's innermost frame, in the Source tab */
  c.addEventListener('click', function (e) {
    var b = c.getBoundingClientRect(), x = Math.floor(e.clientX - b.left), r = Math.floor((e.clientY - b.top) / TLH);
    var s = r >= 0 && r < threadRows.length && x >= 0 && x < tlW ? tlHit[r * tlW + x] : -1;
    if (s >= 0 && SM.node[s]) showSource(frm[SM.node[s]]);
  });
  c.addEventListener('mouseleave', function () { tip.hidden = true; });
}

/* ---- source ---- */
/* D.src.files: [file string, own, total, text offset (-1: none), text length, note,
 * spans: the lines a library file's excerpt keeps, first, last, ... ([]: the whole file)];
 * D.src.lines: file, line, own, total, by file (hottest file first) then line. */
var SF = D.src ? D.src.files : [], SL = D.src ? D.src.lines : [], fileIdx = new Map(), srcLines = [], srcBuilt = [];
var decoder = typeof TextDecoder !== 'undefined' ? new TextDecoder('utf-8') : null;
for (i = 0; i < SF.length; i++) { fileIdx.set(SF[i][0], i); srcLines.push([]); }
for (i = 0; i + 3 < SL.length; i += 4) if (SL[i] < SF.length) srcLines[SL[i]].push([SL[i + 1], SL[i + 2], SL[i + 3]]);
/* "file:line" of a frame when the Source tab shows that file, else null. */
function srcPlace(fr) {
  var f = frFunc[fr];
  if (fnKind[f] !== K.python || !fileIdx.has(fnFile[f])) return null;
  return S[fnFile[f]] + (frLine[fr] > 0 ? ':' + frLine[fr] : '');
}
function fileText(k) {
  var e = SF[k];
  if (e[3] < 0 || !decoder || !SRC) return null;
  return decoder.decode(SRC.subarray(e[3], e[3] + e[4]));
}
function heat(w, max) { return max > 0 && w > 0 ? 'rgba(230,60,30,' + (0.12 + 0.78 * w / max).toFixed(3) + ')' : ''; }
function buildFile(k, det) {
  if (srcBuilt[k]) return;
  srcBuilt[k] = 1;
  var L = srcLines[k], text = fileText(k), byLine = new Map(), maxOwn = 0, hot = -1, k2;
  for (k2 = 0; k2 < L.length; k2++) { byLine.set(L[k2][0], L[k2]); if (L[k2][1] > maxOwn) { maxOwn = L[k2][1]; hot = L[k2][0]; } }
  if (SF[k][5]) det.appendChild(el('div', 'note', SF[k][5]));
  var tb = el('table', 'stab'), body = el('tbody'), nums;
  tb.appendChild(body);
  if (text !== null) {
    var rows = text.split('\n'), last = L.length ? L[L.length - 1][0] : 0;
    if (rows.length > 1 && rows[rows.length - 1] === '') rows.pop(); /* the newline ending the last line */
    nums = [];
    for (k2 = 1; k2 <= Math.max(rows.length, last); k2++) nums.push(k2);
  } else nums = L.map(function (x) { return x[0]; });
  var spans = text !== null && SF[k][6] && SF[k][6].length ? SF[k][6] : null, frag = document.createDocumentFragment();
  /* a library file's excerpt: only its spans' lines, a row saying what was left out between them */
  function gap(a, b) {
    var tr = el('tr', 'gap'), td = el('td', 'gapnote', '\u22ef ' + (b > a ? 'lines ' + a + '\u2013' + b : 'line ' + a) + ' not kept: of a library file the report keeps the functions with samples');
    td.colSpan = 4; tr.appendChild(td); frag.appendChild(tr);
  }
  if (spans) {
    var kept = [], next = 1, q;
    for (q = 0; q + 1 < spans.length; q += 2) {
      if (spans[q] > next) kept.push(-1, next, spans[q] - 1);
      for (k2 = spans[q]; k2 <= spans[q + 1]; k2++) kept.push(k2);
      next = spans[q + 1] + 1;
    }
    if (next <= rows.length) kept.push(-1, next, rows.length);
    for (q = 0; q < L.length; q++) if (L[q][0] > Math.max(rows.length, next - 1)) kept.push(L[q][0]); /* past the text's end */
    nums = kept;
  }
  for (var at = 0; at < nums.length; at++) {
    if (nums[at] < 0) { gap(nums[at + 1], nums[at + 2]); at += 2; continue; }
    var ln = nums[at];
    var fig = byLine.get(ln), tr = el('tr');
    tr.id = 'src-' + k + '-' + ln;
    if (ln === hot) tr.className = 'hot';
    var own = el('td', 'n', fig && fig[1] ? wt(fig[1]) : ''), all = el('td', 'n', fig && fig[2] ? wt(fig[2]) : '');
    if (fig) { own.style.background = heat(fig[1], maxOwn); all.style.background = heat(fig[2], SF[k][2]); tr.dataset.own = String(fig[1]); tr.dataset.total = String(fig[2]); }
    tr.appendChild(own); tr.appendChild(all); tr.appendChild(el('td', 'ln', String(ln)));
    /* the program's text, shown as text: never parsed */
    tr.appendChild(el('td', 'code', text !== null ? (rows[ln - 1] || '').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd') : ''));
    frag.appendChild(tr);
  }
  body.appendChild(frag);
  det.appendChild(tb);
}
function drawSource() {
  var box = $('src'), hotBox = $('shot');
  box.textContent = ''; hotBox.textContent = ''; srcBuilt = [];
  if (!SF.length) { box.appendChild(el('p', 'empty', 'No source lines: this profile has no line numbers of Python code.')); return; }
  $('scount').textContent = SF.length + ' files with samples, hottest first; own and total per line';
  var all = [];
  for (var k = 0; k < SF.length; k++) for (var q = 0; q < srcLines[k].length; q++) if (srcLines[k][q][1] > 0) all.push([k, srcLines[k][q]]);
  all.sort(function (a, b) { return b[1][1] - a[1][1] || b[1][2] - a[1][2] || a[0] - b[0] || a[1][0] - b[1][0]; });
  hotBox.appendChild(el('h4', '', 'Hottest lines'));
  all.slice(0, 10).forEach(function (x) {
    var d = el('div'), a = el('a', '', S[SF[x[0]][0]] + ':' + x[1][0]);
    a.dataset.k = String(x[0]); a.dataset.l = String(x[1][0]);
    d.appendChild(el('span', 'tp', pct(x[1][1], T))); d.appendChild(a); hotBox.appendChild(d);
  });
  for (k = 0; k < SF.length; k++) {
    var det = el('details', 'sfile'), sum = el('summary', '', S[SF[k][0]]);
    det.id = 'srcf-' + k; det.dataset.k = String(k);
    sum.appendChild(el('span', 'sub', 'own ' + wt(SF[k][1]) + ' (' + pct(SF[k][1], T) + '), total ' + wt(SF[k][2]) + ' (' + pct(SF[k][2], T) + ')' + (SF[k][3] < 0 ? ' \u2014 no text' : SF[k][6] && SF[k][6].length ? ' \u2014 library file: its functions with samples' : '')));
    det.appendChild(sum);
    det.addEventListener('toggle', function () { if (this.open) buildFile(+this.dataset.k, this); });
    box.appendChild(det);
    if (k < 3) det.open = true;
  }
}
$('shot').addEventListener('click', function (e) { var a = e.target.closest('a'); if (a) jumpTo(+a.dataset.k, +a.dataset.l); });
function jumpTo(k, line) {
  view = 'source'; render();
  var det = $('srcf-' + k);
  if (!det) return;
  det.open = true; buildFile(k, det);
  var old = document.querySelector('table.stab tr.sel');
  if (old) old.classList.remove('sel');
  var tr = $('src-' + k + '-' + line) || det.querySelector('table.stab tr[data-own]');
  if (tr) { tr.classList.add('sel'); tr.scrollIntoView({ block: 'center' }); }
}
/* The frame of function f whose line has the most own weight (then total), 0
 * when none is shown; made for every function at once, on first use (the
 * functions table asks for each of its rows). */
var hotFrOf = null;
function funcHotFrame(f) {
  if (!hotFrOf) {
    hotFrOf = new Int32Array(NF);
    var bo = new Float64Array(NF).fill(-1), bt = new Float64Array(NF).fill(-1), figs = [];
    for (var fr = 1; fr < NFR; fr++) {
      var g = frFunc[fr];
      if (fnKind[g] !== K.python || !fileIdx.has(fnFile[g])) continue;
      var k = fileIdx.get(fnFile[g]), m = figs[k];
      if (!m) { m = figs[k] = new Map(); for (var q = 0; q < srcLines[k].length; q++) m.set(srcLines[k][q][0], srcLines[k][q]); }
      var x = m.get(frLine[fr]), o = x ? x[1] : 0, t = x ? x[2] : 0;
      if (o > bo[g] || (o === bo[g] && t > bt[g])) { hotFrOf[g] = fr; bo[g] = o; bt[g] = t; }
    }
  }
  return hotFrOf[f];
}
/* Jumps to a frame's line in the Source tab (its function's hottest line when
 * the frame has none: a profile by function). */
function showSource(fr) {
  var f = frFunc[fr];
  if (!srcPlace(fr)) return;
  if (!(frLine[fr] > 0)) { var hot = funcHotFrame(f); if (hot > 0 && frLine[hot] > 0) fr = hot; }
  jumpTo(fileIdx.get(fnFile[f]), frLine[fr]);
}

/* ---- views ---- */
var view = D.view === 'icicle' ? 'icicle' : 'flame', dirty = { flame: 1, table: 1, tree: 1, timeline: 1, source: 1 };
function render() {
  var v = view === 'icicle' ? 'flame' : view;
  ['flame', 'table', 'tree', 'timeline', 'source'].forEach(function (k) { $('v-' + k).hidden = k !== v; });
  if (v === 'flame') drawFlame(view === 'icicle');
  else if (dirty[v]) { dirty[v] = 0; if (v === 'table') drawTable(); else if (v === 'tree') drawTree(); else if (v === 'source') drawSource(); else drawTimeline(); }
  var bs = $('tabs').children;
  for (var k = 0; k < bs.length; k++) bs[k].className = bs[k].dataset.v === view ? 'on' : '';
}
$('tabs').addEventListener('click', function (e) { var b = e.target.closest('button'); if (b) { view = b.dataset.v; render(); } });
var timer = 0;
$('search').addEventListener('input', function () { clearTimeout(timer); var v = this.value; timer = setTimeout(function () { applySearch(v); }, 150); });
$('search').addEventListener('keydown', function (e) { if (e.key === 'Enter') { clearTimeout(timer); applySearch(this.value); } });
window.addEventListener('resize', function () { dirty.timeline = 1; render(); });
document.addEventListener('keydown', function (e) {
  if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); $('search').focus(); }
  else if (e.key === 'Escape' && document.activeElement !== $('search')) { zoomRoot = 0; render(); }
});
if (NS === 0) $('tabs').querySelector('[data-v=timeline]').title = 'no time-ordered samples in this profile';
$('total').textContent = wt(T) + ' in total';
render();
/* For tests and the curious: what the flame graph drew, in page coordinates. */
function layout() {
  var b = cv.getBoundingClientRect(), out = [], rows = rowsHit.length, inv = cv.dataset.inverted === '1';
  for (var r = 0; r < rows; r++) {
    var L = rowsHit[r], y = (inv ? r : rows - 1 - r) * ROWH;
    for (var k = 0; k < L.length; k += 3)
      out.push({ node: L[k + 2], label: nodeLabel(L[k + 2]), depth: r, x: b.left + L[k], w: L[k + 1], cy: b.top + y + ROWH / 2, grey: zoomRoot !== 0 && r < dep[zoomRoot] });
  }
  return { width: parseFloat(cv.style.width), zoomRoot: zoomRoot, rects: out };
}
window.pyflare = { ready: performance.now(), search: applySearch, layout: layout, nodes: N, samples: NS, total: T, showSource: showSource };
}
})();
