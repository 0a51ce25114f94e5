/*
 * osd.mjs - open the daemon's own viewer page in headless Chromium and watch
 * OpenSeadragon walk each protocol (IIIF 3, IIIF 2, DeepZoom, Zoomify).
 *
 * Run by tests/http/test_browser.py:  node osd.mjs CONFIG.json
 * CONFIG: { base, id, width, height, block, sources: ["iiif3", ...],
 *           dzTileSize, dzOverlap, zoomifyTileSize, userDataDir,
 *           chromium, timeoutMs }
 * Prints one JSON object on stdout:
 *   { drawer, results: [{ source, step, ok, detail }] }
 *
 * For each source the page /?id=ID&proto=SOURCE is opened; once the home
 * view is fully loaded the script checks every response (tiles: 200, image
 * content type, decoded size equal to what the protocol's own rules promise
 * for that URL), that no request failed (CORS failures land there), and
 * the colours on OpenSeadragon's canvas at block centres against the
 * pattern (tests/http/images.py).  Then it zooms to 1:1 near the bottom-
 * right corner, so that full-resolution edge tiles are fetched, and checks
 * the same again.
 *
 * The one idea: the expected size of every tile is computed from its URL
 * with each protocol's arithmetic, independently of the daemon, and the
 * expected colour of every canvas point from the image coordinate that
 * OpenSeadragon itself says is drawn there.  The browser is always closed,
 * and a hard timer ends the process if anything hangs.
 */
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const W = cfg.width, H = cfg.height, BLOCK = cfg.block;
const STEP_TIMEOUT = cfg.timeoutMs || 20000;
const results = [];
let drawerType = null;

function record(source, step, ok, detail) {
  results.push({ source, step, ok: !!ok, detail: detail || '' });
}

/* Hard stop: whatever happens, print what we have and leave. */
let browser = null;
const hardTimer = setTimeout(async () => {
  record('all', 'the browser run finishes in time', false, 'hard timeout');
  try { if (browser) await browser.close(); } catch (e) { /* already gone */ }
  process.stdout.write(JSON.stringify({ drawer: drawerType, results }) + '\n');
  process.exit(2);
}, cfg.hardTimeoutMs || 120000);

/* ---------------------------------------------------------------- pattern */

const LEVELS = [0, 128, 255];
function patternColour(x, y) {
  const bx = Math.floor(x / BLOCK), by = Math.floor(y / BLOCK);
  const idx = (7 * bx + 13 * by) % 27;
  return [LEVELS[idx % 3], LEVELS[Math.floor(idx / 3) % 3], LEVELS[Math.floor(idx / 9)]];
}

/* ---------------------------------------------------------- image headers */

function imageSize(buf) {
  if (buf.length >= 24 && buf.readUInt32BE(0) === 0x89504e47 && buf.toString('latin1', 12, 16) === 'IHDR')
    return { type: 'png', w: buf.readUInt32BE(16), h: buf.readUInt32BE(20) };
  if (buf.length >= 4 && buf[0] === 0xff && buf[1] === 0xd8) {
    let i = 2;
    while (i + 9 < buf.length) {
      if (buf[i] !== 0xff) { i++; continue; }
      const m = buf[i + 1];
      if (m === 0xff) { i++; continue; }
      if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; }
      const len = buf.readUInt16BE(i + 2);
      /* SOF0..SOF15 except DHT (c4), JPG (c8), DAC (cc) */
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc)
        return { type: 'jpeg', h: buf.readUInt16BE(i + 5), w: buf.readUInt16BE(i + 7) };
      i += 2 + len;
    }
  }
  return null;
}

/* ------------------------------------------------- what each URL promises */

function dzMaxLevel(w, h) {
  let l = 0;
  while (2 ** l < Math.max(w, h)) l++;
  return l;
}

function zoomifyLevels(w, h, ts) {
  const out = [[w, h]];
  while (w > ts || h > ts) { w = Math.floor(w / 2); h = Math.floor(h / 2); out.push([w, h]); }
  return out.reverse();
}

/* Returns null for a URL that is not a tile, else
 * { w, h, slack, full, edge } (a full-resolution tile; one touching the
 * right or bottom edge of its level) or { error }. */
