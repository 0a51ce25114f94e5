/*
 * viewer.js - the Tessera viewer page.
 *
 * Lists the images the server offers (images.json, identifiers already
 * percent-encoded once, "/" as %2F), and opens the chosen one in
 * OpenSeadragon through the chosen protocol.  The page's own URL keeps the
 * state (?id=...&proto=...), so a view can be bookmarked or shared.
 *
 * The one idea: identifiers are held decoded and encoded exactly once when
 * a URL is built (encodeURIComponent also encodes "/"), so an image in a
 * sub-folder reaches the server as "a%2Fb", which is what IIIF asks for.
 */
(function () {
  "use strict";

  var OSD_IMAGES = "viewer/node_modules/openseadragon/build/openseadragon/images/";

  var imageSelect = document.getElementById("image");
  var protocolSelect = document.getElementById("protocol");
  var describeLink = document.getElementById("describe");
  var statusText = document.getElementById("status");

  var viewer = OpenSeadragon({
    id: "viewer",
    prefixUrl: OSD_IMAGES,
    showNavigator: true,
    navigatorPosition: "BOTTOM_RIGHT",
    maxZoomPixelRatio: 2,
    crossOriginPolicy: "Anonymous"
  });
  /* For scripts and tests (tests/browser/osd.mjs): the OpenSeadragon viewer. */
  window.tesseraViewer = viewer;

  function status(text, isError) {
    statusText.textContent = text;
    statusText.className = isError ? "error" : "";
  }

  function enc(id) {
    return encodeURIComponent(id);
  }

  /* Where each protocol describes an image; the tile URLs follow from it. */
  var protocols = {
    iiif3: {
      describe: function (id) { return "iiif/3/" + enc(id) + "/info.json"; }
    },
    iiif2: {
      describe: function (id) { return "iiif/2/" + enc(id) + "/info.json"; }
    },
    deepzoom: {
      describe: function (id) { return "deepzoom/" + enc(id) + ".dzi"; }
    },
    zoomify: {
      describe: function (id) { return "zoomify/" + enc(id) + "/ImageProperties.xml"; },
      /* OpenSeadragon does not read ImageProperties.xml itself: read the
       * size and tile size from it and hand over a tile source object. */
      load: function (id) {
        var url = this.describe(id);
        return fetch(url).then(function (r) {
          if (!r.ok) { throw new Error(r.status + " " + r.statusText); }
          return r.text();
        }).then(function (text) {
          var doc = new DOMParser().parseFromString(text, "application/xml");
          var props = doc.querySelector("IMAGE_PROPERTIES");
          if (!props) { throw new Error("not a Zoomify ImageProperties.xml"); }
          return {
            type: "zoomifytileservice",
            width: parseInt(props.getAttribute("WIDTH"), 10),
            height: parseInt(props.getAttribute("HEIGHT"), 10),
            tileSize: parseInt(props.getAttribute("TILESIZE") || "256", 10),
            tilesUrl: "zoomify/" + enc(id) + "/"
          };
        });
      }
    }
  };

  function currentState() {
    return { id: imageSelect.value, proto: protocolSelect.value };
  }

  function remember(state) {
    var params = new URLSearchParams();
    params.set("id", state.id);
    if (state.proto !== "iiif3") { params.set("proto", state.proto); }
    history.replaceState(null, "", "?" + params.toString());
  }

  function open() {
    var state = currentState();
    var proto = protocols[state.proto] || protocols.iiif3;
    if (!state.id) { return; }
    remember(state);
    describeLink.href = proto.describe(state.id);
    describeLink.textContent = proto.describe(state.id).split("/").pop();
    status("Opening " + state.id + " ...");
    var source = proto.load ? proto.load(state.id) : Promise.resolve(proto.describe(state.id));
    source.then(function (tileSource) {
      viewer.open(tileSource);
    }).catch(function (e) {
      status("Cannot open " + state.id + ": " + e.message, true);
    });
  }

  viewer.addHandler("open", function () {
    var item = viewer.world.getItemAt(0);
    var size = item ? item.getContentSize() : null;
    status(imageSelect.value + (size ? " \u2014 " + size.x + " \u00d7 " + size.y + " px" : ""));
  });
  viewer.addHandler("open-failed", function (e) {
    status("Cannot open " + imageSelect.value + ": " + (e.message || "failed"), true);
  });

  function fill(ids, wanted) {
    imageSelect.textContent = "";
    if (wanted && ids.indexOf(wanted) < 0) { ids.unshift(wanted); }
    ids.forEach(function (id) {
      var opt = document.createElement("option");
      opt.value = id;
      opt.textContent = id;
      imageSelect.appendChild(opt);
    });
    if (wanted) { imageSelect.value = wanted; }
  }

  var params = new URLSearchParams(location.search);
  var wantedId = params.get("id");
  /* "source" is accepted as another name for "proto". */
  var wantedProto = params.get("proto") || params.get("source");
  if (wantedProto && protocols[wantedProto]) { protocolSelect.value = wantedProto; }

  imageSelect.addEventListener("change", open);
  protocolSelect.addEventListener("change", open);

  fetch("images.json").then(function (r) {
    if (!r.ok) { throw new Error(r.status + " " + r.statusText); }
    return r.json();
  }).then(function (list) {
    /* The list holds identifiers encoded once; keep them decoded here. */
    var ids = (Array.isArray(list) ? list : []).map(function (s) {
      try { return decodeURIComponent(s); } catch (e) { return s; }
    });
    if (!ids.length && !wantedId) {
      status("No images under the root yet.", true);
      return;
    }
    fill(ids, wantedId);
    open();
  }).catch(function (e) {
    if (wantedId) {
      fill([], wantedId);
      open();
    } else {
      status("Cannot list images: " + e.message, true);
    }
  });
})();
