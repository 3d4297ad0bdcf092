// report.test.mjs — `loupe report`'s HTML in a real headless browser (issue 11).
//
// Run by tests/e2e/report_check.py (ctest `report`), which writes the archive, the report and
// the expectations; by hand:
//   LOUPE_REPORT=run.html LOUPE_REPORT_EXPECT=expect.json LOUPE_NODE_DIR=build/node \
//     node --test tests/browser/report.test.mjs
// (or `node tests/browser/report.test.mjs run.html expect.json`). Environment:
//   LOUPE_REPORT         the report: a path or a file:// URL
//   LOUPE_REPORT_EXPECT  JSON: {"k": K, "sheets": [N, ...] (data-expected per sheet, in
//                        document order), "curves": true|false}
//   LOUPE_NODE_DIR       the directory whose node_modules holds playwright-core (scripts/setup
//                        installs it into build/node); else NODE_PATH, else normal resolution
//   LOUPE_REPORT_SHOTS   where the screenshots go (default: the current directory):
//                        report-screenshot.png (1280×800, the top of the page) and
//                        report-full.png (the whole page)
//   LOUPE_CHROMIUM       the browser (default /usr/bin/chromium, Debian's)
//
// Checks: the page loads from file:// with no console error, no page error and no request
// other than data: URLs and the file itself (anything else is aborted and fails the test);
// every heatmap (<svg class="heatmap" data-k=K>) holds K×K <rect class="cell"> laid out on a
// K×K grid; every contact sheet (<div class="sheet" data-expected=N>) holds N
// <img class="thumb">, each decoded by the browser (naturalWidth > 0) and shown; the training
// curves (<svg class="curve">) are there and drawn when the archive has /metrics.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadPlaywright } from './playwright.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const reportArg = process.env.LOUPE_REPORT || process.argv[2];
const expectArg = process.env.LOUPE_REPORT_EXPECT || process.argv[3];
if (!reportArg || !expectArg) {
  throw new Error('report.test.mjs: set LOUPE_REPORT (the HTML) and LOUPE_REPORT_EXPECT (JSON)');
}
const url = reportArg.startsWith('file:') ? reportArg : pathToFileURL(path.resolve(reportArg)).href;
const expected = JSON.parse(fs.readFileSync(expectArg, 'utf8'));
const shots = path.resolve(process.env.LOUPE_REPORT_SHOTS || '.');
const executablePath = process.env.LOUPE_CHROMIUM || '/usr/bin/chromium';

