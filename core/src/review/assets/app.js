// app.js — loupe review's page (docs/REVIEW.md): the class list, a class's grid, one image at a
// time, and blind mode, all driven by keys. Talks only to its own server (CSP default-src
// 'self'): every request carries the X-Loupe-Token from the page's <meta>; every POST is JSON.
// Decisions go through one queue, one request in flight at a time, so an undo is always sent
// after the decision it undoes; a decision counts as saved only when the server has answered
// (after its fsync), and a failed request is retried with the same client key (idempotent).
// Every string from the archive is escaped (esc) where it is put into HTML.

const $ = (sel, root = document) => root.querySelector(sel);
const TOKEN = $('meta[name="loupe-token"]')?.content || '';
const SESSION = [...crypto.getRandomValues(new Uint8Array(6))]
  .map((b) => b.toString(16).padStart(2, '0')).join('');
const CHUNK = 60;           // tiles per content-visibility chunk
const THUMB = 160;          // the thumbnails' size (/t/HEX-160.jpg, letterboxed square)

const S = {
  state: null,              // GET /api/state
  cls: new Map(),           // class id -> Promise of class data (see classData)
  loaded: new Map(),        // class id -> class data, once fetched
  items: new Map(),         // item id -> GET /api/item answer (top 5 etc.)
  examples: new Map(),      // class id -> Promise of thumbnail URLs
  pending: new Set(),       // item ids with a decision on its way
  undoText: new Map(),      // seq -> what it did, for "Undid: ..."
  recent: [],               // classes picked lately (pinned in the picker)
  route: { view: 'classes' },
  renderSeq: 0,
  classCursor: 0,
  filter: '',
  jumpId: null,             // an item for the next grid render to put the cursor on
  savedOnce: false,
  altKeys: localStorage.getItem('loupe-review-alt-keys') === '1',
};

// ---- small helpers ------------------------------------------------------------------------

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ESC[c]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (p) => `${Math.round(p * 100)}%`;
const status = (it) => it?.decision?.status || 'none';
const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;

function cname(c) {
  if (c === -1 || c === undefined || c === null) return '—';
  const k = S.state?.classes.find((x) => x.id === c);
  return k ? k.name : `class ${c}`;
}

function classInfo(c) { return S.state.classes.find((x) => x.id === c); }

let toastTimer = 0;
function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 3500);
}

function banner(text) {
  const b = $('#banner');
  b.textContent = text;
  b.hidden = !text;
}

// ---- HTTP ---------------------------------------------------------------------------------

async function api(path, body) {
  const opt = { headers: { 'X-Loupe-Token': TOKEN }, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    opt.method = 'POST';
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const r = await fetch(path, opt);
  if (!r.ok) {
    const text = await r.text().catch(() => '');
    const e = new Error(`${path}: HTTP ${r.status} ${text}`.trim().slice(0, 300));
    e.status = r.status;
    throw e;
  }
  return r.json();
}

// The save queue: one POST at a time, in order; retried with backoff on network errors and
// 5xx, under the same client key; a 4xx is not retried (it would fail the same way again).
const queue = [];
let pumping = false;
let clientN = 0;

function send(path, body) {
  body.client = `${SESSION}-${++clientN}`;
  return new Promise((resolve, reject) => {
    queue.push({ path, body, resolve, reject });
    showSave();
    pump();
  });
}

async function pump() {
  if (pumping) return;
  pumping = true;
  while (queue.length) {
    const job = queue[0];
    try {
      job.resolve(await postRetry(job));
      S.savedOnce = true;
    } catch (e) {
      job.reject(e);
    }
    queue.shift();
    showSave();
  }
  pumping = false;
}

async function postRetry(job) {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await api(job.path, job.body);
      if (attempt) banner('');
      return r;
    } catch (e) {
      if (e.status && e.status < 500 && e.status !== 408 && e.status !== 429) {
        banner(`not saved: ${e.message}`);
        throw e;
      }
      const wait = Math.min(10000, 500 * 2 ** attempt);
      banner(`saving failed (${e.message}); retrying in ${(wait / 1000).toFixed(1)} s ` +
             `(attempt ${attempt + 2}) — keep this tab open`);
      await sleep(wait);
    }
  }
}

function showSave() {
  const el = $('#save');
  const n = queue.length;
  el.dataset.pending = String(n);
  el.classList.toggle('pending', n > 0);
  el.textContent = n ? `saving ${n}` : (S.savedOnce ? 'saved ✓' : '');
}

window.addEventListener('beforeunload', (e) => {
  if (!queue.length) return;
  e.preventDefault();
  e.returnValue = '';
});

// ---- the server's state -------------------------------------------------------------------

async function refreshState() {
  S.state = await api('/api/state');
  renderHeader();
  const v = VIEWS[S.route.view];
  if (v.onState) v.onState();
}

function renderHeader() {
  const st = S.state;
  const p = st.progress || { reviewed: 0, total: 0 };
  $('#progress').textContent = st.mode === 'blind' ? 'blind mode' :
    `${p.reviewed.toLocaleString()} / ${p.total.toLocaleString()} reviewed`;
  const notes = [];
  if (st.readonly) notes.push('Read-only: decisions cannot be saved.');
  if (st.notice) notes.push(st.notice);
  $('#notice').textContent = notes.join(' ');
  $('#notice').hidden = !notes.length;
  document.title = `loupe review · ${st.run.split('/').pop()}`;
}

function crumbs(parts) {
  $('#crumbs').innerHTML = parts.map(([text, href]) =>
    (href ? `<a href="${esc(href)}">${esc(text)}</a>` : esc(text))).join(' › ');
}

// ---- class data and decisions -------------------------------------------------------------

function classData(c) {
  if (!S.cls.has(c)) {
    const p = api(`/api/class/${c}`).then((r) => {
      const cd = { cls: c, name: r.name, items: r.items, cursor: 0, anchor: -1, sel: new Set(),
                   index: new Map(r.items.map((it, i) => [it.id, i])) };
      S.loaded.set(c, cd);
      return cd;
    });
    p.catch(() => S.cls.delete(c));
    S.cls.set(c, p);
  }
  return S.cls.get(c);
}

function itemData(id) {
  if (S.items.has(id)) return Promise.resolve(S.items.get(id));
  return api(`/api/item/${id}`).then((it) => { S.items.set(id, it); return it; });
}

