/*
 * trees.mjs - open the static tile trees `tessera convert` writes (DeepZoom,
 * Zoomify, IIIF level 0 in 3.0 and 2.1) in OpenSeadragon in headless
 * Chromium, served by a plain static nginx.
 *
 * Run by tests/http/test_convert_trees.py:  node trees.mjs CONFIG.json
 * CONFIG: { page, osd, chromium, userDataDir, timeoutMs, hardTimeoutMs,
 *           trees: [{ name, kind, source, width, height, ref }] }
 *   page    the URL of an empty HTML page on the static server
 *   osd     the path of openseadragon.min.js on disk (answered by route)
 *   source  a .dzi or info.json URL, or a Zoomify tile-source object
 *   ref     the URL of the source image as PNG (on the same server)
 * Prints one JSON line per tree:
 *   { name, ok, steps: [{ step, ok, detail }], failed: [urls], tiles: n }
 *
 * For each tree: the home view must load fully (every tile OpenSeadragon
 * wants for it arrives), then the canvas is compared with the source image
 * drawn by the page itself at the rectangle OpenSeadragon says the image
 * occupies; then the same at 1:1 zoom near the bottom-right corner, where
 * the full-resolution edge tiles are.  The 2d canvas drawer is asked for
 * so that its pixels can be read.  Every request that is not answered 200
 * is listed (the Python side judges them: OpenSeadragon's Zoomify source
 * asks one column past the grid on some sizes).
 */
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const STEP = cfg.timeoutMs || 25000;
let browser = null;

const hard = setTimeout(async () => {
  process.stdout.write(JSON.stringify({ name: 'all', ok: false, steps: [{ step: 'the run ends in time', ok: false, detail: 'hard timeout' }] }) + '\n');
  try { if (browser) await browser.close(); } catch (e) { /* gone */ }
  process.exit(2);
}, cfg.hardTimeoutMs || 150000);

/* In the page: wait until the first item is fully loaded. */
async function waitLoaded(page) {
  await page.waitForFunction(() => {
    const v = window.viewer;
    if (!v || v.world.getItemCount() < 1) return false;
    const ti = v.world.getItemAt(0);
    return ti.getFullyLoaded() && !v.world.needsDraw();
  }, null, { timeout: STEP, polling: 100 });
  await page.waitForTimeout(300);
}

/* In the page: compare OSD's canvas with the reference drawn at the same
 * place, on white, over a grid of points inside the image. */
async function compare(page) {
  return await page.evaluate(async (refUrl) => {
    const v = window.viewer, ti = v.world.getItemAt(0);
    v.forceRedraw();
    await new Promise((r) => setTimeout(r, 200));
    const cv = v.drawer.canvas;
    const W = cv.width, H = cv.height;
    const got = cv.getContext('2d').getImageData(0, 0, W, H).data;
    const img = new Image();
    img.src = refUrl;
    await img.decode();
    const sz = ti.getContentSize();
    const ratio = W / cv.clientWidth;
    const p0 = ti.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    const p1 = ti.imageToViewerElementCoordinates(new OpenSeadragon.Point(sz.x, sz.y));
    const x0 = p0.x * ratio, y0 = p0.y * ratio, x1 = p1.x * ratio, y1 = p1.y * ratio;
    const rc = document.createElement('canvas');
    rc.width = W; rc.height = H;
    const rx = rc.getContext('2d');
    rx.fillStyle = '#fff';
    rx.fillRect(0, 0, W, H);
    rx.imageSmoothingQuality = 'high';
    rx.drawImage(img, x0, y0, x1 - x0, y1 - y0);
    const want = rx.getImageData(0, 0, W, H).data;
    let n = 0, sum = 0, bad = 0;
    const ax = Math.max(0, Math.ceil(x0) + 3), bx = Math.min(W, Math.floor(x1) - 3);
    const ay = Math.max(0, Math.ceil(y0) + 3), by = Math.min(H, Math.floor(y1) - 3);
    for (let y = ay; y < by; y += 7)
      for (let x = ax; x < bx; x += 7) {
        const i = (y * W + x) * 4;
        const a = got[i + 3] / 255;
        let d = 0;
        for (let c = 0; c < 3; c++)
          d += Math.abs(got[i + c] * a + 255 * (1 - a) - want[i + c]);
        d /= 3;
        sum += d; n++;
        if (d > 48) bad++;
      }
    return { n, mean: n ? sum / n : 0, bad, rect: [x0, y0, x1, y1].map((z) => Math.round(z)) };
  }, cfg.refBase + cfg.current.ref);
}

