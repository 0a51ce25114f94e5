/*
 * uv.mjs - the Universal Viewer 4.4 (npm, its dist/uv.html) on published IIIF.
 *
 *   node uv.mjs CONFIG.json      (written by viewers.py; see lib.mjs)
 *
 * UV is opened as uv.html#?manifest=URL (the URL percent-encoded whole, or
 * UV's hash parser turns a %2F in it into '/') on the nested Collection of
 * the top one (its members' labels are all in UV's index), and for each
 * kind of item:
 *   image  OpenSeadragon paints the page (cream paper, red frame on screen),
 *          its image requests to the daemon are all 200;
 *   sound  the <audio> element gets metadata, the manifest's duration within
 *          0.1 s, plays, its byte requests 200/206;
 *   pdf    PDF.js (which UV loads from cdnjs: answered here from pdfjs-dist)
 *          renders the page into a canvas: white paper, the blue border;
 *   model  <model-viewer> loads the GLB and the red triangle is on screen.
 * Prints ok/FAIL lines; exits 1 on any failure.
 */
import { cfg, STEP, report, launch, finish, newPage, imageRequests, getJSON, pixels, near, shot,
         until, playMedia, judgeMedia, netProblems, short } from './lib.mjs';

/* UV asks for a placeholder image relative to the page ("images/data:..."),
 * a harmless 404 of its own. */
const UV_QUIRKS = [/\/images\/data:image/];

function uvPage(manifest) {
  return cfg.uvPage + '#?manifest=' + encodeURIComponent(manifest);
}

function clean(what, log) {
  const probs = netProblems(log, UV_QUIRKS);
  report('uv ' + what + ': no failed request, no refused external host, no page error',
         !probs.length && !log.errors.length, probs.concat(log.errors).slice(0, 4).join('; '));
}

async function open(ctx, url) {
  const { page, log } = await newPage(ctx);
  await page.goto(uvPage(url), { timeout: STEP });
  return { page, log };
}