function examples(c) {
  if (!S.examples.has(c)) {
    S.examples.set(c, api(`/api/examples/${c}`).then((r) => r.thumbs || [], () => []));
  }
  return S.examples.get(c);
}

// The decisions the server now holds for these items: into every cache and the view.
function applyItems(items) {
  for (const { id, decision } of items || []) {
    for (const cd of S.loaded.values()) {
      const i = cd.index.get(id);
      if (i !== undefined) cd.items[i].decision = decision;
    }
    const it = S.items.get(id);
    if (it) it.decision = decision;
    const v = VIEWS[S.route.view];
    if (v.onItem) v.onItem(id, decision);
  }
}

function describe(action, ids, extra) {
  const what = ids.length === 1 ? `item ${ids[0]}` : plural(ids.length, 'item');
  switch (action) {
    case 'relabel': return `relabel → ${cname(extra.label)} · ${what}`;
    case 'also': return `also shows ${cname(extra.label)} · ${what}`;
    case 'tag': return `tag “${extra.tag}” · ${what}`;
    case 'untag': return `untag “${extra.tag}” · ${what}`;
    case 'merge': return `merge ${cname(extra.class)} into ${cname(extra.label)}`;
    case 'unmerge': return `unmerge ${cname(extra.class)}`;
    case 'answer': return 'answer';
    default: return `${action} · ${what}`;
  }
}

// Send one decision; resolves with the server's answer once it is on disk (null if refused).
async function decide(action, ids, extra = {}) {
  if (S.state.readonly) { toast('Read-only: this decision was not saved.'); return null; }
  const body = { action, items: ids, label: -1, class: -1, tag: '', note: '', ...extra };
  const text = describe(action, ids, extra);
  ids.forEach((id) => S.pending.add(id));
  ids.forEach((id) => VIEWS[S.route.view].onItem?.(id, null));
  let r = null;
  try {
    r = await send('/api/decision', body);
    S.undoText.set(r.seq, text);
  } catch (e) {
    toast(`Not saved: ${text}`);
  } finally {
    ids.forEach((id) => S.pending.delete(id));
  }
  if (r) applyItems(r.items);
  else ids.forEach((id) => VIEWS[S.route.view].onItem?.(id, undefined));
  await refreshState().catch((e) => banner(`state: ${e.message}`));
  return r;
}

async function undo(redo) {
  if (!queue.length && !(redo ? S.state.redo : S.state.undo)) {
    toast(redo ? 'Nothing to redo.' : 'Nothing to undo.');
    return;
  }
  let r;
  try {
    r = await send(redo ? '/api/redo' : '/api/undo', {});
  } catch (e) {
    return;
  }
  if (!r || !r.ref) { toast(redo ? 'Nothing to redo.' : 'Nothing to undo.'); return; }
  applyItems(r.items);
  const text = S.undoText.get(r.ref) || `entry ${r.ref}`;
  toast(`${redo ? 'Redid' : 'Undid'}: ${text}`);
  await refreshState().catch((e) => banner(`state: ${e.message}`));
  if (r.items?.length) jumpTo(r.items[0].id);
}

// Show item id: the cursor in its grid, or the item itself in one-by-one.
async function jumpTo(id) {
  if (S.state.mode === 'blind') { route(); return; }
  let cls = [...S.loaded.values()].find((cd) => cd.index.has(id))?.cls;
  if (cls === undefined) cls = (await itemData(id).catch(() => null))?.label;
  if (cls === undefined || cls === null) return;
  const r = S.route;
  if (r.view === 'one') { location.hash = `#/c/${cls}/i/${id}`; return; }
  if (r.view === 'grid' && r.cls === cls) { GRID.moveTo(id); return; }
  S.jumpId = id;
  location.hash = `#/c/${cls}`;
}

// The targets of a decision key: the selection, or the cursor's item.
function targets() {
  const r = S.route;
  if (r.view === 'one') return [r.id];
  const cd = S.loaded.get(r.cls);
  if (!cd || !cd.items.length) return [];
  if (cd.sel.size) return [...cd.sel].sort((a, b) => a - b).map((i) => cd.items[i].id);
  return [cd.items[cd.cursor].id];
}

// The model's ranking for an item (top 3 from the class list, top 5 from /api/item).
async function ranking(id, n) {
  const known = S.items.get(id)?.top;
  if (known && known.length >= n) return known;
  const cd = [...S.loaded.values()].find((c) => c.index.has(id));
  const top = cd?.items[cd.index.get(id)].top;
  if (top && top.length >= n) return top;
  return (await itemData(id)).top || [];
}

// An item as the class list has it (else as /api/item had it), and its given label.
function itemOf(id) {
  const cd = [...S.loaded.values()].find((c) => c.index.has(id));
  return cd ? cd.items[cd.index.get(id)] : S.items.get(id);
}

function labelOf(id) {
  const cd = [...S.loaded.values()].find((c) => c.index.has(id));
  return cd ? cd.items[cd.index.get(id)].label ?? cd.cls : S.items.get(id)?.label;
}

// ---- decision keys (grid and one-by-one alike) --------------------------------------------

const ACT = {
  keep: () => finalDecision('keep'),
  remove: () => finalDecision('remove'),
  unsure: () => finalDecision('unsure'),
  async wrong() {
    const ids = targets();
    if (!ids.length) return;
    const c = await pickClass('wrong label: the right class', ids[0], [labelOf(ids[0])]);
    if (c !== null) finalDecision('relabel', { label: c }, ids);
  },
  async rank(n) {
    const ids = targets();
    if (!ids.length) return;
    const groups = new Map();
    for (const id of ids) {
      const top = await ranking(id, n);
      if (top.length < n) { toast(`The model ranks only ${top.length} classes for item ${id}.`); return; }
      const c = top[n - 1][0];
      if (!groups.has(c)) groups.set(c, []);
      groups.get(c).push(id);
    }
    advance(ids);
    for (const [c, group] of groups) {
      const same = group.filter((id) => labelOf(id) === c);
      const other = group.filter((id) => labelOf(id) !== c);
      if (same.length) decide('keep', same);
      if (other.length) { remember(c); decide('relabel', other, { label: c }); }
    }
  },
  async also() {
    const ids = targets();
    if (!ids.length) return;
    const have = [labelOf(ids[0]), ...(itemOf(ids[0])?.decision?.also || [])];
    const c = await pickClass('also shows', ids[0], have);
    if (c !== null) decide('also', ids, { label: c });
  },
  async tag() {
    const ids = targets();
    if (!ids.length) return;
    const rows = (S.state.tags || []).map((t) => ({ key: t, name: t }));
    const t = await pick({ title: `tag ${plural(ids.length, 'item')}`, rows, free: true });
    if (t) decide('tag', ids, { tag: t });
  },
};

