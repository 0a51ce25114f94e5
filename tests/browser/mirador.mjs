/*
 * mirador.mjs - Mirador 4 (the daemon's viewer/mirador.html) on published IIIF.
 *
 *   node mirador.mjs CONFIG.json      (written by viewers.py; see lib.mjs)
 *
 * 1. The top Collection: Mirador shows it, its members are listed in
 *    Mirador's collection dialog, the test clicks down cfg.pick (a nested
 *    Collection, then an image Manifest) and checks what OpenSeadragon
 *    paints: tile requests to the daemon answered 200, and the screen
 *    inside the viewer showing the page's cream paper and its coloured frame.
 * 2. The sound and the video Manifests, opened by canvasId as Mirador 4
 *    wants for AV: the <audio>/<video> element gets metadata, its duration
 *    is the manifest's within 0.1 s, it plays, and its byte requests are
 *    answered 200/206.  The video's frame size is the manifest's too.
 * 3. The daemon's own page at / (viewer/index.html, collection.js): its
 *    collection panel lists the top Collection's members, opens the nested
 *    one, shows members' thumbnails, and links each Manifest to
 *    mirador.html?manifest=ID; a Collection URL answering 404 gets the
 *    sentence for servers without the Presentation routes.
 * Prints ok/FAIL lines; exits 1 on any failure.
 */
import { cfg, STEP, report, launch, finish, newPage, imageRequests, getJSON, pixels, near, shot,
         until, playMedia, judgeMedia, netProblems, short } from './lib.mjs';

function page(manifest, canvas) {
  return cfg.miradorPage + '?manifest=' + encodeURIComponent(manifest) +
    (canvas ? '&canvas=' + encodeURIComponent(canvas) : '');
}

function label(l) {
  if (!l || typeof l !== 'object') return String(l || '');
  const k = Object.keys(l)[0];
  return k ? l[k].join(' ') : '';
}

/* Click the member labelled `want` in Mirador's collection dialog, going
 * through its "N collections" / "N manifests" tabs to find it. */
async function clickMember(p, dialog, want) {
  const item = dialog.getByText(want, { exact: true }).first();
  const ok = await until(async () => {
    if (await item.isVisible().catch(() => false)) return true;
    const chips = dialog.getByText(/^\d+ (collection|manifest)s?$/);
    for (let i = 0; i < await chips.count(); i++) {
      await chips.nth(i).click({ timeout: 2000 }).catch(() => {});
      await p.waitForTimeout(300);
      if (await item.isVisible().catch(() => false)) return true;
    }
    return false;
  }, STEP, 500);
  if (!ok) throw new Error('"' + want + '" is not listed in the collection dialog');
  await item.click({ timeout: STEP });
}