async function image(ctx) {
  const { page: p, log } = await open(ctx, cfg.manifests.image);
  try {
    const osd = p.locator('.openseadragon-container').first();
    await osd.waitFor({ timeout: STEP });
    const stats = await until(async () => {
      const s = await pixels(p, osd);
      return near(s, [245, 240, 225], 24) > 0.2 && imageRequests(log).length ? s : null;
    }, STEP, 500) || await pixels(p, osd);
    const paper = near(stats, [245, 240, 225], 24), frame = near(stats, [200, 90, 60], 40);
    report('uv image: OpenSeadragon paints the page (cream paper and the red frame on screen)',
           paper > 0.2 && frame > 0.002,
           'paper ' + (100 * paper).toFixed(1) + '%, frame colour ' + (100 * frame).toFixed(2) + '% of ' +
           stats.w + 'x' + stats.h + ' px');
    const reqs = imageRequests(log);
    const bad = reqs.filter((r) => r.status !== 200 || !/^image\//.test(r.type));
    report('uv image: image requests answered 200 with an image', reqs.length && !bad.length,
           bad.slice(0, 3).map((r) => r.status + ' ' + short(r.url)).join('; ') || reqs.length + ' image requests');
    clean('image', log);
    await shot(p, 'uv-image.png');
  } catch (e) {
    report('uv image', false, 'stopped: ' + String(e.message || e).split('\n')[0]);
  } finally {
    await p.close().catch(() => {});
  }
}

async function collection(ctx) {
  const top = await getJSON(cfg.top);
  const nested = top.items.find((m) => m.type === 'Collection');
  if (!nested) return report('uv collection', false, 'the top Collection has no nested Collection');
  const sub = await getJSON(nested.id);
  const { page: p, log } = await open(ctx, nested.id);
  try {
    const labels = sub.items.map((m) => Object.values(m.label)[0].join(' '));
    let missing = labels;
    await until(async () => {
      const t = await p.locator('.leftPanel').innerText().catch(() => '');
      missing = labels.filter((l) => !t.includes(l));
      return !missing.length;
    }, STEP, 500);
    report('uv collection: every member of the nested Collection is in UV\'s index', !missing.length,
           missing.length ? 'missing: ' + missing.join(', ') : labels.length + ' members');
    clean('collection', log);
    await p.waitForTimeout(1500);
    await shot(p, 'uv-collection.png');
  } catch (e) {
    report('uv collection', false, 'stopped: ' + String(e.message || e).split('\n')[0]);
  } finally {
    await p.close().catch(() => {});
  }
}

async function sound(ctx) {
  const man = await getJSON(cfg.manifests.sound);
  const { page: p, log } = await open(ctx, cfg.manifests.sound);
  try {
    const m = await playMedia(p, 'audio');
    if (m.error && m.readyState === undefined) report('uv sound', false, m.error);
    else judgeMedia('uv sound', m, man.items[0], log);
    clean('sound', log);
    await shot(p, 'uv-sound.png');
  } catch (e) {
    report('uv sound', false, 'stopped: ' + String(e.message || e).split('\n')[0]);
  } finally {
    await p.close().catch(() => {});
  }
}

async function pdf(ctx) {
  const { page: p, log } = await open(ctx, cfg.manifests.pdf);
  try {
    const canvas = p.locator('.pdfContainer canvas, .pdfCenterPanel canvas').first();
    await canvas.waitFor({ timeout: STEP });
    let stats = null;
    await until(async () => {
      stats = await pixels(p, canvas);
      return near(stats, [255, 255, 255], 8) > 0.3 && near(stats, [51, 102, 204], 60) > 0.002;
    }, STEP, 500);
    const white = near(stats, [255, 255, 255], 8), blue = near(stats, [51, 102, 204], 60);
    report('uv pdf: PDF.js renders the page (white paper and the blue border on the canvas)',
           white > 0.3 && blue > 0.002,
           'white ' + (100 * white).toFixed(1) + '%, border blue ' + (100 * blue).toFixed(2) + '% of ' +
           stats.w + 'x' + stats.h + ' px');
    report('uv pdf: PDF.js came from pdfjs-dist, not the network', log.pdfjs.includes('pdf.min.js') &&
           log.pdfjs.includes('pdf.worker.min.js'), 'answered locally: ' + (log.pdfjs.join(', ') || 'nothing'));
    const doc = log.responses.filter((r) => /\.pdf$/.test(new URL(r.url).pathname));
    report('uv pdf: the PDF bytes were fetched with 200/206', doc.length && doc.every((r) => r.status === 200 || r.status === 206),
           doc.map((r) => r.status + ' ' + short(r.url)).join(', ') || 'no request for the PDF');
    clean('pdf', log);
    await shot(p, 'uv-pdf.png');
  } catch (e) {
    report('uv pdf', false, 'stopped: ' + String(e.message || e).split('\n')[0]);
  } finally {
    await p.close().catch(() => {});
  }
}

async function model(ctx) {
  const { page: p, log } = await open(ctx, cfg.manifests.model);
  try {
    const mv = p.locator('model-viewer').first();
    await mv.waitFor({ timeout: STEP });
    const loaded = await until(() => mv.evaluate((e) => e.loaded === true), STEP, 300);
    report('uv model: <model-viewer> loads the GLB', loaded,
           await mv.evaluate((e) => 'src ' + e.src + ', loaded ' + e.loaded).catch(() => ''));
    let stats = null, red = 0;
    await until(async () => {
      stats = await pixels(p, mv);
      red = stats.samples.filter((s) => s[0] > 150 && s[0] - s[1] > 60 && s[0] - s[2] > 60).length / stats.n;
      return red > 0.02;
    }, STEP, 500);
    report('uv model: the red triangle is on screen', red > 0.02,
           (100 * red).toFixed(1) + '% red of ' + stats.w + 'x' + stats.h + ' px');
    clean('model', log);
    await shot(p, 'uv-model.png');
  } catch (e) {
    report('uv model', false, 'stopped: ' + String(e.message || e).split('\n')[0]);
  } finally {
    await p.close().catch(() => {});
  }
}

try {
  const ctx = await launch();
  await collection(ctx);
  await image(ctx);
  await sound(ctx);
  await pdf(ctx);
  await model(ctx);
} catch (e) {
  report('uv: the browser starts', false, String(e.message || e).split('\n')[0]);
}
await finish();