function finalDecision(action, extra = {}, ids = targets()) {
  if (!ids.length) return;
  if (extra.label !== undefined) remember(extra.label);
  advance(ids);
  decide(action, ids, extra);
}

// After keep / wrong / remove / unsure: the grid clears its selection or moves its cursor to
// the next undecided tile; one-by-one shows the next image.
function advance(ids) {
  const v = VIEWS[S.route.view];
  if (v.advance) v.advance(ids);
}

function remember(c) {
  S.recent = [c, ...S.recent.filter((x) => x !== c)].slice(0, 5);
}

// ---- the picker ---------------------------------------------------------------------------

const P = { rows: [], shown: [], hi: 0, moved: false, free: false, resolve: null };

// rows: [{key, name, p?, cls?}]; resolves with the picked row's key (or, when free, the typed
// text), or null when cancelled.
function pick({ title, rows, free = false }) {
  if (P.resolve) closePicker(null);
  Object.assign(P, { rows, free, hi: 0, moved: false });
  $('#picker-title').textContent = title;
  const input = $('#picker-input');
  input.value = '';
  input.placeholder = free ? 'type a tag (or pick one), Enter' : 'type to filter, Enter';
  $('#picker').hidden = false;
  filterPicker();
  input.focus();
  return new Promise((resolve) => { P.resolve = resolve; });
}

function closePicker(value) {
  $('#picker').hidden = true;
  $('#picker-input').blur();
  const r = P.resolve;
  P.resolve = null;
  if (r) r(value);
}

// 0: prefix; 1: a word's prefix, every typed word a word's prefix, or the words' initials;
// 2: substring; -1: no match.
function matchRank(name, q) {
  if (!q) return 0;
  const n = name.toLowerCase();
  if (n.startsWith(q)) return 0;
  const words = n.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const qs = q.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  if (qs.length && qs.every((t) => words.some((w) => w.startsWith(t)))) return 1;
  if (q.length > 1 && words.map((w) => w[0]).join('').startsWith(q)) return 1;
  return n.includes(q) ? 2 : -1;
}

function filterPicker() {
  const q = $('#picker-input').value.trim().toLowerCase();
  P.shown = P.rows.map((row, i) => [matchRank(row.name, q), i, row])
    .filter((x) => x[0] >= 0).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
  P.hi = P.free ? -1 : (P.shown.length ? 0 : -1);
  P.moved = false;
  renderPickerList();
}

function renderPickerList() {
  const list = $('#picker-list');
  list.innerHTML = P.shown.map((row, i) => `<li role="option" data-i="${i}"` +
    ` class="${i === P.hi ? 'hi' : ''}" aria-selected="${i === P.hi}">` +
    `<span class="n">${i < 9 ? i + 1 : ''}</span><span class="name">${esc(row.name)}</span>` +
    `<span class="p num">${row.p !== undefined ? pct(row.p) : ''}</span>` +
    `<span class="ex" data-cls="${row.cls ?? ''}"></span></li>`).join('') ||
    `<li class="muted">${P.free ? 'Enter adds this new tag' : 'no class matches'}</li>`;
  [...list.querySelectorAll('.ex[data-cls]')].slice(0, 12).forEach(fillExamples);
}

async function fillExamples(span) {
  if (span.dataset.cls === '') return;
  const thumbs = await examples(Number(span.dataset.cls));
  if (!span.isConnected) return;
  span.innerHTML = thumbs.slice(0, 3).map((u) =>
    `<img src="${esc(u)}" width="40" height="40" decoding="async" alt="">`).join('');
}

function movePicker(d) {
  if (!P.shown.length) return;
  P.hi = Math.max(0, Math.min(P.shown.length - 1, (P.hi < 0 && d > 0 ? -1 : P.hi) + d));
  P.moved = true;
  const lis = $('#picker-list').children;
  for (let i = 0; i < lis.length; i++) {
    lis[i].classList.toggle('hi', i === P.hi);
    lis[i].setAttribute('aria-selected', String(i === P.hi));
  }
  lis[P.hi]?.scrollIntoView({ block: 'nearest' });
  const ex = lis[P.hi]?.querySelector('.ex');
  if (ex && !ex.firstChild) fillExamples(ex);
}

function pickerKey(e) {
  const input = e.target;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    movePicker(e.key === 'ArrowDown' ? 1 : -1);
  } else if (e.key === 'Enter') {
    e.preventDefault();
    if (P.free) {
      const v = P.moved && P.hi >= 0 ? P.shown[P.hi].key : input.value.trim();
      if (v) closePicker(v);
    } else if (P.hi >= 0) {
      closePicker(P.shown[P.hi].key);
    }
  } else if (e.key === 'Escape') {
    e.preventDefault();
    closePicker(null);
  } else if (/^[1-9]$/.test(e.key) && input.value === '' && !e.ctrlKey && !e.altKey && !e.metaKey) {
    e.preventDefault();
    const row = P.shown[Number(e.key) - 1];
    if (row) closePicker(row.key);
  }
  e.stopPropagation();
}

// The classes for an item: the model's ranking first, then the recently picked, then the rest
// alphabetically; `except` left out.
async function pickClass(title, id, except = []) {
  const top = id === undefined ? [] : await ranking(id, 3).catch(() => []);
  const p = new Map(top.map(([c, q]) => [c, q]));
  const skip = new Set(except);
  const order = [...top.map(([c]) => c), ...S.recent];
  const alpha = S.state.classes.slice().sort((a, b) => a.name.localeCompare(b.name));
  const seen = new Set();
  const rows = [];
  for (const c of [...order, ...alpha.map((k) => k.id)]) {
    if (seen.has(c) || skip.has(c) || !classInfo(c)) continue;
    seen.add(c);
    rows.push({ key: c, name: cname(c), p: p.get(c), cls: c });
  }
  return pick({ title, rows });
}

// ---- help ---------------------------------------------------------------------------------