// data: URLs in messages cut to their head: a thumbnail's base64 would fill the log.
const short = (s) => String(s).replace(/(data:[^,\s]{0,40},[^\s)'"]{0,24})[^\s)'"]{16,}/g,
                                       (m, head) => `${head}...(${m.length} chars)`);
const allowed = (u) => u.startsWith('data:') || u === url || u === 'about:blank';

describe(`loupe report in ${path.basename(executablePath)}: ${url}`, () => {
  let browser, page;
  const consoleErrors = [], pageErrors = [], failed = [];
  const foreign = new Set();

  before(async () => {
    const { chromium } = loadPlaywright();
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    browser = await chromium.launch({ executablePath, args: root ? ['--no-sandbox'] : [] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 },
                                               deviceScaleFactor: 1 });
    // Nothing may leave the file: every request that is not a data: URL or the report itself
    // is recorded and aborted (route sees http(s) and the like; 'request' sees file: too).
    await context.route((u) => !allowed(u.href), (route) => {
      foreign.add(route.request().url());
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(short(`${m.text()} (${m.location().url || '?'})`));
      else if (m.type() === 'warning') console.log(`console warning: ${m.text()}`);
    });
    page.on('pageerror', (e) => pageErrors.push(String(e && e.stack || e)));
    page.on('request', (r) => { if (!allowed(r.url())) foreign.add(r.url()); });
    page.on('requestfailed', (r) => failed.push(short(`${r.url()}: ${r.failure()?.errorText}`)));
    page.on('websocket', (w) => foreign.add(w.url()));
    page.on('crash', () => pageErrors.push('the page crashed'));
    const t0 = Date.now();
    const response = await page.goto(url, { waitUntil: 'load', timeout: 30000 });
    assert.ok(response === null || response.ok(), `the report loads (${response?.status()})`);
    // Images below the fold may be lazy: bring each one that is not yet complete into view
    // and wait for it (load or error) before anything is counted.
    await page.evaluate(async () => {
      for (const img of document.images) {
        if (img.complete) continue;
        img.scrollIntoView();
        await new Promise((done) => {
          img.addEventListener('load', done, { once: true });
          img.addEventListener('error', done, { once: true });
          setTimeout(done, 5000);
        });
      }
      window.scrollTo(0, 0);
    });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    console.log(`loaded in ${Date.now() - t0} ms`);
  });

  after(async () => { if (browser) await browser.close(); });

  it('has no console error and no page error', () => {
    assert.deepEqual(pageErrors, [], 'page errors');
    assert.deepEqual(consoleErrors, [], 'console errors');
  });

  it('requests nothing but data: URLs and the file itself', () => {
    assert.deepEqual([...foreign], [], 'requests that leave the file');
    assert.deepEqual(failed, [], 'failed requests');
  });

  it(`shows the confusion heatmap as ${expected.k}×${expected.k} cells`, async () => {
    const maps = await page.$$eval('svg.heatmap', (svgs) => svgs.map((svg) => {
      const cells = [...svg.querySelectorAll('rect.cell')];
      const boxes = cells.map((c) => c.getBoundingClientRect());
      const key = (v) => Math.round(v * 2) / 2;
      return {
        k: svg.getAttribute('data-k'),
        cells: cells.length,
        empty: boxes.filter((b) => !(b.width > 0 && b.height > 0)).length,
        columns: new Set(boxes.map((b) => key(b.left + b.width / 2))).size,
        rows: new Set(boxes.map((b) => key(b.top + b.height / 2))).size,
        width: svg.getBoundingClientRect().width,
      };
    }));
    assert.ok(maps.length >= 1, 'there is at least one <svg class="heatmap">');
    const K = expected.k;
    maps.forEach((m, i) => {
      const what = `heatmap ${i + 1} of ${maps.length}`;
      assert.equal(m.k, String(K), `${what}: data-k`);
      assert.equal(m.cells, K * K, `${what}: rect.cell count`);
      assert.equal(m.empty, 0, `${what}: cells with no area`);
      assert.equal(m.columns, K, `${what}: distinct cell columns`);
      assert.equal(m.rows, K, `${what}: distinct cell rows`);
      if (m.width > 1280) console.log(`note: ${what} is ${m.width}px wide, wider than the window`);
    });
  });

  it(`shows ${expected.sheets.length} contact sheets, every image decoded`, async () => {
    const sheets = await page.$$eval('div.sheet', (divs) => divs.map((div) => {
      const thumbs = [...div.querySelectorAll('img.thumb')];
      return {
        expected: div.getAttribute('data-expected'),
        thumbs: thumbs.length,
        bad: thumbs.flatMap((img, i) => (img.complete && img.naturalWidth > 0 ? [] :
          [`#${i} (${img.src.slice(0, 40)}...)`])),
        hidden: thumbs.filter((img) => {
          const b = img.getBoundingClientRect();
          return !(b.width > 0 && b.height > 0);
        }).length,
        nonData: thumbs.filter((img) => !img.getAttribute('src')?.startsWith('data:image/')).length,
      };
    }));
    assert.equal(sheets.length, expected.sheets.length, 'number of div.sheet');
    sheets.forEach((s, i) => {
      const what = `sheet ${i + 1} of ${sheets.length}`;
      assert.equal(s.expected, String(expected.sheets[i]), `${what}: data-expected`);
      assert.equal(s.thumbs, expected.sheets[i], `${what}: img.thumb count`);
      assert.deepEqual(s.bad, [], `${what}: images the browser could not decode`);
      assert.equal(s.hidden, 0, `${what}: images with no area on the page`);
      assert.equal(s.nonData, 0, `${what}: images whose src is not a data:image/ URL`);
    });
    const broken = await page.$$eval('img', (imgs) =>
      imgs.filter((img) => !(img.complete && img.naturalWidth > 0)).length);
    assert.equal(broken, 0, 'images anywhere on the page that did not load');
  });

  it(expected.curves ? 'draws the training curves' : 'has no training curves (no /metrics)', async () => {
    const curves = await page.$$eval('svg.curve', (svgs) => svgs.map((svg) => {
      const b = svg.getBoundingClientRect();
      const marks = [...svg.querySelectorAll('path, polyline, line, circle')]
        .filter((e) => { const r = e.getBBox(); return r.width > 0 || r.height > 0; });
      return { width: b.width, height: b.height, marks: marks.length };
    }));
    if (!expected.curves) {
      assert.equal(curves.length, 0, 'svg.curve without /metrics');
      return;
    }
    assert.ok(curves.length >= 1, 'there is at least one <svg class="curve">');
    curves.forEach((c, i) => {
      assert.ok(c.width > 0 && c.height > 0, `curve ${i + 1}: has an area (${c.width}×${c.height})`);
      assert.ok(c.marks > 0, `curve ${i + 1}: draws something (a path, polyline, line or point)`);
    });
  });

  it('saves screenshots for a person to look at', async () => {
    const { sw, iw } = await page.evaluate(() => ({
      sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
    if (sw > iw) console.log(`note: the page scrolls sideways at 1280 px (${sw}px wide)`);
    fs.mkdirSync(shots, { recursive: true });
    const top = path.join(shots, 'report-screenshot.png');
    const full = path.join(shots, 'report-full.png');
    await page.screenshot({ path: top });
    await page.screenshot({ path: full, fullPage: true });
    for (const f of [top, full]) {
      assert.ok(fs.statSync(f).size > 1000, `${f} written`);
      console.log(`screenshot: ${f}`);
    }
  });
});