function expectedTile(url) {
  const path = decodeURIComponent(new URL(url).pathname);
  let m = path.match(/^\/iiif\/([23])\/(.+)\/([^/]+)\/([^/]+)\/(!?[0-9.]+)\/(default|color|gray|bitonal)\.(jpg|png|webp)$/);
  /* only the image under test: the page's collection panel asks for other
   * images' thumbnails (collection.js), which mirador.mjs judges */
  if (m && m[2] !== cfg.id) return null;
  if (m) {
    const region = m[3], size = m[4];
    let rx = 0, ry = 0, rw = W, rh = H;
    if (region !== 'full') {
      const r = region.split(',').map(Number);
      if (r.length !== 4 || r.some(isNaN)) return { error: 'unexpected region ' + region };
      [rx, ry, rw, rh] = r;
      rw = Math.min(rw, W - rx); rh = Math.min(rh, H - ry);
    }
    const edge = rx + rw >= W || ry + rh >= H;
    let s;
    if (size === 'max' || size === 'full') return { w: rw, h: rh, slack: 0, full: true, edge };
    if ((s = size.match(/^\^?(\d+),(\d+)$/))) return { w: +s[1], h: +s[2], slack: 0, full: +s[1] === rw, edge };
    if ((s = size.match(/^\^?(\d+),$/))) return { w: +s[1], h: rh * +s[1] / rw, slack: 1, full: +s[1] === rw, edge };
    if ((s = size.match(/^\^?,(\d+)$/))) return { w: rw * +s[1] / rh, h: +s[1], slack: 1, full: +s[1] === rh, edge };
    return { error: 'unexpected size ' + size };
  }
  m = path.match(/_files\/(\d+)\/(\d+)_(\d+)\.(jpg|jpeg|png)$/);
  if (m && path.startsWith('/deepzoom/')) {
    const level = +m[1], col = +m[2], row = +m[3], ts = cfg.dzTileSize, ov = cfg.dzOverlap;
    const top = dzMaxLevel(W, H), sc = 2 ** (top - level);
    const lw = Math.ceil(W / sc), lh = Math.ceil(H / sc);
    const x0 = col * ts - (col ? ov : 0), y0 = row * ts - (row ? ov : 0);
    const x1 = Math.min((col + 1) * ts + ov, lw), y1 = Math.min((row + 1) * ts + ov, lh);
    if (level > top || x0 >= lw || y0 >= lh) return { error: 'tile outside the pyramid' };
    return { w: x1 - x0, h: y1 - y0, slack: 0, full: level === top, edge: x1 === lw || y1 === lh };
  }
  m = path.match(/^\/zoomify\/.+\/TileGroup(\d+)\/(\d+)-(\d+)-(\d+)\.(jpg|jpeg|png)$/);
  if (m) {
    const g = +m[1], z = +m[2], x = +m[3], y = +m[4], ts = cfg.zoomifyTileSize;
    const levels = zoomifyLevels(W, H, ts);
    if (z >= levels.length) return { error: 'level outside the pyramid' };
    const [lw, lh] = levels[z];
    let index = 0;
    for (let i = 0; i < z; i++) index += Math.ceil(levels[i][0] / ts) * Math.ceil(levels[i][1] / ts);
    index += y * Math.ceil(lw / ts) + x;
    if (Math.floor(index / 256) !== g) return { error: 'TileGroup ' + g + ', expected ' + Math.floor(index / 256) };
    return { w: Math.min(ts, lw - x * ts), h: Math.min(ts, lh - y * ts), slack: 0,
             full: z === levels.length - 1, edge: (x + 1) * ts >= lw || (y + 1) * ts >= lh };
  }
  return null;
}

/* ---------------------------------------------------------------- phases */

function short(u) {
  const p = new URL(u);
  return p.pathname + p.search;
}

/* Wait until OpenSeadragon has drawn every tile it wants and the network
 * is idle, three polls in a row. */
async function settle(page, pending) {
  const deadline = Date.now() + STEP_TIMEOUT;
  let good = 0, last = null;
  while (Date.now() < deadline) {
    last = await page.evaluate(() => {
      const v = window.tesseraViewer;
      if (!v || !v.world || v.world.getItemCount() < 1) return { ready: false, why: 'no image opened' };
      const it = v.world.getItemAt(0);
      const vp = v.viewport;
      const still = Math.abs(vp.getZoom(true) - vp.getZoom(false)) < 1e-9 &&
        vp.getCenter(true).distanceTo(vp.getCenter(false)) < 1e-9;
      return {
        ready: it.getFullyLoaded() && v.imageLoader.jobsInProgress === 0 && still,
        why: 'fullyLoaded=' + it.getFullyLoaded() + ' jobs=' + v.imageLoader.jobsInProgress + ' still=' + still,
      };
    });
    good = last.ready ? good + 1 : 0;
    if (good >= 3) break;
    await page.waitForTimeout(150);
  }
  await Promise.all(pending.splice(0));
  return good >= 3 ? null : 'not fully loaded within ' + STEP_TIMEOUT + ' ms (' + (last && last.why) + ')';
}