const HELP = [
  [['k'], 'keep: the given label is right'],
  [['w'], 'wrong label: the class picker, then that class'],
  [['1 – 9'], 'wrong label: the class the model ranks 1st–9th for this image (its label: keep)'],
  [['m'], 'also shows another class: the picker (repeatable)'],
  [['x'], 'remove: not a valid image of any class'],
  [['u'], 'unsure'],
  [['t'], 'tag: a text box offering the tags already used first'],
  [['z', 'Ctrl+Z'], 'undo (kept on the server: survives a reload)'],
  [['Shift+Z', 'Ctrl+Shift+Z'], 'redo'],
  [['←', '→'], 'previous / next image (one by one); move the cursor (grid)'],
  [['↑', '↓'], 'move the cursor (grid, class list)'],
  [['Shift+← → ↑ ↓', 'Space', 'Ctrl+A'], 'extend the selection, toggle, select all (grid)'],
  [['Enter'], 'open (class list → grid → one by one)'],
  [['Esc'], 'close the picker / clear the selection / back'],
  [['[', ']'], 'previous / next class'],
  [['n'], 'next undecided image'],
  [['Shift+M'], 'merge this class into another (the picker); on a merged class: unmerge'],
  [['/'], 'filter the classes (class list); the picker (blind)'],
  [['?'], 'this help'],
];

function renderHelp() {
  $('#help-keys').innerHTML = HELP.map(([k, what]) =>
    `<tr><td>${k.map((x) => `<kbd>${esc(x)}</kbd>`).join(' ')}</td>` +
    `<td>${esc(what)}</td></tr>`).join('');
  $('#alt-keys').checked = S.altKeys;
}

function toggleHelp(open = $('#help').hidden) {
  $('#help').hidden = !open;
  if (open) { renderHelp(); $('#help .panel').focus?.(); }
}

// ---- keys ---------------------------------------------------------------------------------

const GLOBAL_KEYS = {
  '?': () => toggleHelp(),
  z: () => undo(false),
  Z: () => undo(true),
};

const DECISION_KEYS = {
  k: ACT.keep, w: ACT.wrong, m: ACT.also, x: ACT.remove, u: ACT.unsure, t: ACT.tag,
  ...Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => [String(n), () => ACT.rank(n)])),
};

const CODE_KEY = (code) => {
  let m = code.match(/^Key([A-Z])$/);
  if (m) return m[1].toLowerCase();
  m = code.match(/^(?:Digit|Numpad)([0-9])$/);
  return m ? m[1] : null;
};

// The key's name as the views' tables spell it, or null when it is not for us.
function keyName(e) {
  let key = e.key;
  if (e.ctrlKey || e.metaKey) {
    if (e.altKey) return null;
    const k = key.toLowerCase();
    if (k === 'z') return e.shiftKey ? 'Z' : 'z';
    if (k === 'a') return 'Ctrl+a';
    return null;
  }
  if (e.altKey) {
    if (!S.altKeys) return null;
    key = (key.length === 1 && /[a-z0-9?/[\]]/i.test(key) ? key : CODE_KEY(e.code)) || key;
    if (e.shiftKey && key.length === 1) key = key.toUpperCase();
  } else if (S.altKeys && key.length === 1 && key !== ' ') {
    return null;
  }
  return (e.shiftKey && key.length > 1 ? 'Shift+' : '') + key;
}

function onKey(e) {
  if (e.isComposing) return;
  if (!$('#picker').hidden) {
    if (e.key === 'Escape') closePicker(null);
    return;
  }
  if (!$('#help').hidden) {
    if (e.key === 'Escape' || e.key === '?') { e.preventDefault(); toggleHelp(false); }
    return;
  }
  const t = e.target;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' ||
            t.isContentEditable)) return;
  const name = keyName(e);
  if (!name) return;
  const v = VIEWS[S.route.view];
  const fn = v.keys?.[name] || GLOBAL_KEYS[name];
  if (!fn) return;
  e.preventDefault();
  fn(e);
}

// ---- view: the class list -----------------------------------------------------------------