async function one(ctx, t) {
  const steps = [];
  const failed = [];
  let tiles = 0;
  const page = await ctx.newPage();
  page.on('response', (r) => {
    const u = r.url();
    if (/\.(jpg|jpeg|png)(\?|$)/.test(u) && !u.includes('/ref/')) {
      tiles++;
      if (r.status() !== 200) failed.push(r.status() + ' ' + u);
    }
  });
  page.on('requestfailed', (r) => failed.push('failed ' + r.url()));
  await page.route('**/osd/openseadragon.min.js', (route) =>
    route.fulfill({ status: 200, path: cfg.osd, headers: { 'Content-Type': 'text/javascript' } }));
  const record = (step, ok, detail) => steps.push({ step, ok: !!ok, detail: detail || '' });
  try {
    await page.goto(cfg.page, { timeout: STEP });
    await page.evaluate((src) => {
      window.viewer = OpenSeadragon({ id: 'v', tileSources: src, drawer: 'canvas',
        showNavigationControl: false, animationTime: 0, immediateRender: false,
        crossOriginPolicy: 'Anonymous' });
      window.opened = false; window.openFailed = null;
      window.viewer.addHandler('open', () => { window.opened = true; });
      window.viewer.addHandler('open-failed', (e) => { window.openFailed = String(e.message); });
    }, t.source);
    await page.waitForFunction(() => window.opened || window.openFailed, null, { timeout: STEP });
    const of = await page.evaluate(() => window.openFailed);
    record('opens', !of, of);
    if (of) return { name: t.name, ok: false, steps, failed, tiles };
    const dims = await page.evaluate(() => { const s = window.viewer.world.getItemAt(0).getContentSize(); return [s.x, s.y]; });
    record('size', dims[0] === t.width && dims[1] === t.height, 'OSD says ' + dims.join('x'));
    await waitLoaded(page);
    record('home view fully loaded', true);
    cfg.current = t;
    let c = await compare(page);
    record('home view pixels', c.mean < (t.tolerance || 14) && c.bad <= Math.max(2, c.n / 50),
      'mean ' + c.mean.toFixed(2) + ' over ' + c.n + ' points, ' + c.bad + ' far off, rect ' + c.rect);
    /* 1:1 near the bottom-right corner */
    await page.evaluate(([w, h]) => {
      const v = window.viewer, ti = v.world.getItemAt(0);
      v.viewport.zoomTo(ti.imageToViewportZoom(1), null, true);
      v.viewport.panTo(ti.imageToViewportCoordinates(Math.max(0, w - 200), Math.max(0, h - 150)), true);
    }, [t.width, t.height]);
    await waitLoaded(page);
    record('1:1 corner fully loaded', true);
    c = await compare(page);
    record('1:1 corner pixels', c.mean < (t.tolerance || 14) && c.bad <= Math.max(2, c.n / 50),
      'mean ' + c.mean.toFixed(2) + ' over ' + c.n + ' points, ' + c.bad + ' far off, rect ' + c.rect);
  } catch (e) {
    record('no exception', false, String(e && e.message || e).split('\n')[0]);
  } finally {
    await page.close();
  }
  return { name: t.name, ok: steps.every((s) => s.ok), steps, failed, tiles };
}

(async () => {
  browser = await chromium.launchPersistentContext(cfg.userDataDir, {
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true, timeout: STEP, viewport: { width: 1000, height: 700 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  for (const t of cfg.trees) {
    const r = await one(browser, t);
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  await browser.close();
  clearTimeout(hard);
  process.exit(0);
})().catch(async (e) => {
  process.stdout.write(JSON.stringify({ name: 'all', ok: false, steps: [{ step: 'runs', ok: false, detail: String(e) }] }) + '\n');
  try { if (browser) await browser.close(); } catch (x) { /* gone */ }
  process.exit(1);
});
