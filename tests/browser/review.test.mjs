// review.test.mjs — `loupe review`'s page in a real headless browser (docs/REVIEW.md).
//
// Run by tests/e2e/review_check.py (ctest `review`), which makes the archives, starts the
// servers, and afterwards reads /annotations with h5py; by hand, with a server running:
//   LOUPE_REVIEW_URL='http://127.0.0.1:PORT/?token=T' LOUPE_NODE_DIR=build/node \
//     node --test tests/browser/review.test.mjs
// Environment:
//   LOUPE_REVIEW_URL      the URL `loupe review RUN.h5` printed (with its token)
//   LOUPE_REVIEW_BIG_URL  optional: a second server on an archive with a class of ~5,000 images
//   LOUPE_REVIEW_BLIND_URL optional: a third server, `loupe review --blind`, on a copy of the run
//   LOUPE_REVIEW_OUT      where to write the decisions this test made (JSON, for the driver)
//   LOUPE_REVIEW_SHOTS    where the screenshots go (default: the current directory)
//   LOUPE_NODE_DIR        the directory whose node_modules holds playwright-core
//   LOUPE_CHROMIUM        the browser (default /usr/bin/chromium, Debian's)
//
// Checks, with the keyboard alone: the class list → a class's grid (in the server's order) →
// keep (k), relabel through the picker (w, two or three letters, Enter), also-shows (m + the
// picker), remove (x), tag (t, text, Enter; the letters typed are not taken as keys), undo (z:
// the tag goes, "Undid" shows, the undo names the tag's entry), Alt+key is not a decision,
// Shift+ArrowRight ×3 then k (one request, four items), one by one (Enter; Numpad2 relabels to
// the model's 2nd; u; ← →), Esc back, z typed into the class filter is no undo, a merge (Shift+M + the picker), the help overlay (?).
// "saved ✓" shows only once the server has answered. After a reload the page shows the same
// decisions, which equal the replay of what this test sent (and the server's /api/class). No
// console error, no page error, no request outside the server's origin. Screenshots of every
// page at 1280×800. With LOUPE_REVIEW_BIG_URL: the time to the first painted grid of a 5,000
// image class, the thumbnails fetched before scrolling (far fewer than all), a scroll to the
// bottom without long stalls, and `immutable` on the thumbnails. With LOUPE_REVIEW_BLIND_URL:
// three answers by keyboard (the picker alphabetical, no probabilities), `n / N` counting, the
// answers still there after a reload, and nothing about an item but its id and thumbnail in
// any response, URL, alt or title; no item name in the page's text.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadPlaywright } from './playwright.mjs';
import fs from 'node:fs';
import path from 'node:path';

const URL0 = process.env.LOUPE_REVIEW_URL || process.argv[2];
if (!URL0) throw new Error('review.test.mjs: set LOUPE_REVIEW_URL (the URL loupe review printed)');
const BIG = process.env.LOUPE_REVIEW_BIG_URL || '';
const BLIND = process.env.LOUPE_REVIEW_BLIND_URL || '';
const OUT = process.env.LOUPE_REVIEW_OUT || '';
const shots = path.resolve(process.env.LOUPE_REVIEW_SHOTS || '.');
const executablePath = process.env.LOUPE_CHROMIUM || '/usr/bin/chromium';
fs.mkdirSync(shots, { recursive: true });


let browser;
before(async () => {
  const { chromium } = loadPlaywright();
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  browser = await chromium.launch({ executablePath, args: root ? ['--no-sandbox'] : [] });
});
after(async () => { if (browser) await browser.close(); });