const CLASSES = {
  shown: [],
  render() {
    crumbs([['classes']]);
    const st = S.state;
    $('#view').innerHTML = `<h1>Classes <span class="muted">· ${esc(st.run)}</span></h1>
      <div class="tools"><input id="filter" type="search" placeholder="filter classes ( / )"
        aria-label="filter classes" value="${esc(S.filter)}" autocomplete="off">
        <span class="hint"><kbd>↑</kbd><kbd>↓</kbd> move · <kbd>Enter</kbd> open ·
        <kbd>Shift+M</kbd> merge · <kbd>?</kbd> all keys</span></div>
      <table class="classes" role="grid" aria-label="classes"><thead><tr><th>class</th>
        <th class="num">images</th><th class="num">suspect, undecided</th><th>reviewed</th>
        <th>most confused with</th><th>merged into</th></tr></thead><tbody id="class-rows"></tbody>
      </table><div class="merges" id="merges"></div>`;
    const f = $('#filter');
    f.addEventListener('input', () => { S.filter = f.value; S.classCursor = 0; CLASSES.rows(); });
    f.addEventListener('keydown', CLASSES.filterKey);
    $('#class-rows').addEventListener('click', (e) => {
      const tr = e.target.closest('tr.row');
      if (tr) location.hash = `#/c/${tr.dataset.class}`;
    });
    $('#merges').addEventListener('click', CLASSES.mergeClick);
    CLASSES.rows();
    CLASSES.merges();
  },
  onState() { CLASSES.rows(); CLASSES.merges(); },
  rows() {
    const q = S.filter.trim().toLowerCase();
    const all = S.state.classes;
    CLASSES.shown = q ? all.map((k, i) => [matchRank(k.name, q), i, k]).filter((x) => x[0] >= 0)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]) : all;
    S.classCursor = Math.min(S.classCursor, Math.max(0, CLASSES.shown.length - 1));
    const body = $('#class-rows');
    if (!body) return;
    body.innerHTML = CLASSES.shown.map(CLASSES.row).join('') ||
      '<tr><td colspan="6" class="muted">no class matches</td></tr>';
    body.querySelectorAll('.bar > span').forEach((s) => { s.style.width = `${s.dataset.w}%`; });
    CLASSES.mark();
  },
  row(k, i) {
    const w = k.count ? Math.round(100 * k.reviewed / k.count) : 0;
    const merged = k.merged_into >= 0;
    return `<tr class="row${i === S.classCursor ? ' cur' : ''}${merged ? ' merged' : ''}"
      data-class="${k.id}" aria-selected="${i === S.classCursor}">
      <td class="name">${esc(k.name)}</td><td class="num">${k.count}</td>
      <td class="num">${k.suspects}</td>
      <td><span class="bar"><span data-w="${w}"></span></span>${k.reviewed} / ${k.count}</td>
      <td>${k.confused_with >= 0 ? esc(cname(k.confused_with)) : ''}</td>
      <td class="merge">${merged ? `→ ${esc(cname(k.merged_into))}` : ''}</td></tr>`;
  },
  merges() {
    const el = $('#merges');
    const m = S.state.merges_suggested || [];
    if (!el) return;
    el.innerHTML = m.length ? `<h2>Merges the overlap analysis suggests</h2><ul>${m.map((s) =>
      `<li>${esc(cname(s.a))} ↔ ${esc(cname(s.b))} <span class="muted">(${s.score.toFixed(2)})
      ${esc(s.text)}</span> <button type="button" data-a="${s.a}" data-b="${s.b}">merge
      ${esc(cname(s.a))} into ${esc(cname(s.b))}</button></li>`).join('')}</ul>` : '';
  },
  mark() {
    document.querySelectorAll('#class-rows tr.row').forEach((tr, i) => {
      tr.classList.toggle('cur', i === S.classCursor);
      tr.setAttribute('aria-selected', String(i === S.classCursor));
      if (i === S.classCursor) tr.scrollIntoView({ block: 'nearest' });
    });
  },
  move(d) {
    S.classCursor = Math.max(0, Math.min(CLASSES.shown.length - 1, S.classCursor + d));
    CLASSES.mark();
  },
  open() {
    const k = CLASSES.shown[S.classCursor];
    if (k) location.hash = `#/c/${k.id}`;
  },
  filterKey(e) {
    if (e.key === 'Enter') { e.preventDefault(); CLASSES.open(); }
    else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      CLASSES.move(e.key === 'ArrowDown' ? 1 : -1);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.target.value = '';
      S.filter = '';
      CLASSES.rows();
      e.target.blur();
    }
  },
  mergeClick(e) {
    const b = e.target.closest('button[data-a]');
    if (b) decide('merge', [], { class: Number(b.dataset.a), label: Number(b.dataset.b) });
  },
  keys: {
    ArrowDown: () => CLASSES.move(1),
    ArrowUp: () => CLASSES.move(-1),
    Enter: () => CLASSES.open(),
    '/': () => $('#filter')?.focus(),
    M: () => { const k = CLASSES.shown[S.classCursor]; if (k) mergeClass(k.id); },
  },
};

// Shift+M: merge class a into the class picked; on a class already merged, unmerge it.
async function mergeClass(a) {
  const k = classInfo(a);
  if (!k) return;
  if (k.merged_into >= 0) {
    decide('unmerge', [], { class: a, label: k.merged_into });
    return;
  }
  const first = k.confused_with >= 0 ? [k.confused_with] : [];
  const rows = [...first, ...S.state.classes.map((x) => x.id)]
    .filter((c, i, all) => c !== a && all.indexOf(c) === i && classInfo(c).merged_into < 0)
    .map((c) => ({ key: c, name: cname(c), cls: c }));
  const b = await pick({ title: `merge ${k.name} into`, rows });
  if (b !== null) decide('merge', [], { class: a, label: b });
}

// ---- view: a class's grid -----------------------------------------------------------------

function badge(d, pending) {
  if (pending) return '<span class="b">… saving</span>';
  if (!d) return '';
  const out = [];
  if (d.status === 'keep') out.push('<span class="b keep" title="keep">✓ K</span>');
  if (d.status === 'relabel') {
    out.push(`<span class="b relabel" title="wrong label">W → ${esc(cname(d.label))}</span>`);
  }
  if (d.status === 'remove') out.push('<span class="b remove" title="remove">✗ X</span>');
  if (d.status === 'unsure') out.push('<span class="b unsure" title="unsure">? U</span>');
  for (const a of d.also || []) out.push(`<span class="also">+${esc(cname(a))}</span>`);
  for (const t of d.tags || []) out.push(`<span class="tag">#${esc(t)}</span>`);
  return out.join(' ');
}

function tileTop(it, label) {
  return (it.top || []).map(([c, p], r) => {
    const dis = r === 0 && c !== label;
    return `<div class="${dis ? 'dis' : ''}">${pct(p)} ${dis ? '→ ' : ''}${esc(cname(c))}</div>`;
  }).join('');
}

function tileHTML(it, i, cd) {
  const label = it.label ?? cd.cls;
  const pend = S.pending.has(it.id);
  return `<div class="tile${cd.sel.has(i) ? ' sel' : ''}" role="gridcell" data-i="${i}"
    data-id="${it.id}" data-status="${esc(status(it))}" aria-selected="${cd.sel.has(i)}">` +
    `<img src="${esc(it.thumb)}" width="${THUMB}" height="${THUMB}" loading="lazy"
    decoding="async" alt="image ${i + 1}"><div class="badge">${badge(it.decision, pend)}</div>` +
    `<div class="meta"><span class="rank">#${i + 1}</span>` +
    `<span class="sus">${esc((it.suspect || '').replace('_', ' '))}</span></div>` +
    `<div class="top">${tileTop(it, label)}</div></div>`;
}

