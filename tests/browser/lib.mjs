/*
 * lib.mjs - what mirador.mjs and uv.mjs share: the browser, the network log,
 * the ok/FAIL report, and reading pixels off the screen.
 *
 * Config (the JSON file named on the command line, written by viewers.py):
 *   { chromium, userDataDir, timeoutMs, hardTimeoutMs, miradorPage, uvPage,
 *     pdfjsBuild, imageBase, top, manifests: {image, sound, video, pdf, model},
 *     pick: [labels to click down the collection], shots: DIR or null }
 *
 * The one idea: pixels are judged on a screenshot of the element, decoded
 * by the page itself into a 2d canvas, so WebGL and 2d drawers, video
 * frames and PDF.js canvases are all read the same way; and every request
 * to a host other than 127.0.0.1 is refused (and reported), except the
 * PDF.js files UV asks from a CDN, which are answered from pdfjs-dist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
export const STEP = cfg.timeoutMs || 25000;

let failures = 0;
let last = Date.now();
let browser = null;

/* One line per check: "ok NAME -- detail" or "FAIL NAME -- detail". */
export function report(name, ok, detail) {
  if (!ok) failures++;
  const ms = Date.now() - last;
  last = Date.now();
  detail = (detail ? detail + ' ' : '') + '[' + (ms / 1000).toFixed(1) + ' s]';
  process.stdout.write((ok ? 'ok ' : 'FAIL ') + name + (detail ? ' -- ' + String(detail).replace(/\s+/g, ' ') : '') + '\n');
}

const hard = setTimeout(async () => {
  report('the run ends in time', false, 'hard timeout after ' + (cfg.hardTimeoutMs || 140000) + ' ms');
  try { if (browser) await browser.close(); } catch (e) { /* gone */ }
  process.exit(2);
}, cfg.hardTimeoutMs || 140000);

export async function launch() {
  browser = await chromium.launchPersistentContext(cfg.userDataDir, {
    executablePath: cfg.chromium || '/usr/bin/chromium',
    headless: true,
    timeout: STEP,
    viewport: { width: 1200, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--autoplay-policy=no-user-gesture-required'],
  });
  return browser;
}

export async function finish() {
  try { if (browser) await browser.close(); } catch (e) { /* gone */ }
  clearTimeout(hard);
  process.exit(failures ? 1 : 0);
}

const MIME = { '.js': 'text/javascript', '.map': 'application/json', '.mjs': 'text/javascript' };

/* A page whose network is logged: log.responses [{url, status, type}],
 * log.failed, log.errors (page errors), log.external (refused URLs). */
export async function newPage(ctx) {
  const page = await ctx.newPage();
  const log = { responses: [], failed: [], errors: [], external: [], pdfjs: [] };
  page.on('response', (r) => log.responses.push({ url: r.url(), status: r.status(),
    type: r.headers()['content-type'] || '', range: r.request().headers().range || '' }));
  page.on('requestfailed', (r) => log.failed.push(r.url() + ' (' + ((r.failure() || {}).errorText) + ')'));
  page.on('pageerror', (e) => log.errors.push(String(e && e.message || e).split('\n')[0]));
  await page.route((url) => !/^(127\.0\.0\.1|localhost)$/.test(url.hostname) && /^https?:$/.test(url.protocol),
    (route) => {
      const u = route.request().url();
      const m = u.match(/\/ajax\/libs\/pdf\.js\/[0-9.]+\/([a-z.]+\.js(\.map)?)$/);
      if (m && cfg.pdfjsBuild && fs.existsSync(path.join(cfg.pdfjsBuild, m[1]))) {
        log.pdfjs.push(m[1]);
        return route.fulfill({ status: 200, path: path.join(cfg.pdfjsBuild, m[1]),
          headers: { 'Content-Type': MIME[path.extname(m[1])], 'Access-Control-Allow-Origin': '*' } });
      }
      log.external.push(u);
      return route.abort('blockedbyclient');
    });
  return { page, log };
}

export function short(u) {
  try { const p = new URL(u); return p.pathname + p.search; } catch (e) { return u; }
}

/* Image API requests for tiles or pictures of the daemon (not info.json). */
export function imageRequests(log) {
  return log.responses.filter((r) => r.url.startsWith(cfg.imageBase + '/iiif/') &&
    /\/(full|square|pct:[^/]+|\d+,\d+,\d+,\d+)\/[^/]+\/!?\d+\/(default|color|gray)\.(jpg|png|webp)$/.test(new URL(r.url).pathname));
}

export async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error('GET ' + url + ': ' + r.status);
  return r.json();
}

/* Pixel statistics of what the screen shows inside the element (a
 * locator): { n, distinct, nonBackground, near(rgb, tol) -> fraction }.
 * background: the most common colour. */
