/*
 * media.mjs - play published media files (/iiif/{item}/res/{file}) in
 * headless Chromium the way viewers do, and read them in ranges the way
 * PDF.js does.
 *
 * Run by tests/http/test_media.py:  node media.mjs CONFIG.json
 * CONFIG: { chromium, userDataDir, timeoutMs, hardTimeoutMs,
 *           media: [{ name, url, tag: "video"|"audio", duration }],
 *           fetches: [{ name, url, size }] }
 * Prints one JSON object on stdout: { results: [{ name, ok, detail }] }
 *
 * Each media file goes into a <video> or <audio> element with
 * crossorigin="anonymous" on a page of another origin: its metadata must
 * load with the duration the file has, a seek near the end must complete
 * (Chromium asks "Range: bytes=N-" for it), every answer for the file must
 * be 200 or 206 with CORS, and no request may fail.  Each fetch asks
 * bytes 0-9 with fetch() and must see 206, the bytes, and Content-Range
 * and Accept-Ranges readable by the script (exposed by CORS).
 *
 * The one idea: the browser is the judge of what a real player needs; the
 * script only records what it saw.  A hard timer ends the process if
 * anything hangs.
 */
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const STEP_TIMEOUT = cfg.timeoutMs || 20000;
const results = [];

function record(name, ok, detail) {
  results.push({ name, ok: !!ok, detail: detail || '' });
}

let browser = null;
const hardTimer = setTimeout(async () => {
  record('all', false, 'hard timeout');
  try { if (browser) await browser.close(); } catch (e) { /* already gone */ }
  process.stdout.write(JSON.stringify({ results }) + '\n');
  process.exit(2);
}, cfg.hardTimeoutMs || 120000);

/* Load, check the duration, seek near the end. */
async function play(m) {
  const page = await browser.newPage();
  const seen = [], failed = [];
  page.on('response', (r) => {
    if (r.url() !== m.url) return;
    const h = r.headers();
    seen.push({ status: r.status(), range: r.request().headers()['range'] || '',
                acao: h['access-control-allow-origin'] || '', ctype: h['content-type'] || '' });
  });
  page.on('requestfailed', (r) => failed.push(r.url() + ' ' + (r.failure() || {}).errorText));
  try {
    await page.setContent('<!doctype html><body></body>');
    const got = await page.evaluate(async ({ url, tag, timeout }) => {
      const el = document.createElement(tag);
      el.crossOrigin = 'anonymous';
      el.preload = 'auto';
      el.muted = true;
      document.body.appendChild(el);
      const wait = (ev) => new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no ' + ev + ' within ' + timeout + ' ms')), timeout);
        el.addEventListener(ev, () => { clearTimeout(t); resolve(); }, { once: true });
        el.addEventListener('error', () => {
          clearTimeout(t);
          reject(new Error('media error ' + (el.error && el.error.code) + ': ' +
                           (el.error && el.error.message)));
        }, { once: true });
      });
      const loaded = wait('loadedmetadata');
      el.src = url;
      await loaded;
      const duration = el.duration;
      const seeked = wait('seeked');
      el.currentTime = Math.max(0, duration - 0.3);
      await seeked;
      return { duration, width: el.videoWidth || 0, height: el.videoHeight || 0,
               currentTime: el.currentTime };
    }, { url: m.url, tag: m.tag, timeout: STEP_TIMEOUT });
    const problems = [];
    if (Math.abs(got.duration - m.duration) > 0.25)
      problems.push('duration ' + got.duration + ', expected ' + m.duration);
    if (m.width && (got.width !== m.width || got.height !== m.height))
      problems.push('size ' + got.width + 'x' + got.height);
    if (!seen.length) problems.push('no response seen for the file');
    if (!seen.some((s) => s.status === 206)) problems.push('no 206 among ' + JSON.stringify(seen));
    for (const s of seen) {
      if (s.status !== 200 && s.status !== 206) problems.push('status ' + s.status);
      if (s.acao !== '*') problems.push('Access-Control-Allow-Origin ' + JSON.stringify(s.acao));
    }
    if (failed.length) problems.push('failed requests: ' + failed.join('; '));
    record(m.name, !problems.length, problems.length ? problems.join('; ')
      : 'duration ' + got.duration.toFixed(3) + ', seeked to ' + got.currentTime.toFixed(2) +
        ', ranges ' + seen.map((s) => s.status + ' ' + s.range).join(', '));
  } catch (e) {
    record(m.name, false, String(e && e.message || e).split('\n')[0] + ' | responses ' +
           JSON.stringify(seen) + (failed.length ? ' | failed ' + failed.join('; ') : ''));
  } finally {
    await page.close().catch(() => {});
  }
}

/* What PDF.js does: a ranged fetch whose Content-Range it can read. */
async function rangedFetch(f) {
  const page = await browser.newPage();
  try {
    await page.setContent('<!doctype html><body></body>');
    const got = await page.evaluate(async (url) => {
      const r = await fetch(url, { headers: { Range: 'bytes=0-9' } });
      const b = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, contentRange: r.headers.get('Content-Range'),
               acceptRanges: r.headers.get('Accept-Ranges'), length: b.length,
               first: Array.from(b.slice(0, 4)) };
    }, f.url);
    const problems = [];
    if (got.status !== 206) problems.push('status ' + got.status);
    if (got.contentRange !== 'bytes 0-9/' + f.size)
      problems.push('Content-Range ' + JSON.stringify(got.contentRange) + ' (not exposed?)');
    if (got.length !== 10) problems.push(got.length + ' bytes');
    if (f.first && JSON.stringify(got.first) !== JSON.stringify(f.first))
      problems.push('first bytes ' + JSON.stringify(got.first));
    record(f.name, !problems.length, problems.join('; ') ||
      'Content-Range ' + got.contentRange + ', Accept-Ranges ' + got.acceptRanges);
  } catch (e) {
    record(f.name, false, String(e && e.message || e).split('\n')[0]);
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
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-quic', '--autoplay-policy=no-user-gesture-required'],
  });
  for (const m of cfg.media || []) await play(m);
  for (const f of cfg.fetches || []) await rangedFetch(f);
} catch (e) {
  record('all', false, 'the browser starts: ' + String(e && e.message || e).split('\n')[0]);
  code = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(hardTimer);
}
process.stdout.write(JSON.stringify({ results }) + '\n');
process.exit(code);
