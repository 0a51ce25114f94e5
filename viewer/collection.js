/*
 * collection.js - the collection panel of the Tessera viewer page.
 *
 * Browses the server's IIIF Presentation 3.0 Collections, starting at
 * iiif/3/collection/top (relative to the page, or ?collection=URL): each
 * member is shown with its thumbnail (the member's own `thumbnail`, a
 * concrete size the server lists) and label; a nested Collection opens in
 * the panel, a Manifest in Mirador (viewer/mirador.html?manifest=URL) or
 * as JSON.  A server without the Presentation routes (404 or 501 for the
 * top Collection) gets a plain sentence saying so, and the image list and
 * OpenSeadragon above keep working.
 *
 * The one idea: everything shown comes from the JSON as text (textContent,
 * never HTML), and only http(s) URLs from it are followed or linked.
 */
(function () {
  "use strict";

  var panel = document.getElementById("collection");
  var trail = document.getElementById("trail");
  var members = document.getElementById("members");
  var statusText = document.getElementById("collection-status");
  var browse = document.getElementById("browse");
  var MIRADOR = "viewer/mirador.html";

  var params = new URLSearchParams(location.search);
  var top = new URL(params.get("collection") || "iiif/3/collection/top", location.href).href;
  var path = [];   /* [{ id, label }] from the top to the Collection shown */

  function status(text, isError) {
    statusText.textContent = text;
    statusText.className = isError ? "error" : "";
  }

  function webUrl(u) {
    try {
      var url = new URL(u, location.href);
      return /^https?:$/.test(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /* A language map's text (3.0 §4.3.1): the page's language, then
   * English, then "none", then whatever comes first. */
  function text(map) {
    if (typeof map === "string") { return map; }
    if (!map || typeof map !== "object") { return ""; }
    var want = [(navigator.language || "en").split("-")[0], "en", "none"];
    for (var i = 0; i < want.length; i++) {
      if (Array.isArray(map[want[i]]) && map[want[i]].length) { return map[want[i]].join(" "); }
    }
    var keys = Object.keys(map);
    return keys.length && Array.isArray(map[keys[0]]) ? map[keys[0]].join(" ") : "";
  }

  function el(tag, className, content) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (content) { e.textContent = content; }
    return e;
  }

  function link(href, label) {
    var a = el("a", "", label);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }

  function mirador(id) {
    return MIRADOR + "?manifest=" + encodeURIComponent(id);
  }

  function drawTrail() {
    trail.textContent = "";
    path.forEach(function (step, i) {
      if (i) { trail.appendChild(el("span", "", "\u203a")); }
      var b = el("button", "", step.label || "Collection");
      b.type = "button";
      b.addEventListener("click", function () { path = path.slice(0, i + 1); show(); });
      trail.appendChild(b);
    });
  }

  function thumbnail(member) {
    var box = el("span", "thumb");
    var t = Array.isArray(member.thumbnail) ? member.thumbnail[0] : null;
    var src = t && webUrl(t.id);
    if (src) {
      var img = el("img");
      img.alt = "";
      img.loading = "lazy";
      img.src = src;
      box.appendChild(img);
    } else {
      box.textContent = member.type === "Collection" ? "folder" : "item";
    }
    return box;
  }

  function row(member) {
    var li = el("li");
    var id = webUrl(member.id);
    var label = text(member.label) || member.id;
    var body = el("span", "text");
    var links = el("span", "links");
    li.dataset.type = member.type;
    li.appendChild(thumbnail(member));
    if (member.type === "Collection" && id) {
      var open = el("button", "open label", label);
      open.type = "button";
      open.addEventListener("click", function () { path.push({ id: id, label: label }); show(); });
      body.appendChild(open);
      links.appendChild(el("span", "", "Collection"));
    } else {
      body.appendChild(el("span", "label", label));
    }
    if (id) {
      links.appendChild(link(mirador(id), "Mirador"));
      links.appendChild(link(id, "JSON"));
    }
    body.appendChild(links);
    li.appendChild(body);
    return li;
  }

  function show() {
    var here = path[path.length - 1];
    drawTrail();
    members.textContent = "";
    status("Loading\u2026");
    fetch(here.id, { headers: { Accept: "application/ld+json" } }).then(function (r) {
      if (r.status === 404 || r.status === 501) {
        var e = new Error("old");
        e.status = r.status + " " + r.statusText;
        throw e;
      }
      if (!r.ok) { throw new Error(r.status + " " + r.statusText); }
      return r.json();
    }).then(function (c) {
      if (!c || c.type !== "Collection" || !Array.isArray(c.items)) {
        throw new Error("not a IIIF 3.0 Collection");
      }
      here.label = text(c.label) || here.label;
      drawTrail();
      c.items.forEach(function (m) {
        if (m && (m.type === "Collection" || m.type === "Manifest")) { members.appendChild(row(m)); }
      });
      status(c.items.length + (c.items.length === 1 ? " member" : " members"));
    }).catch(function (e) {
      if (e.status && path.length === 1) {
        status("This server publishes no IIIF collections (" + e.status + " for " +
               new URL(here.id).pathname.replace(/^\//, "") + "); " +
               "the image list and the viewer beside still work.", true);
        panel.dataset.unavailable = "true";
        /* Mirador would only show the same 404 */
        document.getElementById("mirador-link").hidden = true;
      } else {
        status("Cannot load this collection: " + (e.status || e.message), true);
      }
    });
  }

  browse.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    browse.setAttribute("aria-expanded", String(!panel.hidden));
    /* OpenSeadragon sizes itself from its element: tell it the size changed. */
    window.dispatchEvent(new Event("resize"));
  });

  path = [{ id: top, label: "Collection" }];
  show();
})();