async function collection(ctx) {
  const { page: p, log } = await newPage(ctx);
  try {
    const top = await getJSON(cfg.top);
    await p.goto(page(cfg.top), { timeout: STEP });
    await p.getByRole('button', { name: /show collection/i }).click({ timeout: STEP });
    const dialog = p.getByRole('dialog');
    await dialog.waitFor({ timeout: STEP });
    /* Mirador lists a Collection's members in two tabs: "N collections", "N manifests" */
    const missing = [];
    const kinds = [['Collection', 'collection'], ['Manifest', 'manifest']];
    for (const [type, word] of kinds) {
      const of = top.items.filter((m) => m.type === type);
      if (!of.length) continue;
      const chip = dialog.getByText(new RegExp('^' + of.length + ' ' + word + 's?$'));
      if (!(await chip.count())) { missing.push('no "' + of.length + ' ' + word + '" tab'); continue; }
      await chip.first().click({ timeout: STEP });
      await p.waitForTimeout(300);
      for (const m of of) {
        const seen = await dialog.getByText(label(m.label), { exact: true }).first().isVisible().catch(() => false);
        if (!seen) missing.push(label(m.label));
      }
    }
    report('mirador collection: every member of the top Collection is listed', top.items.length && !missing.length,
           missing.length ? 'missing: ' + missing.join(', ') : top.items.length + ' members');
    await p.waitForTimeout(800);   /* the dialog fades in */
    await shot(p, 'mirador-collection.png');
    for (const want of cfg.pick) {
      await clickMember(p, dialog, want);
      await p.waitForTimeout(500);
    }
    /* the chosen Manifest is open: OpenSeadragon draws the first canvas */
    const osd = p.locator('.openseadragon-container').first();
    await osd.waitFor({ timeout: STEP });
    const stats = await until(async () => {
      const s = await pixels(p, osd);
      const tiles = imageRequests(log);
      return near(s, [245, 240, 225], 24) > 0.2 && tiles.length ? s : null;
    }, STEP, 500) || await pixels(p, osd);
    await p.waitForTimeout(500);
    const paper = near(stats, [245, 240, 225], 24), frame = near(stats, [200, 90, 60], 40);
    report('mirador image: OpenSeadragon paints the page (cream paper and the red frame on screen)',
           paper > 0.2 && frame > 0.002,
           'paper ' + (100 * paper).toFixed(1) + '%, frame colour ' + (100 * frame).toFixed(2) + '% of ' +
           stats.w + 'x' + stats.h + ' px, ' + stats.distinct + ' colours');
    const tiles = imageRequests(log);
    const bad = tiles.filter((r) => r.status !== 200 || !/^image\//.test(r.type));
    report('mirador image: tile requests answered 200 with an image', tiles.length && !bad.length,
           bad.slice(0, 3).map((r) => r.status + ' ' + short(r.url)).join('; ') || tiles.length + ' image requests');
    const probs = netProblems(log);
    report('mirador collection: no failed request, no refused external host, no page error',
           !probs.length && !log.errors.length, probs.concat(log.errors).slice(0, 4).join('; '));
    await shot(p, 'mirador-image.png');
  } catch (e) {
    report('mirador collection', false, 'stopped: ' + String(e.message || e).split('\n')[0]);
    await shot(p, 'mirador-collection-failed.png');
  } finally {
    await p.close().catch(() => {});
  }
}

async function av(ctx, what, url, selector) {
  const { page: p, log } = await newPage(ctx);
  try {
    const man = await getJSON(url);
    const canvas = man.items[0];
    await p.goto(page(url, canvas.id), { timeout: STEP });
    const m = await playMedia(p, selector);
    if (m.error && m.readyState === undefined) {
      report('mirador ' + what, false, m.error);
    } else {
      judgeMedia('mirador ' + what, m, canvas, log);
      if (what === 'video')
        report('mirador video: frame size is the canvas size', m.videoWidth === canvas.width && m.videoHeight === canvas.height,
               m.videoWidth + 'x' + m.videoHeight + ', canvas ' + canvas.width + 'x' + canvas.height);
    }
    const probs = netProblems(log);
    report('mirador ' + what + ': no failed request, no refused external host, no page error',
           !probs.length && !log.errors.length, probs.concat(log.errors).slice(0, 4).join('; '));
    await shot(p, 'mirador-' + what + '.png');
  } catch (e) {
    report('mirador ' + what, false, 'stopped: ' + String(e.message || e).split('\n')[0]);
  } finally {
    await p.close().catch(() => {});
  }
}

async function demoPage(ctx) {
  const { page: p, log } = await newPage(ctx);
  try {
    const top = await getJSON(cfg.top);
    const index = cfg.miradorPage.replace(/\/viewer\/mirador\.html$/, '/');
    await p.goto(index + '?collection=' + encodeURIComponent(cfg.top), { timeout: STEP });
    const panel = p.locator('#members');
    await p.locator('#members li').first().waitFor({ timeout: STEP });
    const shown = await p.locator('#members li').count();
    report('demo page: the collection panel lists the top Collection\'s members', shown === top.items.length,
           shown + ' listed, ' + top.items.length + ' in the Collection');
    const topThumbs = top.items.filter((m) => m.thumbnail).length;
    const topLoaded = await until(() => p.evaluate(() => {
      const imgs = [...document.querySelectorAll('#members img')];
      return imgs.every((i) => i.complete) ? imgs.filter((i) => i.naturalWidth > 0).map((i) => i.src) : null;
    }), STEP);
    const broken = log.responses.filter((r) => r.status >= 400 && /\/full\/[^/]+\/0\/default\.jpg$/.test(r.url));
    report('demo page: the top members\' thumbnails load', topLoaded && topLoaded.length === topThumbs && !broken.length,
           (topLoaded ? topLoaded.length : 0) + ' of ' + topThumbs + ' loaded' +
           (broken.length ? '; ' + broken.map((r) => r.status + ' ' + short(r.url)).join(', ') : ''));
    const nested = top.items.find((m) => m.type === 'Collection');
    await panel.getByRole('button', { name: label(nested.label), exact: true }).click({ timeout: STEP });
    const sub = await getJSON(nested.id);
    await until(async () => (await p.locator('#members li').count()) === sub.items.length &&
      (await p.locator('#members').innerText()).includes(label(sub.items[0].label)), STEP);
    const thumbs = sub.items.filter((m) => m.thumbnail).length;
    const loaded = await until(() => p.evaluate((n) => {
      const imgs = [...document.querySelectorAll('#members img')];
      return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0) ? imgs.length : 0;
    }, thumbs), STEP);
    report('demo page: a nested Collection opens, its members\' thumbnails load', loaded === thumbs && thumbs > 0,
           (loaded || 0) + ' of ' + thumbs + ' thumbnails loaded');
    const href = await p.locator('#members li').first().getByRole('link', { name: 'Mirador' }).getAttribute('href');
    report('demo page: a Manifest links to mirador.html?manifest=ID', href === 'viewer/mirador.html?manifest=' +
           encodeURIComponent(sub.items[0].id), href);
    await shot(p, 'demo-page.png');
    const probs = netProblems(log);
    report('demo page: no failed request, no page error', !probs.length && !log.errors.length,
           probs.concat(log.errors).slice(0, 4).join('; '));
    const { page: q } = await newPage(ctx);
    await q.goto(index + '?collection=' + encodeURIComponent(cfg.imageBase + '/iiif/3/collection/no-such-folder-here'));
    const said = await until(async () => {
      const t = await q.locator('#collection-status').innerText();
      return /publishes no IIIF collections/.test(t) ? t : null;
    }, STEP);
    const linkHidden = await q.locator('#mirador-link').isHidden();
    report('demo page: a server answering 404 for the Collection gets a plain sentence (and no Mirador link)',
           !!said && linkHidden, (said || 'no sentence') + (linkHidden ? '' : '; the Mirador link is still shown'));
    await q.close();
  } catch (e) {
    report('demo page', false, 'stopped: ' + String(e.message || e).split('\n')[0]);
  } finally {
    await p.close().catch(() => {});
  }
}

try {
  const ctx = await launch();
  await demoPage(ctx);
  await collection(ctx);
  await av(ctx, 'sound', cfg.manifests.sound, 'audio');
  await av(ctx, 'video', cfg.manifests.video, 'video');
} catch (e) {
  report('mirador: the browser starts', false, String(e.message || e).split('\n')[0]);
}
await finish();