const GRID = {
  cd: null,
  tiles: [],
  async render(r, tok) {
    const cd = await classData(r.cls);
    if (tok !== S.renderSeq) return;
    GRID.cd = cd;
    if (S.jumpId !== null && cd.index.has(S.jumpId)) cd.cursor = cd.index.get(S.jumpId);
    S.jumpId = null;
    crumbs([['classes', '#/'], [cd.name]]);
    const chunks = [];
    for (let s = 0; s < cd.items.length; s += CHUNK) {
      chunks.push(`<div class="chunk">${cd.items.slice(s, s + CHUNK)
        .map((it, j) => tileHTML(it, s + j, cd)).join('')}</div>`);
    }
    $('#view').innerHTML = `<div class="gridhead"><h1>${esc(cd.name)}</h1>
      <span id="class-counts"></span></div><div class="actions" id="actions"></div>
      <div class="grid" id="grid" role="grid" aria-label="${esc(cd.name)}"
        aria-multiselectable="true">${chunks.join('') ||
        '<p class="empty">No images have this label.</p>'}</div><div id="grid-end"></div>`;
    GRID.tiles = [...document.querySelectorAll('#grid .tile')];
    $('#grid').addEventListener('click', GRID.click);
    $('#grid').addEventListener('dblclick', GRID.dblclick);
    GRID.sizeChunks();
    GRID.counts();
    GRID.mark(true);
  },
  // Off-screen chunks are skipped (content-visibility: auto); give them their real height so
  // the scroll bar is right.
  sizeChunks() {
    const chunks = document.querySelectorAll('#grid .chunk');
    if (!chunks.length) return;
    const cols = GRID.cols();
    const tile = GRID.tiles[0].getBoundingClientRect().height;
    chunks.forEach((c) => {
      const rows = Math.ceil(c.childElementCount / cols);
      c.style.containIntrinsicSize = `auto ${Math.round(rows * (tile + 8) - 8)}px`;
    });
  },
  cols() {
    const c = $('#grid .chunk');
    return c ? Math.max(1, getComputedStyle(c).gridTemplateColumns.split(' ').length) : 1;
  },
  counts() {
    const cd = GRID.cd;
    const k = classInfo(cd.cls);
    const el = $('#class-counts');
    if (!el || !k) return;
    el.innerHTML = `${k.count} images · ${k.suspects} suspect undecided · ${k.reviewed} reviewed` +
      (k.merged_into >= 0 ? ` · merged into <b>${esc(cname(k.merged_into))}</b>` : '');
    const done = cd.items.length && cd.items.every((it) => status(it) !== 'none');
    $('#grid-end').innerHTML = done ? '<p class="done">✓ class done: every image decided</p>' : '';
    GRID.actions();
  },
  actions() {
    const n = GRID.cd.sel.size;
    $('#actions').innerHTML = `<span class="sel">${n ? `${n} selected:` :
      'cursor:'}</span> <kbd>k</kbd> keep · <kbd>w</kbd> wrong · <kbd>1</kbd>–<kbd>9</kbd>
      model's Nth · <kbd>m</kbd> also · <kbd>x</kbd> remove · <kbd>u</kbd> unsure ·
      <kbd>t</kbd> tag · <kbd>z</kbd> undo · <kbd>Enter</kbd> one by one ·
      <kbd>Shift</kbd>+arrows select · <kbd>Esc</kbd> ${n ? 'clear' : 'back'}`;
  },
  mark(scroll) {
    const cd = GRID.cd;
    document.querySelectorAll('#grid .tile.cur').forEach((t) => {
      t.classList.remove('cur');
      t.removeAttribute('aria-current');
    });
    const t = GRID.tiles[cd.cursor];
    if (!t) return;
    t.classList.add('cur');
    t.setAttribute('aria-current', 'true');
    if (scroll) t.scrollIntoView({ block: 'nearest' });
  },
  markSel(old) {
    const cd = GRID.cd;
    for (const i of new Set([...old, ...cd.sel])) {
      const t = GRID.tiles[i];
      if (!t) continue;
      t.classList.toggle('sel', cd.sel.has(i));
      t.setAttribute('aria-selected', String(cd.sel.has(i)));
    }
    GRID.actions();
  },
  setCursor(i, extend) {
    const cd = GRID.cd;
    if (!cd.items.length) return;
    i = Math.max(0, Math.min(cd.items.length - 1, i));
    const old = new Set(cd.sel);
    if (extend) {
      if (cd.anchor < 0 || !cd.sel.size) cd.anchor = cd.cursor;
      cd.sel = new Set();
      for (let j = Math.min(cd.anchor, i); j <= Math.max(cd.anchor, i); j++) cd.sel.add(j);
      GRID.markSel(old);
    }
    cd.cursor = i;
    GRID.mark(true);
  },
  moveTo(id) {
    const i = GRID.cd.index.get(id);
    if (i !== undefined) GRID.setCursor(i, false);
  },
  move(d, extend) { GRID.setCursor(GRID.cd.cursor + d, extend); },
  toggle() {
    const cd = GRID.cd;
    const old = new Set(cd.sel);
    if (cd.sel.has(cd.cursor)) cd.sel.delete(cd.cursor); else cd.sel.add(cd.cursor);
    cd.anchor = cd.cursor;
    GRID.markSel(old);
  },
  selectAll() {
    const cd = GRID.cd;
    const old = new Set(cd.sel);
    cd.sel = new Set(cd.items.map((_, i) => i));
    GRID.markSel(old);
  },
  escape() {
    const cd = GRID.cd;
    if (!cd.sel.size) { location.hash = '#/'; return; }
    const old = new Set(cd.sel);
    cd.sel.clear();
    cd.anchor = -1;
    GRID.markSel(old);
  },
  nextUndecided(from) {
    const items = GRID.cd.items;
    for (let k = 1; k <= items.length; k++) {
      const i = (from + k) % items.length;
      if (status(items[i]) === 'none' && !S.pending.has(items[i].id)) return i;
    }
    return -1;
  },
  advance() {
    const cd = GRID.cd;
    if (cd.sel.size) {
      const old = new Set(cd.sel);
      cd.sel.clear();
      cd.anchor = -1;
      GRID.markSel(old);
      return;
    }
    const i = GRID.nextUndecided(cd.cursor);
    if (i >= 0) GRID.setCursor(i, false);
  },
  onItem(id) {
    const cd = GRID.cd;
    const i = cd?.index.get(id);
    if (i === undefined) return;
    const t = GRID.tiles[i];
    if (!t) return;
    const it = cd.items[i];
    t.querySelector('.badge').innerHTML = badge(it.decision, S.pending.has(id));
    t.dataset.status = status(it);
  },
  onState() { if (GRID.cd) GRID.counts(); },
  click(e) {
    const t = e.target.closest('.tile');
    if (!t) return;
    const i = Number(t.dataset.i);
    if (e.ctrlKey || e.metaKey) { GRID.cd.cursor = i; GRID.toggle(); GRID.mark(false); }
    else GRID.setCursor(i, e.shiftKey);
  },
  dblclick(e) {
    const t = e.target.closest('.tile');
    if (t) location.hash = `#/c/${GRID.cd.cls}/i/${t.dataset.id}`;
  },
  open() {
    const it = GRID.cd.items[GRID.cd.cursor];
    if (it) location.hash = `#/c/${GRID.cd.cls}/i/${it.id}`;
  },
  keys: {
    ...DECISION_KEYS,
    ArrowLeft: () => GRID.move(-1), ArrowRight: () => GRID.move(1),
    ArrowUp: () => GRID.move(-GRID.cols()), ArrowDown: () => GRID.move(GRID.cols()),
    'Shift+ArrowLeft': () => GRID.move(-1, true), 'Shift+ArrowRight': () => GRID.move(1, true),
    'Shift+ArrowUp': () => GRID.move(-GRID.cols(), true),
    'Shift+ArrowDown': () => GRID.move(GRID.cols(), true),
    ' ': () => GRID.toggle(),
    'Ctrl+a': () => GRID.selectAll(),
    Enter: () => GRID.open(),
    Escape: () => GRID.escape(),
    n: () => { const i = GRID.nextUndecided(GRID.cd.cursor); if (i >= 0) GRID.setCursor(i); },
    '[': () => nextClass(-1), ']': () => nextClass(1),
    M: () => mergeClass(GRID.cd.cls),
  },
};