// A page on the server at url that records console errors, page errors, failed requests and
// any request that leaves the server's origin (those are aborted).
async function openPage(url) {
  const origin = new URL(url).origin;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 },
                                             deviceScaleFactor: 1 });
  const log = { errors: [], foreign: [], failed: [], posts: [] };
  await context.route((u) => u.origin !== origin, (route) => {
    log.foreign.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(`console: ${m.text()} (${m.location().url || '?'})`);
  });
  page.on('pageerror', (e) => log.errors.push(`page: ${e && e.stack || e}`));
  page.on('crash', () => log.errors.push('the page crashed'));
  page.on('requestfailed', (r) => log.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('request', (r) => { if (r.method() === 'POST') log.posts.push(r.url()); });
  return { context, page, log, origin };
}

// GET an API path from inside the page (the token from its <meta>, the cookie it holds).
const apiGet = (page, p) => page.evaluate(async (u) => {
  const t = document.querySelector('meta[name="loupe-token"]').content;
  const r = await fetch(u, { headers: { 'X-Loupe-Token': t }, cache: 'no-store' });
  if (!r.ok) throw new Error(`${u}: HTTP ${r.status}`);
  return r.json();
}, p);

const shot = (page, name) => page.screenshot({ path: path.join(shots, `review-${name}.png`) });
const status = (page, i) => page.getAttribute(`.tile[data-i="${i}"]`, 'data-status');
const badge = (page, i) => page.textContent(`.tile[data-i="${i}"] .badge`);
const cursor = (page) => page.getAttribute('.tile.cur', 'data-i').then(Number);

// A digit from the number pad with NumLock on (Playwright's 'Numpad2' is NumLock off:
// ArrowDown): through the DevTools protocol, e.key '2', e.code 'Numpad2', location 3.
async function numpad(page, digit) {
  const cdp = await page.context().newCDPSession(page);
  const key = { key: digit, code: `Numpad${digit}`, windowsVirtualKeyCode: 96 + Number(digit),
                location: 3 };
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', text: digit, ...key });
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', ...key });
  await cdp.detach();
}

// The shortest prefix (2 letters or more) that only class c's name starts with.
function prefixOf(classes, c) {
  const name = classes.find((k) => k.id === c).name.toLowerCase();
  for (let n = 2; n <= name.length; n++) {
    const p = name.slice(0, n);
    if (classes.filter((k) => k.name.toLowerCase().startsWith(p)).length === 1) return p;
  }
  return name;
}

// What the decisions add up to for one item (docs/REVIEW.md; annotations.h's replay).
function replay(entries) {
  const undone = new Set();
  for (const e of entries) {
    if (e.action === 'undo') undone.add(e.ref);
    if (e.action === 'redo') undone.delete(e.ref);
  }
  const d = new Map();
  const get = (id) => {
    if (!d.has(id)) d.set(id, { status: 'none', label: -1, also: [], tags: [] });
    return d.get(id);
  };
  const merges = new Map();
  for (const e of entries) {
    if (undone.has(e.seq)) continue;
    if (e.action === 'merge') merges.set(e.class, e.label);
    if (e.action === 'unmerge') merges.delete(e.class);
    for (const id of e.items || []) {
      const x = get(id);
      if (['keep', 'remove', 'unsure'].includes(e.action)) Object.assign(x, { status: e.action, label: -1 });
      if (e.action === 'relabel') Object.assign(x, { status: 'relabel', label: e.label });
      if (e.action === 'also' && !x.also.includes(e.label)) x.also.push(e.label);
      if (e.action === 'tag' && !x.tags.includes(e.tag)) x.tags.push(e.tag);
    }
  }
  return { items: d, merges };
}

