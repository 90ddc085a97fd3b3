/* The whole-slide viewer (templates/slides/viewer.html): OpenSeadragon on our Deep Zoom
   tiles, with labelled buttons instead of OpenSeadragon's icons, and a scale bar of ours
   from the slide's microns per pixel (OpenSeadragon has none). The descriptor and every tile
   are fetched with the page's short-lived grant in the X-Slide-Grant header (never in the
   URL, so it stays out of access logs and history); tiles arrive as blobs. */
(function () {
  "use strict";
  var element = document.getElementById("slide-viewer");
  if (!element || typeof OpenSeadragon === "undefined") {
    return;
  }
  var mpp = parseFloat(element.dataset.mpp) || 0;
  var power = parseFloat(element.dataset.power) || 0;
  var status = document.getElementById("slide-status");
  var errorBox = document.getElementById("slide-error");
  var bar = document.getElementById("slide-scalebar-bar");
  var barLabel = document.getElementById("slide-scalebar-label");

  var GRANT_HEADER = "X-Slide-Grant";
  function grantHeaders(grant) {
    var headers = {};
    headers[GRANT_HEADER] = grant;
    return headers;
  }

  var viewer = OpenSeadragon({
    element: element,
    tileSources: element.dataset.dziUrl,
    loadTilesWithAjax: true,
    ajaxHeaders: grantHeaders(element.dataset.grant || ""),
    showNavigationControl: false,
    showNavigator: true,
    navigatorPosition: "BOTTOM_RIGHT",
    navigatorRotate: true,
    // The 2D canvas: WebGL is missing on many hospital desktops and in headless browsers.
    drawer: "canvas",
    crossOriginPolicy: false,
    maxZoomPixelRatio: 4,
    visibilityRatio: 0.5,
    minZoomImageRatio: 0.5
  });
  // OpenSeadragon's tile cache key includes the request headers; a renewed grant (below)
  // must not make every tile already drawn a cache miss, so key tiles by position only.
  viewer.world.addHandler("add-item", function (event) {
    event.item.source.getTileHashKey = function (level, x, y) {
      return level + "/" + x + "_" + y;
    };
  });
  // Name OpenSeadragon's focusable surfaces for screen readers.
  viewer.canvas.setAttribute("aria-label", "Slide image: arrow keys move, plus and minus zoom, r rotates");
  viewer.canvas.setAttribute("role", "application");

  function imageZoom() {
    // Screen pixels per image (base level) pixel at the current zoom.
    var item = viewer.world.getItemAt(0);
    if (!item) {
      return 0;
    }
    return item.viewportToImageZoom(viewer.viewport.getZoom(true));
  }

  function niceLength(micrometres) {
    var exponent = Math.pow(10, Math.floor(Math.log10(micrometres)));
    var steps = [5, 2, 1];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * exponent <= micrometres) {
        return steps[i] * exponent;
      }
    }
    return exponent;
  }

  function formatLength(micrometres) {
    if (micrometres >= 1000) {
      return (micrometres / 1000) + " mm";
    }
    return (micrometres >= 1 ? micrometres : micrometres.toPrecision(1)) + " µm";
  }

  function update() {
    var zoom = imageZoom();
    if (!zoom) {
      return;
    }
    var rotation = viewer.viewport.getRotation();
    var parts = [];
    if (power) {
      parts.push("Magnification about " + (power * zoom).toPrecision(2).replace(/\.0+$/, "") + "×");
    }
    parts.push("zoom " + Math.round(zoom * 100) + "% of native");
    parts.push("rotated " + rotation + "°");
    status.textContent = parts.join(", ");
    if (mpp) {
      // About 120 screen pixels, rounded down to 1, 2 or 5 times a power of ten.
      var length = niceLength(120 * mpp / zoom);
      bar.style.width = Math.round(length * zoom / mpp) + "px";
      barLabel.textContent = "Scale: " + formatLength(length);
    }
  }

  var actions = {
    "zoom-in": function () { viewer.viewport.zoomBy(2); },
    "zoom-out": function () { viewer.viewport.zoomBy(0.5); },
    "home": function () { viewer.viewport.goHome(); },
    "native": function () {
      var item = viewer.world.getItemAt(0);
      if (item) {
        viewer.viewport.zoomTo(item.imageToViewportZoom(1));
      }
    },
    "rotate-left": function () { viewer.viewport.setRotation((viewer.viewport.getRotation() + 270) % 360); },
    "rotate-right": function () { viewer.viewport.setRotation((viewer.viewport.getRotation() + 90) % 360); }
  };

  document.querySelectorAll("[data-slide-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var action = actions[button.dataset.slideAction];
      if (action) {
        action();
        viewer.viewport.applyConstraints();
      }
    });
  });

  // A grant lasts minutes; a pathologist may read one slide for longer. Ask for a fresh one
  // (through the access gate again) halfway through its life: setAjaxHeaders hands it to
  // the tiled image and every tile requested from then on.
  var grantSeconds = parseFloat(element.dataset.grantSeconds) || 0;
  if (grantSeconds > 0 && element.dataset.grantUrl) {
    window.setInterval(function () {
      fetch(element.dataset.grantUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("grant " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          if (typeof data.grant === "string") {
            viewer.setAjaxHeaders(grantHeaders(data.grant), true);
          }
        })
        .catch(function () {
          errorBox.hidden = false;
        });
    }, Math.max(1, grantSeconds * 0.5) * 1000);
  }

  viewer.addHandler("open", update);
  viewer.addHandler("animation-finish", update);
  viewer.addHandler("rotate", update);
  viewer.addHandler("open-failed", function () {
    errorBox.hidden = false;
    status.textContent = "The slide could not be opened.";
  });
  viewer.addHandler("tile-load-failed", function () {
    errorBox.hidden = false;
  });
})();