function nextClass(d) {
  const all = S.state.classes;
  const cur = S.route.cls;
  const i = all.findIndex((k) => k.id === cur);
  const k = all[(i + d + all.length) % all.length];
  if (k) location.hash = `#/c/${k.id}`;
}

// ---- view: one by one ---------------------------------------------------------------------

function decisionText(d, pending) {
  if (pending) return '… saving';
  if (!d || d.status === 'none') {
    return d?.also?.length || d?.tags?.length ? extrasText(d) : '—';
  }
  const s = { keep: '✓ keep', remove: '✗ remove', unsure: '? unsure' }[d.status] ||
    `wrong → ${cname(d.label)}`;
  return [s, extrasText(d)].filter(Boolean).join(' · ');
}

function extrasText(d) {
  const out = [];
  if (d.also?.length) out.push(`also: ${d.also.map(cname).join(', ')}`);
  if (d.tags?.length) out.push(`tags: ${d.tags.join(', ')}`);
  return out.join(' · ');
}

function top5HTML(it) {
  return `<ol class="top5">${(it.top || []).map(([c, p], r) =>
    `<li class="${c === it.label ? 'given' : ''}"><kbd>${r + 1}</kbd><span>${esc(cname(c))}
    ${c === it.label ? '(given)' : ''}</span><span class="pbar"><span data-w="${
      (p * 100).toFixed(1)}"></span></span><span class="num">${pct(p)}</span></li>`).join('')}</ol>`;
}

function neighboursHTML(it) {
  if (!it.neighbours?.length) return '';
  return `<h2>Nearest training images</h2><div class="strip">${it.neighbours.map((n) =>
    `<figure><img src="${esc(n.thumb)}" width="96" height="96" loading="lazy" decoding="async"
    alt=""><figcaption>${esc(cname(n.label))}</figcaption></figure>`).join('')}</div>`;
}

const ONE = {
  cd: null,
  it: null,
  async render(r, tok) {
    const [cd, it] = await Promise.all([classData(r.cls), itemData(r.id)]);
    if (tok !== S.renderSeq) return;
    ONE.cd = cd;
    ONE.it = it;
    const i = cd.index.get(it.id);
    if (i !== undefined) cd.cursor = i;
    const d = i !== undefined ? cd.items[i].decision : it.decision;
    crumbs([['classes', '#/'], [cd.name, `#/c/${cd.cls}`], [it.name || `item ${it.id}`]]);
    $('#view').innerHTML = `<div class="one"><div><img class="big" src="${esc(it.preview)}"
      width="512" height="512" decoding="async" alt="${esc(it.name || '')}">
      <p class="nav hint"><kbd>←</kbd> previous · <kbd>→</kbd> next · <kbd>n</kbd> next undecided
      · <kbd>Esc</kbd> back to the grid</p></div><div>
      <h1>${esc(it.name || `item ${it.id}`)}</h1><dl>
      <dt>given label</dt><dd id="given">${esc(cname(it.label))}</dd>
      <dt>rank</dt><dd>${(it.rank ?? i ?? 0) + 1} / ${it.of ?? cd.items.length}
        <span class="muted">(most suspicious first)</span></dd>
      <dt>decision</dt><dd id="decision">${esc(decisionText(d, S.pending.has(it.id)))}</dd></dl>
      <h2>The model's top 5 <span class="hint">(digit: relabel to it)</span></h2>${top5HTML(it)}
      ${it.findings?.length ? `<h2>Why it is suspect</h2><ul class="findings">${it.findings.map(
        (f) => `<li><b>${esc(f.kind.replace('_', ' '))}</b>: ${esc(f.text)}</li>`).join('')}</ul>` : ''}
      ${neighboursHTML(it)}<div id="one-end"></div>
      <p class="hint"><kbd>k</kbd> keep · <kbd>w</kbd> wrong · <kbd>m</kbd> also · <kbd>x</kbd>
      remove · <kbd>u</kbd> unsure · <kbd>t</kbd> tag · <kbd>z</kbd> undo</p></div></div>`;
    document.querySelectorAll('.pbar > span').forEach((s) => { s.style.width = `${s.dataset.w}%`; });
    ONE.preload(i);
  },
  preload(i) {
    if (i === undefined) return;
    for (const next of ONE.cd.items.slice(i + 1, i + 3)) {
      itemData(next.id).then((n) => { new Image().src = n.preview; }, () => {});
    }
  },
  go(d) {
    const cd = ONE.cd;
    const i = cd.index.get(ONE.it.id) + d;
    if (i < 0) { toast('This is the first image of the class.'); return; }
    if (i >= cd.items.length) { ONE.end(); return; }
    location.hash = `#/c/${cd.cls}/i/${cd.items[i].id}`;
  },
  end() {
    const left = ONE.cd.items.filter((it) => status(it) === 'none' && !S.pending.has(it.id));
    $('#one-end').innerHTML = left.length ? `<p class="done">End of the class; ${plural(left.length,
      'image')} undecided (<kbd>n</kbd>).</p>` : '<p class="done">✓ class done: every image decided</p>';
  },
  nextUndecided() {
    const cd = ONE.cd;
    const from = cd.index.get(ONE.it.id);
    for (let k = 1; k < cd.items.length; k++) {
      const it = cd.items[(from + k) % cd.items.length];
      if (status(it) === 'none' && !S.pending.has(it.id)) {
        location.hash = `#/c/${cd.cls}/i/${it.id}`;
        return;
      }
    }
    ONE.end();
  },
  advance() { ONE.go(1); },
  onItem(id) {
    if (ONE.it?.id !== id) return;
    const el = $('#decision');
    const cd = ONE.cd;
    const i = cd.index.get(id);
    const d = i !== undefined ? cd.items[i].decision : ONE.it.decision;
    if (el) el.textContent = decisionText(d, S.pending.has(id));
  },
  keys: {
    ...DECISION_KEYS,
    ArrowLeft: () => ONE.go(-1),
    ArrowRight: () => ONE.go(1),
    Escape: () => { location.hash = `#/c/${ONE.cd.cls}`; },
    n: () => ONE.nextUndecided(),
    '[': () => nextClass(-1), ']': () => nextClass(1),
  },
};