export async function pixels(page, locator) {
  const png = await locator.screenshot({ timeout: STEP });
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map();
    const step = Math.max(1, Math.floor(d.length / 4 / 40000));
    const samples = [];
    for (let i = 0; i < d.length; i += 4 * step) {
      const key = (d[i] >> 3) << 10 | (d[i + 1] >> 3) << 5 | (d[i + 2] >> 3);
      counts.set(key, (counts.get(key) || 0) + 1);
      samples.push([d[i], d[i + 1], d[i + 2]]);
    }
    let bg = 0, bgn = 0;
    for (const [k, n] of counts) if (n > bgn) { bg = k; bgn = n; }
    return { w: c.width, h: c.height, n: samples.length, distinct: counts.size,
             background: [(bg >> 10) << 3, ((bg >> 5) & 31) << 3, (bg & 31) << 3],
             backgroundShare: bgn / samples.length, samples };
  }, png.toString('base64'));
}

/* Fraction of the sampled pixels within tol of rgb on every channel. */
export function near(stats, rgb, tol) {
  let k = 0;
  for (const s of stats.samples) if (Math.abs(s[0] - rgb[0]) <= tol && Math.abs(s[1] - rgb[1]) <= tol && Math.abs(s[2] - rgb[2]) <= tol) k++;
  return k / stats.n;
}

export async function shot(page, name) {
  if (!cfg.shots) return;
  try { await page.screenshot({ path: path.join(cfg.shots, name) }); } catch (e) { /* best effort */ }
}

/* Poll fn (in node) until it returns a truthy value or the step times out. */
export async function until(fn, ms = STEP, every = 200) {
  const end = Date.now() + ms;
  let v = null;
  while (Date.now() < end) {
    try { v = await fn(); } catch (e) { v = null; }
    if (v) return v;
    await new Promise((r) => setTimeout(r, every));
  }
  return v;
}

/* Wait for a media element (selector, in any frame of the page) to have
 * metadata, play it muted for a moment and describe it. */
export async function playMedia(page, selector) {
  const el = await until(async () => {
    for (const f of page.frames()) {
      const h = await f.$(selector);
      if (h) return h;
    }
    return null;
  });
  if (!el) return { error: 'no ' + selector + ' element appeared' };
  return el.evaluate(async (m, ms) => {
    const t0 = Date.now();
    const wait = async (limit) => {
      while (m.readyState < 1 && !m.error && Date.now() - t0 < limit) await new Promise((r) => setTimeout(r, 100));
    };
    await wait(3000);
    /* A player that preloads nothing (UV's MediaElement: preload="none")
     * loads on play, as when its play button is pressed. */
    let startedByPlay = false;
    if (m.readyState < 1 && !m.error) {
      m.muted = true;
      startedByPlay = true;
      m.play().catch(() => {});
      await wait(ms);
    }
    const out = { readyState: m.readyState, duration: m.duration, src: m.currentSrc || m.src,
                  error: m.error ? 'media error ' + m.error.code : null,
                  videoWidth: m.videoWidth, videoHeight: m.videoHeight, startedByPlay };
    if (m.readyState >= 1) {
      m.muted = true;
      try {
        await m.play();
        const t1 = Date.now();
        while (m.currentTime < 0.3 && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 100));
        out.played = m.currentTime;
        m.pause();
      } catch (e) { out.playError = String(e.message || e); }
    }
    return out;
  }, STEP);
}

/* Judge a media element against its canvas: readyState, duration, playback. */
export function judgeMedia(name, m, canvas, log) {
  if (m.error && !m.readyState) return report(name, false, m.error);
  const want = canvas.duration;
  const okDur = Math.abs(m.duration - want) <= 0.1;
  report(name + ': the media element has metadata (readyState >= 1)', m.readyState >= 1,
         'readyState ' + m.readyState + (m.startedByPlay ? ' (after play(): it preloads nothing)' : '') +
         ', src ' + short(m.src || ''));
  report(name + ': duration within 0.1 s of the manifest', okDur,
         'element ' + m.duration + ' s, manifest ' + want + ' s');
  report(name + ': it plays', m.played > 0.2, m.playError || 'currentTime ' + m.played);
  const media = log.responses.filter((r) => r.url === m.src);
  const bad = media.filter((r) => r.status !== 200 && r.status !== 206);
  report(name + ': media requests answered 200/206', media.length && !bad.length,
         media.map((r) => r.status + (r.range ? ' (Range ' + r.range + ')' : '')).join(', ') || 'no request seen');
}

/* Problems in a page's log: failed requests, page errors, refused hosts, >= 400. */
export function netProblems(log, ignore = []) {
  const p = [];
  for (const u of log.external) p.push('external request refused: ' + u);
  for (const f of log.failed) if (!ignore.some((re) => re.test(f)) && !/ERR_ABORTED|blockedbyclient|ERR_BLOCKED/.test(f)) p.push('failed: ' + f);
  for (const r of log.responses) if (r.status >= 400 && !ignore.some((re) => re.test(r.url))) p.push(r.status + ' ' + short(r.url));
  return p;
}