describe(`loupe review in ${path.basename(executablePath)}: decisions by keyboard`, () => {
  let page, log, state, C, items, classes;
  const entries = [];      // what this test sent, as the server numbered it

  // Run act (a key press) and wait for the POST it makes and for the state fetched after it;
  // the POST's body and answer go into entries.
  async function saved(act, what = '/api/decision') {
    const post = page.waitForResponse((r) => r.url().endsWith(what) &&
                                            r.request().method() === 'POST', { timeout: 15000 });
    const posted = post.then(() => page.waitForResponse((r) => r.url().endsWith('/api/state'),
                                                        { timeout: 15000 }));
    await act();
    const r = await post;
    assert.ok(r.ok(), `${what}: HTTP ${r.status()}`);
    const body = JSON.parse(r.request().postData());
    const ans = await r.json();
    await posted;
    await page.waitForFunction(() => document.querySelector('#save').dataset.pending === '0');
    assert.equal(await page.textContent('#save'), 'saved ✓', '#save says saved once answered');
    const e = what === '/api/decision'
      ? { seq: ans.seq, action: body.action, items: body.items, label: body.label,
          class: body.class, tag: body.tag }
      : { seq: ans.seq, action: what.slice(5), items: [], ref: ans.ref };
    entries.push(e);
    return { body, ans, e };
  }

  async function picker(text) {
    await page.waitForSelector('#picker:not([hidden])');
    await page.keyboard.type(text);
  }

  before(async () => {
    ({ page, log } = await openPage(URL0));
    const t0 = Date.now();
    const resp = await page.goto(URL0, { waitUntil: 'load', timeout: 30000 });
    assert.ok(resp.ok(), `the page loads (${resp.status()})`);
    await page.waitForSelector('#class-rows tr.row');
    console.log(`class list in ${Date.now() - t0} ms`);
    state = await apiGet(page, '/api/state');
    classes = state.classes;
    C = classes[0].id;
  });

  it('shows the class list, the token gone from the URL', async () => {
    assert.ok(!page.url().includes('token='), `no token in ${page.url()}`);
    const rows = await page.$$eval('#class-rows tr.row', (trs) => trs.map((tr) =>
      [Number(tr.dataset.class), tr.querySelector('.name').textContent]));
    assert.deepEqual(rows, classes.map((k) => [k.id, k.name]), 'one row per class, in order');
    assert.equal(state.mode, 'review');
    assert.match(await page.textContent('#progress'), /reviewed/);
    await shot(page, 'classes');
  });

  it('opens the first class with Enter, in the server\'s order', async () => {
    await page.keyboard.press('Enter');
    await page.waitForSelector('.tile');
    assert.equal(new URL(page.url()).hash, `#/c/${C}`);
    items = (await apiGet(page, `/api/class/${C}`)).items;
    assert.ok(items.length >= 12, `class ${C} has at least 12 items (${items.length})`);
    const ids = await page.$$eval('.tile', (ts) => ts.map((t) => Number(t.dataset.id)));
    assert.deepEqual(ids, items.map((it) => it.id), 'tiles in /api/class order');
    assert.equal(await cursor(page), 0, 'the cursor on the first tile');
    await shot(page, 'grid');
  });

  it('keeps with k (saved only after the answer), then moves on', async () => {
    const { body } = await saved(() => page.keyboard.press('k'));
    assert.deepEqual(body.items, [items[0].id]);
    assert.equal(await status(page, 0), 'keep');
    assert.match(await badge(page, 0), /K/);
    assert.equal(await cursor(page), 1, 'the cursor on the next undecided tile');
  });

  it('relabels with w, two or three letters and Enter', async () => {
    const T = (classes[3] && classes[3].id !== C ? classes[3] : classes.find((k) => k.id !== C)).id;
    await page.keyboard.press('w');
    await picker(prefixOf(classes, T));
    await shot(page, 'picker');
    assert.equal(await page.textContent('#picker-list li.hi .name'), classes.find((k) => k.id === T).name,
                 'the typed letters put the class on top');
    const { body } = await saved(() => page.keyboard.press('Enter'));
    assert.deepEqual([body.action, body.items, body.label], ['relabel', [items[1].id], T]);
    assert.ok(await page.isHidden('#picker'));
    assert.equal(await status(page, 1), 'relabel');
    assert.match(await badge(page, 1), new RegExp(`W → ${classes.find((k) => k.id === T).name}`));
    assert.equal(await cursor(page), 2);
  });

  it('marks also-shows with m, removes with x, tags with t', async () => {
    const A = classes[classes.length - 1].id === C ? classes[1].id : classes[classes.length - 1].id;
    await page.keyboard.press('m');
    await picker(prefixOf(classes, A));
    const r1 = await saved(() => page.keyboard.press('Enter'));
    assert.deepEqual([r1.body.action, r1.body.items, r1.body.label], ['also', [items[2].id], A]);
    assert.match(await badge(page, 2), new RegExp(`\\+${classes.find((k) => k.id === A).name}`));
    assert.equal(await cursor(page), 2, 'also-shows leaves the cursor where it is');
    await page.keyboard.press('ArrowRight');
    const r2 = await saved(() => page.keyboard.press('x'));
    assert.deepEqual([r2.body.action, r2.body.items], ['remove', [items[3].id]]);
    assert.equal(await status(page, 3), 'remove');
    assert.equal(await cursor(page), 4);
    await page.keyboard.press('t');
    await picker('low light');       // w, x, t, l ... typed into the box, not taken as keys
    const r3 = await saved(() => page.keyboard.press('Enter'));
    assert.deepEqual([r3.body.action, r3.body.items, r3.body.tag], ['tag', [items[4].id], 'low light']);
    assert.match(await badge(page, 4), /#low light/);
  });

  it('undoes the tag with z', async () => {
    const tagSeq = entries[entries.length - 1].seq;
    const { ans } = await saved(() => page.keyboard.press('z'), '/api/undo');
    assert.equal(ans.ref, tagSeq, 'the undo is the tag\'s entry');
    await page.waitForFunction((i) => !document.querySelector(`.tile[data-i="${i}"] .badge`)
      .textContent.includes('#low light'), 4);
    assert.match(await page.textContent('#toast'), /^Undid: tag/);
    assert.equal(await cursor(page), 4, 'the cursor on the item undone');
  });

  it('ignores keys with Alt held', async () => {
    const n = log.posts.length;
    await page.keyboard.press('Alt+x');
    await page.keyboard.press('Alt+k');
    await page.waitForTimeout(400);
    assert.equal(log.posts.length, n, 'no request for Alt+x, Alt+k');
    assert.equal(await status(page, 4), 'none');
  });

  it('decides four tiles with Shift+ArrowRight ×3 then k, in one request', async () => {
    for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+ArrowRight');
    assert.equal(await page.$$eval('.tile.sel', (t) => t.length), 4, 'four tiles selected');
    const n = log.posts.length;
    const { body } = await saved(() => page.keyboard.press('k'));
    assert.equal(log.posts.length, n + 1, 'one request');
    assert.deepEqual(body.items, items.slice(4, 8).map((it) => it.id));
    for (let i = 4; i < 8; i++) assert.equal(await status(page, i), 'keep', `tile ${i}`);
    assert.equal(await page.$$eval('.tile.sel', (t) => t.length), 0, 'the selection cleared');
  });

  it('goes one by one: Enter, Numpad2 (the model\'s 2nd), u, ← →', async () => {
    await page.keyboard.press('Escape');      // nothing selected: would leave; so come back
    await page.waitForSelector('#class-rows tr.row');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.tile.cur');
    assert.equal(await cursor(page), 7, 'the grid kept its cursor');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#decision');
    assert.equal(new URL(page.url()).hash, `#/c/${C}/i/${items[8].id}`);
    const it8 = await apiGet(page, `/api/item/${items[8].id}`);
    assert.equal(await page.textContent('#decision'), '—');
    await shot(page, 'one');
    const { body } = await saved(() => numpad(page, '2'));
    const second = it8.top[1][0];
    assert.deepEqual(body.items, [items[8].id]);
    if (second === it8.label) assert.equal(body.action, 'keep');
    else assert.deepEqual([body.action, body.label], ['relabel', second]);
    await page.waitForFunction((id) => location.hash.endsWith(`/i/${id}`), items[9].id);
    await page.waitForSelector('#decision');
    await saved(() => page.keyboard.press('u'));
    await page.waitForFunction((id) => location.hash.endsWith(`/i/${id}`), items[10].id);
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((id) => location.hash.endsWith(`/i/${id}`), items[9].id);
    await page.waitForFunction(() => document.querySelector('#decision')?.textContent === '? unsure');
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((id) => location.hash.endsWith(`/i/${id}`), items[8].id);
    await page.waitForFunction(() => /^(wrong → |✓ keep)/.test(
      document.querySelector('#decision')?.textContent || ''));
  });

  it('merges the class with Shift+M and the picker', async () => {
    await page.keyboard.press('Escape');
    await page.waitForSelector('.tile');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#class-rows tr.row.cur');
    const n = log.posts.length;                 // z typed into the filter is not an undo
    await page.keyboard.press('/');
    await page.keyboard.type('zz');
    await page.waitForTimeout(300);
    assert.equal(log.posts.length, n, 'keys typed into the filter are not decisions');
    await page.keyboard.press('Escape');
    await page.waitForSelector(`#class-rows tr.row.cur[data-class="${C}"]`);
    const B = classes.find((k) => k.id !== C && k.merged_into < 0).id;
    await page.keyboard.press('Shift+M');
    await picker(prefixOf(classes, B));
    const { body } = await saved(() => page.keyboard.press('Enter'));
    assert.deepEqual([body.action, body.class, body.label, body.items], ['merge', C, B, []]);
    await page.waitForFunction(([c, name]) => document.querySelector(
      `#class-rows tr[data-class="${c}"] .merge`)?.textContent.includes(name),
    [C, classes.find((k) => k.id === B).name]);
  });

  it('lists the keys on ?', async () => {
    await page.keyboard.press('?');
    await page.waitForSelector('#help:not([hidden])');
    const keys = await page.$$eval('#help-keys kbd', (ks) => ks.map((k) => k.textContent));
    for (const k of ['k', 'w', '1 – 9', 'm', 'x', 'u', 't', 'z', 'Shift+M', 'Enter', 'Esc', '?']) {
      assert.ok(keys.includes(k), `help lists ${k} (${keys.join(' ')})`);
    }
    await shot(page, 'help');
    await page.keyboard.press('Escape');
    assert.ok(await page.isHidden('#help'));
  });

  it('shows the same decisions after a reload', async () => {
    const want = replay(entries);
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('#class-rows tr.row');
    const B = want.merges.get(C);
    const merged = await page.textContent(`#class-rows tr[data-class="${C}"] .merge`);
    assert.ok(merged.includes(classes.find((k) => k.id === B).name), `merge shown (${merged})`);
    await page.goto(`${new URL(URL0).origin}/#/c/${C}`);
    await page.waitForSelector('.tile');
    const server = (await apiGet(page, `/api/class/${C}`)).items;
    const name = (c) => classes.find((k) => k.id === c).name;
    for (const [i, it] of server.entries()) {
      const w = want.items.get(it.id) || { status: 'none', label: -1, also: [], tags: [] };
      const d = it.decision;
      assert.deepEqual([d.status, d.status === 'relabel' ? d.label : -1, d.also, d.tags],
                       [w.status, w.label, w.also, w.tags], `the server's decision for item ${it.id}`);
      assert.equal(await status(page, i), w.status, `tile ${i}'s status`);
      const text = await badge(page, i);
      for (const a of w.also) assert.ok(text.includes(`+${name(a)}`), `tile ${i}: +${name(a)}`);
      for (const t of w.tags) assert.ok(text.includes(`#${t}`), `tile ${i}: #${t}`);
      if (w.status === 'relabel') assert.ok(text.includes(`W → ${name(w.label)}`), `tile ${i}`);
    }
    const st = await apiGet(page, '/api/state');
    const decided = [...want.items.values()].filter((x) => x.status !== 'none').length;
    assert.equal(st.progress.reviewed, decided, 'progress counts what was decided');
  });

  it('writes down what it did (for the driver)', async () => {
    if (!OUT) return;
    const ids = [...new Set(entries.flatMap((e) => e.items))];
    const where = {};
    for (const id of ids) {
      const it = await apiGet(page, `/api/item/${id}`);
      where[id] = { split: it.split, item: it.item, label: it.label };
    }
    fs.writeFileSync(OUT, JSON.stringify({ entries, items: where }, null, 1));
  });

  it('had no console error, page error or foreign request', () => {
    assert.deepEqual(log.errors, [], 'errors');
    assert.deepEqual(log.foreign, [], 'requests outside the server');
    assert.deepEqual(log.failed, [], 'failed requests');
  });
});

describe('a class of ~5,000 images', { skip: !BIG && 'no LOUPE_REVIEW_BIG_URL' }, () => {
  let page, log;
  const thumbs = [];
  const cache = [];           // Cache-Control of the thumbnails' responses

  before(async () => {
    ({ page, log } = await openPage(BIG));
    page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/t/')) thumbs.push(r.url()); });
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/t/')) cache.push(r.headers()['cache-control'] || '');
    });
    await page.goto(BIG, { waitUntil: 'load', timeout: 30000 });
    await page.waitForSelector('#class-rows tr.row');
  });

  it('paints the first screen fast, fetching few thumbnails, and scrolls to the bottom', async () => {
    const state = await apiGet(page, '/api/state');
    const big = state.classes.reduce((a, b) => (b.count > a.count ? b : a));
    assert.ok(big.count >= 4000, `a class of 4,000 or more (${big.count})`);
    const t0 = Date.now();
    await page.evaluate((c) => { location.hash = `#/c/${c}`; }, big.id);
    await page.waitForFunction(() => {
      const tiles = [...document.querySelectorAll('.tile')];
      if (!tiles.length) return false;
      const seen = tiles.slice(0, 60).filter((t) => t.getBoundingClientRect().top < innerHeight);
      return seen.length > 0 && seen.every((t) => t.querySelector('img').complete &&
                                                 t.querySelector('img').naturalWidth > 0);
    }, null, { polling: 'raf', timeout: 20000 });
    const firstPaint = Date.now() - t0;
    await page.waitForTimeout(300);
    const before = new Set(thumbs).size;
    const tiles = await page.$$eval('.tile', (t) => t.length);
    console.log(`first grid paint ${firstPaint} ms; ${tiles} tiles; ${before} thumbnails fetched before scrolling`);
    assert.equal(tiles, big.count, 'every image of the class has a tile');
    assert.ok(firstPaint < 1500, `the first screen within ~1 s (${firstPaint} ms)`);
    assert.ok(before < 300, `far fewer than all thumbnails before scrolling (${before})`);
    await shot(page, 'big-grid');
    const scroll = await page.evaluate(() => new Promise((done) => {
      const t = performance.now();
      let last = t, worst = 0, frames = 0;
      const step = (now) => {
        worst = Math.max(worst, now - last);
        last = now;
        frames++;
        window.scrollBy(0, 2000);
        if (innerHeight + scrollY >= document.documentElement.scrollHeight - 2) {
          done({ ms: now - t, worst, frames, height: document.documentElement.scrollHeight });
        } else requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    }));
    console.log(`scroll to the bottom: ${scroll.ms.toFixed(0)} ms, ${scroll.frames} frames, ` +
                `longest frame ${scroll.worst.toFixed(0)} ms, page ${scroll.height} px`);
    assert.ok(scroll.worst < 500, `no frame longer than 500 ms while scrolling (${scroll.worst})`);
    const last = await page.$eval('.tile:last-child', (t) => t.getBoundingClientRect().bottom);
    assert.ok(last <= 800 + 1, 'the last tile is on screen at the bottom');
    assert.ok(cache.length > 0 && cache.every((c) => /immutable/.test(c)),
              `thumbnails are served immutable (${[...new Set(cache)].join('; ')})`);
  });

  it('had no console error, page error or foreign request', () => {
    assert.deepEqual(log.errors, [], 'errors');
    assert.deepEqual(log.foreign, [], 'requests outside the server');
  });
});