// ---- view: blind --------------------------------------------------------------------------

const BLIND = {
  b: null,
  cur: null,
  async render(r, tok) {
    const b = await api('/api/blind');
    if (tok !== S.renderSeq) return;
    BLIND.b = b;
    crumbs([['blind']]);
    $('#progress').textContent = `${b.answered} / ${b.total} answered`;
    if (b.answered >= b.total) { await BLIND.summary(tok); return; }
    const it = b.items[b.answered];
    BLIND.cur = it;
    $('#view').innerHTML = `<div class="blind"><div><img class="big" src="${esc(it.thumb)}"
      width="480" height="480" decoding="async" alt="the image to classify"></div><div>
      <h1>Which class is this?</h1><p>${b.answered + 1} of ${b.total}</p>
      <p><kbd>w</kbd> or <kbd>Enter</kbd> pick the class · <kbd>u</kbd> cannot tell ·
      <kbd>z</kbd> undo the last answer · <kbd>?</kbd> keys</p></div></div>`;
    for (const n of b.items.slice(b.answered + 1, b.answered + 3)) new Image().src = n.thumb;
  },
  async answer() {
    const rows = S.state.classes.slice().sort((a, b) => a.name.localeCompare(b.name))
      .map((k) => ({ key: k.id, name: k.name, cls: k.id }));
    const c = await pick({ title: 'this image shows', rows });
    if (c !== null) BLIND.send(c);
  },
  async send(label) {
    const r = await decide('answer', [BLIND.cur.id], { label });
    if (r) route();
  },
  async summary(tok) {
    const s = await api('/api/blind/summary');
    if (tok !== S.renderSeq) return;
    const acc = (a) => (a === null || a === undefined ? '—' : pct(a));
    $('#view').innerHTML = `<h1>Blind review: done</h1><table class="summary">
      <tr><th></th><th>accuracy on ${s.n} test images</th></tr>
      <tr><td>you</td><td class="num">${acc(s.person)}</td></tr>
      <tr><td>the model</td><td class="num">${acc(s.model)}</td></tr>
      <tr><td>the given labels</td><td class="num">${acc(s.labels)}</td></tr></table>
      <h2>Where you and the model disagree (${(s.disagreements || []).length})</h2>
      <div class="strip">${(s.disagreements || []).map((d) => `<figure><img src="${esc(d.thumb)}"
      width="96" height="96" loading="lazy" decoding="async" alt=""><figcaption>label
      ${esc(cname(d.label))}<br>you ${esc(cname(d.person))}<br>model ${esc(cname(d.model))}
      </figcaption></figure>`).join('')}</div>`;
  },
  keys: {
    w: () => BLIND.cur && BLIND.answer(),
    Enter: () => BLIND.cur && BLIND.answer(),
    '/': () => BLIND.cur && BLIND.answer(),
    u: () => BLIND.cur && BLIND.send(-1),
  },
};

// ---- routing and start --------------------------------------------------------------------

const VIEWS = { classes: CLASSES, grid: GRID, one: ONE, blind: BLIND };

function parseRoute() {
  const h = location.hash.replace(/^#/, '') || '/';
  let m;
  if (h === '/blind') return { view: 'blind' };
  if ((m = h.match(/^\/c\/(\d+)\/i\/(\d+)$/))) return { view: 'one', cls: +m[1], id: +m[2] };
  if ((m = h.match(/^\/c\/(\d+)$/))) return { view: 'grid', cls: +m[1] };
  return { view: 'classes' };
}

async function route() {
  const r = parseRoute();
  if (S.state.mode === 'blind' && r.view !== 'blind') { location.replace('#/blind'); return; }
  if (S.state.mode !== 'blind' && r.view === 'blind') { location.replace('#/'); return; }
  if (P.resolve) closePicker(null);
  S.route = r;
  const tok = ++S.renderSeq;
  try {
    await VIEWS[r.view].render(r, tok);
  } catch (e) {
    if (tok === S.renderSeq) {
      $('#view').innerHTML = `<p class="empty">Could not show this page: ${esc(e.message)}</p>` +
        '<p><a href="#/">back to the classes</a></p>';
    }
  }
}

function wire() {
  document.addEventListener('keydown', onKey);
  $('#picker-input').addEventListener('keydown', pickerKey);
  $('#picker-input').addEventListener('input', filterPicker);
  $('#picker-list').addEventListener('click', (e) => {
    const li = e.target.closest('li[data-i]');
    if (li) closePicker(P.shown[Number(li.dataset.i)].key);
  });
  $('#picker').addEventListener('click', (e) => { if (e.target.id === 'picker') closePicker(null); });
  $('#help').addEventListener('click', (e) => { if (e.target.id === 'help') toggleHelp(false); });
  $('#help-btn').addEventListener('click', () => toggleHelp());
  $('#alt-keys').addEventListener('change', (e) => {
    S.altKeys = e.target.checked;
    localStorage.setItem('loupe-review-alt-keys', S.altKeys ? '1' : '0');
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('resize', () => { if (S.route.view === 'grid') GRID.sizeChunks(); });
}

async function boot() {
  wire();
  try {
    S.state = await api('/api/state');
  } catch (e) {
    banner(`Cannot reach the review server: ${e.message}`);
    $('#view').innerHTML = '<p class="empty">No connection to loupe review.</p>';
    return;
  }
  renderHeader();
  await route();
}

boot();