/* Read the canvas at up to 16 block centres in view; compare with the pattern. */
async function checkColours(page, tol) {
  const samples = await page.evaluate(({ W, H, BLOCK }) => {
    const v = window.tesseraViewer;
    const it = v.world.getItemAt(0);
    const canvas = v.drawer.canvas;
    const ctx = canvas.getContext('2d');
    if (!ctx) return { error: 'the drawer canvas has no 2d context (' + v.drawer.getType() + ')' };
    const ratio = canvas.width / canvas.clientWidth;
    const view = it.viewportToImageRectangle(v.viewport.getBounds(true));
    const x0 = Math.max(0, view.x), y0 = Math.max(0, view.y);
    const x1 = Math.min(W, view.x + view.width), y1 = Math.min(H, view.y + view.height);
    const bx0 = Math.ceil(x0 / BLOCK), bx1 = Math.floor(x1 / BLOCK) - 1;
    const by0 = Math.ceil(y0 / BLOCK), by1 = Math.floor(y1 / BLOCK) - 1;
    const pts = [];
    const nx = bx1 - bx0 + 1, ny = by1 - by0 + 1;
    const stepx = Math.max(1, Math.floor(nx / 4)), stepy = Math.max(1, Math.floor(ny / 4));
    for (let by = by0; by <= by1; by += stepy) {
      for (let bx = bx0; bx <= bx1; bx += stepx) {
        const ix = (bx + 0.5) * BLOCK, iy = (by + 0.5) * BLOCK;
        const e = it.imageToViewerElementCoordinates(new OpenSeadragon.Point(ix, iy));
        const cx = Math.round(e.x * ratio), cy = Math.round(e.y * ratio);
        if (cx < 2 || cy < 2 || cx >= canvas.width - 2 || cy >= canvas.height - 2) continue;
        const d = ctx.getImageData(cx, cy, 1, 1).data;
        pts.push({ ix, iy, cx, cy, rgba: [d[0], d[1], d[2], d[3]] });
      }
    }
    const corner = it.imageToViewerElementCoordinates(new OpenSeadragon.Point(BLOCK, 0));
    const origin = it.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    return { pts, blockPx: (corner.x - origin.x) * ratio, drawer: v.drawer.getType() };
  }, { W, H, BLOCK });
  if (samples.error) return samples.error;
  drawerType = samples.drawer;
  if (samples.pts.length < 4) return 'only ' + samples.pts.length + ' block centres in view';
  if (samples.blockPx < 16) return 'blocks are only ' + samples.blockPx.toFixed(1) + ' canvas px wide';
  const bad = [];
  for (const p of samples.pts) {
    const want = patternColour(p.ix, p.iy);
    const diff = Math.max(...want.map((c, i) => Math.abs(c - p.rgba[i])));
    if (diff > tol || p.rgba[3] !== 255)
      bad.push('image (' + p.ix + ',' + p.iy + ') at canvas (' + p.cx + ',' + p.cy + '): ' +
               'expected ' + want.join(',') + ' got ' + p.rgba.join(','));
  }
  if (bad.length)
    return bad.length + ' of ' + samples.pts.length + ' points differ: ' + bad.slice(0, 3).join('; ');
  return null;
}

/* A request of the page's collection panel (collection.js), not of
 * OpenSeadragon: the Collection itself (404 on a server without the
 * Presentation routes) and the members' thumbnails, other images than the
 * one under test.  mirador.mjs judges those. */