describe('blind mode', { skip: !BLIND && 'no LOUPE_REVIEW_BLIND_URL' }, () => {
  let page, log;
  const bodies = [];          // [url, text] of every API response
  const answers = [];

  before(async () => {
    ({ page, log } = await openPage(BLIND));
    page.on('response', async (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/')) bodies.push([u.pathname, await r.text().catch(() => '')]);
    });
    await page.goto(BLIND, { waitUntil: 'load', timeout: 30000 });
    await page.waitForSelector('.blind img.big');
  });

  const answered = () => page.evaluate(() => document.querySelector('.blind p')?.textContent);

  it('answers three images by keyboard; the answers survive a reload', async () => {
    assert.equal(new URL(page.url()).hash, '#/blind');
    const b0 = await apiGet(page, '/api/blind');
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('w');
      await page.waitForSelector('#picker:not([hidden])');
      const rows = await page.$$eval('#picker-list li .name', (e) => e.map((x) => x.textContent));
      assert.deepEqual(rows, rows.slice().sort((a, b) => a.localeCompare(b)), 'alphabetical');
      assert.equal(await page.$$eval('#picker-list li .p', (e) => e.map((x) => x.textContent).join('')),
                   '', 'no probability in the picker');
      if (i === 0) await shot(page, 'blind-picker');
      const post = page.waitForResponse((r) => r.url().endsWith('/api/decision'));
      await page.keyboard.press(String(i + 1));
      const r = await post;
      assert.ok(r.ok());
      answers.push(JSON.parse(r.request().postData()));
      await page.waitForFunction((n) => document.querySelector('.blind p')?.textContent
        .startsWith(`${n} of`), b0.answered + i + 2);
    }
    assert.deepEqual(answers.map((a) => a.action), ['answer', 'answer', 'answer']);
    await shot(page, 'blind');
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('.blind img.big');
    assert.ok((await answered()).startsWith(`${b0.answered + 4} of`), await answered());
    assert.equal((await apiGet(page, '/api/blind')).answered, b0.answered + 3);
  });

  it('tells nothing about an item but its id and thumbnail', async () => {
    const blind = bodies.filter(([p]) => p === '/api/blind').map(([, t]) => JSON.parse(t));
    assert.ok(blind.length >= 2);
    for (const b of blind) {
      for (const it of b.items) {
        assert.deepEqual(Object.keys(it).sort(), ['id', 'thumb'], 'an item: id and thumb only');
        assert.match(it.thumb, /^\/t\/[0-9a-f]+-\d+\.jpg$/, 'a thumbnail named by its hash');
      }
    }
    const asked = new Set(bodies.map(([p]) => p.replace(/\/\d+$/, '/N')));
    for (const p of asked) {
      assert.ok(['/api/state', '/api/blind', '/api/examples/N', '/api/decision', '/api/blind/summary']
        .includes(p), `only blind-safe API requests (${p})`);
    }
    const text = await page.evaluate(() => document.body.innerText + [...document.querySelectorAll(
      '[alt],[title]')].map((e) => `${e.getAttribute('alt')} ${e.getAttribute('title')}`).join(' '));
    assert.doesNotMatch(text, /\b(train|test)\/\d+/, 'no item name in the page');
    assert.doesNotMatch(text, /\d+%/, 'no probability in the page');
    assert.deepEqual(log.errors, [], 'errors');
    assert.deepEqual(log.foreign, [], 'requests outside the server');
  });
});
