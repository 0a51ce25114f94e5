/*
 * mirador.js - start Mirador on the resource named by the page's URL.
 *
 *   viewer/mirador.html?manifest=URL[&canvas=URL]
 *
 * URL may be relative to the page.  Without ?manifest, the server's top
 * Collection ({base}/iiif/3/collection/top, found relative to this page so
 * that a proxy's path prefix is kept) is opened.
 *
 * The one idea: Mirador is given absolute URLs only, because it uses the
 * manifestId both to fetch and as the key of its store, and a Collection
 * member's id (absolute, from the server) must match what was asked for.
 */
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var top = new URL("../iiif/3/collection/top", location.href).href;
  var manifest = new URL(params.get("manifest") || top, location.href).href;
  var canvas = params.get("canvas");
  var win = { manifestId: manifest, thumbnailNavigationPosition: "far-bottom" };

  if (canvas) { win.canvasId = new URL(canvas, location.href).href; }
  document.title = "Tessera - Mirador - " + manifest;

  /* For scripts and tests (tests/browser/mirador.mjs): the Mirador instance. */
  window.tesseraMirador = Mirador.viewer({
    id: "mirador",
    windows: [win],
    catalog: [{ manifestId: manifest }].concat(manifest === top ? [] : [{ manifestId: top }]),
    window: { allowClose: false, allowMaximize: false, defaultSideBarPanel: "info", sideBarOpenByDefault: false },
    workspace: { type: "mosaic" },
    workspaceControlPanel: { enabled: true }
  });
})();