function panelRequest(url) {
  const path = decodeURIComponent(new URL(url).pathname);
  if (/^\/iiif\/3\/collection\//.test(path)) return true;
  const m = path.match(/^\/iiif\/[23]\/(.+)\/full\/[^/]+\/0\/default\.jpg$/);
  return !!m && m[1] !== cfg.id;
}

/* Judge the responses and failures collected during one phase. */
function judgeNetwork(log, needFull) {
  const problems = [], sizes = [];
  let tiles = 0, full = 0, fullEdge = 0;
  for (const f of log.failed) problems.push('request failed: ' + short(f.url) + ' (' + f.error + ')');
  for (const e of log.pageErrors) problems.push('page error: ' + e);
  for (const r of log.responses) {
    const exp = expectedTile(r.url);
    if (!exp) {
      /* the collection panel's Collection: 404 on a server without the
       * Presentation routes, which the page reports itself (mirador.mjs) */
      if (r.status >= 400 && !panelRequest(r.url))
        problems.push(r.status + ' for ' + short(r.url));
      continue;
    }
    tiles++;
    if (exp.error) { problems.push(short(r.url) + ': ' + exp.error); continue; }
    if (r.status !== 200) { problems.push(r.status + ' for tile ' + short(r.url)); continue; }
    if (!/^image\//.test(r.type)) { problems.push(short(r.url) + ': Content-Type ' + r.type); continue; }
    if (!r.cors) problems.push(short(r.url) + ': no Access-Control-Allow-Origin');
    if (!r.size) { sizes.push(short(r.url) + ': body is neither JPEG nor PNG'); continue; }
    if (Math.abs(r.size.w - exp.w) > exp.slack || Math.abs(r.size.h - exp.h) > exp.slack)
      sizes.push(short(r.url) + ': ' + r.size.w + 'x' + r.size.h + ', expected ' +
                 (exp.slack ? '~' : '') + Math.round(exp.w) + 'x' + Math.round(exp.h));
    if (exp.full) full++;
    if (exp.full && exp.edge) fullEdge++;
  }
  if (!tiles) problems.push('no tile was requested');
  if (needFull && !full) problems.push('no full-resolution tile was requested');
  else if (needFull && !fullEdge) problems.push('no full-resolution edge tile was requested');
  return { problems, sizes, tiles };
}

async function runSource(context, source) {
  const page = await context.newPage();
  const log = { responses: [], failed: [], pageErrors: [] };
  const pending = [];
  page.on('response', (resp) => {
    const entry = { url: resp.url(), status: resp.status(), type: (resp.headers()['content-type'] || ''),
                    cors: resp.headers()['access-control-allow-origin'] === '*', size: null };
    log.responses.push(entry);
    if (resp.status() === 200 && expectedTile(entry.url))
      pending.push(resp.body().then((b) => { entry.size = imageSize(b); }, () => {}));
  });
  page.on('requestfailed', (req) => {
    log.failed.push({ url: req.url(), error: (req.failure() || {}).errorText });
  });
  page.on('pageerror', (e) => log.pageErrors.push(String(e && e.message || e)));
  try {
    const url = cfg.base + '/?id=' + encodeURIComponent(cfg.id) + '&proto=' + source;
    await page.goto(url, { timeout: STEP_TIMEOUT, waitUntil: 'load' });
    await page.waitForFunction(() => window.tesseraViewer && window.tesseraViewer.world.getItemCount() > 0,
                               null, { timeout: STEP_TIMEOUT }).catch(() => {});
    /* phase 1: the home view */
    let why = await settle(page, pending);
    let net = judgeNetwork(log, false);
    record(source, 'home', !why && !net.problems.length,
           [why].concat(net.problems).filter(Boolean).slice(0, 6).join('; ') || net.tiles + ' tiles');
    record(source, 'home-sizes', net.tiles && !net.sizes.length,
           net.sizes.slice(0, 4).join('; ') || net.tiles + ' tiles of the promised size');
    let colours = why ? 'not loaded' : await checkColours(page, cfg.tolerance || 40);
    record(source, 'home-colours', !colours, colours || 'canvas matches the pattern');

    /* phase 2: 1:1 near the bottom-right corner, so edge tiles at full resolution load */
    log.responses = []; log.failed = []; log.pageErrors = [];
    await page.evaluate(({ W, H }) => {
      const v = window.tesseraViewer;
      const it = v.world.getItemAt(0);
      v.viewport.zoomTo(it.imageToViewportZoom(1.0), null, true);
      v.viewport.panTo(it.imageToViewportCoordinates(new OpenSeadragon.Point(W * 0.85, H * 0.85)), true);
      v.viewport.applyConstraints(true);
    }, { W, H });
    await page.waitForTimeout(300);
    why = await settle(page, pending);
    net = judgeNetwork(log, true);
    record(source, 'zoomed', !why && !net.problems.length && !net.sizes.length,
           [why].concat(net.problems, net.sizes).filter(Boolean).slice(0, 6).join('; ') ||
           net.tiles + ' tiles of the promised size');
    colours = why ? 'not loaded' : await checkColours(page, cfg.tolerance || 40);
    record(source, 'zoomed-colours', !colours, colours || 'canvas matches the pattern');
  } catch (e) {
    record(source, 'home', false, 'the run stopped: ' + String(e && e.message || e).split('\n')[0]);
  } finally {
    await page.close().catch(() => {});
  }
}

let code = 0;
try {
  browser = await chromium.launchPersistentContext(cfg.userDataDir, {
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true,
    timeout: STEP_TIMEOUT,
    viewport: { width: 1000, height: 700 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-quic'],
  });
  for (const s of cfg.sources) await runSource(browser, s);
} catch (e) {
  record('all', 'the browser starts', false, String(e && e.message || e).split('\n')[0]);
  code = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(hardTimer);
}
process.stdout.write(JSON.stringify({ drawer: drawerType, results }) + '\n');
process.exit(code);
