/* The study viewer (templates/imaging/study.html, imaging/viewer_views.py).
 *
 * cornerstone-core draws (window/level LUTs, zoom, pan, invert); dicom-parser reads the files.
 * Both are vendored in static/vendor/cornerstone. The server answers every instance
 * uncompressed (compressed ones are decoded in its bounded child), so no codec, worker or
 * WebAssembly runs here and the page keeps the site's CSP unchanged.
 *
 * Each instance is fetched once with the page's short-lived grant in the X-Study-Grant header
 * (never in the URL), parsed once, and kept while the page is open; a multi-frame file gives
 * one image per frame. Tools (drag window/level, pan, zoom, measure, wheel/keys/slider
 * scrolling, cine) are written here on cornerstone's viewport API: small, and each has a
 * keyboard way in.
 */
(function () {
  "use strict";
  var cs = window.cornerstone;
  var dp = window.dicomParser;
  var configNode = document.getElementById("study-config");
  if (!cs || !dp || !configNode) {
    return;
  }
  var config = JSON.parse(configNode.textContent);
  var loadedAt = Date.now();

  var presetSelect = document.getElementById("window-preset");
  var centerInput = document.getElementById("window-center");
  var widthInput = document.getElementById("window-width");
  var measureOut = document.getElementById("measure-result");
  var alertBox = document.getElementById("viewer-alert");
  var cineButton = document.getElementById("cine");
  var cineRate = document.getElementById("cine-rate");
  var headerButton = document.getElementById("show-header");
  var headerPre = document.getElementById("dicom-header");
  var compareButton = document.getElementById("compare");
  var invertButton = document.getElementById("invert");

  // --- presets: CT in Hounsfield units; others from the file or the data's range ----------
  var CT_PRESETS = [
    ["brain", "Brain (W 80, L 40)", 40, 80],
    ["subdural", "Subdural (W 200, L 75)", 75, 200],
    ["stroke", "Stroke (W 40, L 40)", 40, 40],
    ["bone", "Bone (W 2000, L 500)", 500, 2000],
    ["lung", "Lung (W 1500, L -600)", -600, 1500],
    ["soft", "Soft tissue / abdomen (W 400, L 50)", 50, 400],
    ["liver", "Liver (W 150, L 30)", 30, 150],
  ];

  // --- loading ----------------------------------------------------------------------------
  var files = new Map();

  function instanceUrl(template, id) {
    return template.replace(/\/0(\.dcm|\/header\.json)$/, "/" + id + "$1");
  }

  function grantFetch(url) {
    return fetch(url, {
      headers: { "X-Study-Grant": config.grant },
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response;
    });
  }

  function fetchInstance(id) {
    var pending = files.get(id);
    if (!pending) {
      pending = grantFetch(instanceUrl(config.instanceUrl, id))
        .then(function (response) {
          return response.arrayBuffer();
        })
        .then(function (buffer) {
          var byteArray = new Uint8Array(buffer);
          return { byteArray: byteArray, dataSet: dp.parseDicom(byteArray) };
        });
      files.set(id, pending);
      pending.catch(function () {
        files.delete(id);
      });
    }
    return pending;
  }

  function firstFloat(dataSet, tag) {
    var text = dataSet.string(tag);
    if (!text) {
      return null;
    }
    var value = parseFloat(text.split("\\")[0]);
    return isFinite(value) ? value : null;
  }

  function spacingOf(dataSet) {
    var text = dataSet.string("x00280030") || dataSet.string("x00181164");
    if (!text) {
      return null;
    }
    var parts = text.split("\\").map(parseFloat);
    if (parts.length < 2 || !(parts[0] > 0) || !(parts[1] > 0)) {
      return null;
    }
    return { row: parts[0], column: parts[1] };
  }

  function makeImage(imageId, file, frame) {
    var dataSet = file.dataSet;
    var byteArray = file.byteArray;
    var rows = dataSet.uint16("x00280010");
    var columns = dataSet.uint16("x00280011");
    var bits = dataSet.uint16("x00280100") || 16;
    var signed = dataSet.uint16("x00280103") === 1;
    var samples = dataSet.uint16("x00280002") || 1;
    var planar = dataSet.uint16("x00280006") || 0;
    var photometric = (dataSet.string("x00280004") || "MONOCHROME2").trim();
    var element = dataSet.elements.x7fe00010;
    if (!element || !rows || !columns || (bits !== 8 && bits !== 16)) {
      throw new Error("unsupported pixel data");
    }
    var count = rows * columns;
    var frameBytes = count * samples * (bits / 8);
    var offset = element.dataOffset + frame * frameBytes;
    if (offset + frameBytes > byteArray.length) {
      throw new Error("truncated pixel data");
    }
    var pixels;
    var color = samples === 3;
    if (color) {
      var source = byteArray.subarray(offset, offset + frameBytes);
      pixels = new Uint8Array(count * 4);
      for (var i = 0; i < count; i++) {
        if (planar) {
          pixels[i * 4] = source[i];
          pixels[i * 4 + 1] = source[i + count];
          pixels[i * 4 + 2] = source[i + 2 * count];
        } else {
          pixels[i * 4] = source[i * 3];
          pixels[i * 4 + 1] = source[i * 3 + 1];
          pixels[i * 4 + 2] = source[i * 3 + 2];
        }
        pixels[i * 4 + 3] = 255;
      }
    } else if (bits === 16) {
      var start = byteArray.byteOffset + offset;
      var buffer = byteArray.buffer;
      if (start % 2) {
        // A typed array needs an aligned start: copy this frame out.
        buffer = byteArray.slice(offset, offset + frameBytes).buffer;
        start = 0;
      }
      pixels = signed ? new Int16Array(buffer, start, count) : new Uint16Array(buffer, start, count);
    } else {
      pixels = signed
        ? new Int8Array(byteArray.buffer, byteArray.byteOffset + offset, count)
        : new Uint8Array(byteArray.buffer, byteArray.byteOffset + offset, count);
    }
    var min = color ? 0 : Infinity;
    var max = color ? 255 : -Infinity;
    if (!color) {
      for (var j = 0; j < count; j++) {
        var v = pixels[j];
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    var slope = firstFloat(dataSet, "x00281053");
    var intercept = firstFloat(dataSet, "x00281052");
    slope = slope === null || slope === 0 ? 1 : slope;
    intercept = intercept === null ? 0 : intercept;
    var center = firstFloat(dataSet, "x00281050");
    var width = firstFloat(dataSet, "x00281051");
    var rangeCenter = ((max + min) / 2) * slope + intercept;
    var rangeWidth = Math.max(1, (max - min) * Math.abs(slope));
    var spacing = spacingOf(dataSet);
    return {
      imageId: imageId,
      minPixelValue: min,
      maxPixelValue: max,
      slope: slope,
      intercept: intercept,
      windowCenter: center === null ? rangeCenter : center,
      windowWidth: width === null || width <= 0 ? rangeWidth : width,
      fileWindow: center !== null && width !== null && width > 0 ? [center, width] : null,
      rangeWindow: [rangeCenter, rangeWidth],
      getPixelData: function () {
        return pixels;
      },
      rows: rows,
      columns: columns,
      height: rows,
      width: columns,
      color: color,
      invert: photometric === "MONOCHROME1",
      columnPixelSpacing: spacing ? spacing.column : undefined,
      rowPixelSpacing: spacing ? spacing.row : undefined,
      hasSpacing: !!spacing,
      sizeInBytes: pixels.byteLength,
      frameTime: firstFloat(dataSet, "x00181063"),
    };
  }

  cs.registerImageLoader("so", function (imageId) {
    var parts = imageId.split(":");
    var promise = fetchInstance(Number(parts[1])).then(function (file) {
      return makeImage(imageId, file, Number(parts[2]));
    });
    return { promise: promise };
  });

  // --- panes: one, or two side by side; the toolbar acts on the active one ----------------
  var panes = [];
  var active = null;
  var prefetchQueue = [];
  var prefetching = 0;
  var tool = "window";
  var comparing = false;

  function stackFor(s) {
    var out = [];
    s.instances.forEach(function (inst) {
      for (var f = 0; f < inst.frames; f++) {
        out.push({ imageId: "so:" + inst.id + ":" + f, instance: inst, frame: f });
      }
    });
    return out;
  }

  function seriesById(id) {
    return config.series.find(function (s) {
      return s.id === id;
    });
  }

  function showAlert(text) {
    alertBox.textContent = text;
    alertBox.classList.remove("d-none");
  }

  function failed(error) {
    if (Date.now() - loadedAt > config.grantSeconds * 1000 - 5000) {
      showAlert(
        "This viewing session has ended (it lasts " +
          Math.round(config.grantSeconds / 60) +
          " minutes). Reload the page to go on reading the study."
      );
    } else {
      showAlert("An image of this series could not be loaded" + (error && error.status ? " (" + error.status + ")" : "") + ".");
    }
  }

  function fmt(value) {
    return Math.round(value * 10) / 10;
  }

  // --- window presets ---------------------------------------------------------------------
  function fillPresets(pane) {
    presetSelect.textContent = "";
    var options = [["file", "From the file"], ["range", "Full range of the data"]];
    if (pane.series && pane.series.modality === "CT") {
      options = options.concat(
        CT_PRESETS.map(function (p) {
          return [p[0], p[1]];
        })
      );
    }
    options.push(["custom", "Custom (dragged or typed)"]);
    options.forEach(function (o) {
      var option = document.createElement("option");
      option.value = o[0];
      option.textContent = o[1];
      presetSelect.appendChild(option);
    });
    presetSelect.value = pane.preset;
  }

  function presetWindow(name, image) {
    var ct = CT_PRESETS.find(function (p) {
      return p[0] === name;
    });
    if (ct) {
      return [ct[2], ct[3]];
    }
    if (name === "file") {
      return image.fileWindow || image.rangeWindow;
    }
    if (name === "range") {
      return image.rangeWindow;
    }
    return null;
  }

  function setWindow(pane, center, width) {
    var vp = cs.getViewport(pane.element);
    if (!vp) return;
    vp.voi.windowCenter = center;
    vp.voi.windowWidth = Math.max(1, width);
    cs.setViewport(pane.element, vp);
  }

  presetSelect.addEventListener("change", function () {
    active.preset = presetSelect.value;
    if (!active.shownImage) return;
    var w = presetWindow(active.preset, active.shownImage);
    if (w) setWindow(active, w[0], w[1]);
  });

  function typedWindow() {
    var c = parseFloat(centerInput.value);
    var w = parseFloat(widthInput.value);
    if (isFinite(c) && isFinite(w) && w >= 1) {
      active.preset = presetSelect.value = "custom";
      setWindow(active, c, w);
    }
  }
  centerInput.addEventListener("change", typedWindow);
  widthInput.addEventListener("change", typedWindow);

  // --- the toolbar follows the active pane ------------------------------------------------
  function setActive(pane) {
    if (active === pane) return;
    if (active) active.stage.classList.remove("is-active");
    active = pane;
    pane.stage.classList.toggle("is-active", comparing);
    fillPresets(pane);
    var vp = pane.shownImage && cs.getViewport(pane.element);
    invertButton.setAttribute("aria-pressed", vp && vp.invert ? "true" : "false");
    cineButton.disabled = pane.stack.length < 2;
    cineButton.textContent = pane.cineTimer ? "Pause" : "Play";
    cineButton.setAttribute("aria-pressed", pane.cineTimer ? "true" : "false");
    measureOut.textContent = measureText(pane);
    markSeriesButtons();
    if (pane.shownImage) updateOverlay(pane);
  }

  function markSeriesButtons() {
    document.querySelectorAll(".series-button").forEach(function (b) {
      var shownIn = panes.filter(function (p, n) {
        return (n === 0 || comparing) && p.series && p.series.id === Number(b.dataset.series);
      });
      b.setAttribute("aria-pressed", active.series && active.series.id === Number(b.dataset.series) ? "true" : "false");
      b.classList.toggle("is-shown", shownIn.length > 0);
    });
  }

  // --- showing a slice --------------------------------------------------------------------
  function updateOverlay(pane) {
    var vp = cs.getViewport(pane.element);
    var series = pane.series;
    var entry = pane.stack[pane.index];
    var label = series.number !== null && series.number !== undefined ? "Series " + series.number : "Series";
    pane.overlay.series.textContent = label + " · " + series.modality + "\n" + (series.description || "");
    var text = "Image " + (pane.index + 1) + " / " + pane.stack.length;
    if (entry.instance.frames > 1) {
      text += "\nFrame " + (entry.frame + 1) + " / " + entry.instance.frames;
    } else if (entry.instance.position !== null && entry.instance.position !== undefined) {
      text += "\nPosition " + fmt(entry.instance.position) + " mm";
    }
    pane.overlay.slice.textContent = text;
    if (vp) {
      pane.overlay.window.textContent = "W " + fmt(vp.voi.windowWidth) + " · L " + fmt(vp.voi.windowCenter) + (vp.invert ? " · inverted" : "");
      pane.overlay.zoom.textContent = "Zoom " + Math.round(vp.scale * 100) + "%";
      if (pane === active) {
        if (document.activeElement !== centerInput) centerInput.value = fmt(vp.voi.windowCenter);
        if (document.activeElement !== widthInput) widthInput.value = fmt(vp.voi.windowWidth);
      }
    }
    pane.status.textContent = "Image " + (pane.index + 1) + " of " + pane.stack.length;
  }

  function show(pane, i) {
    if (!pane.stack.length) return;
    pane.index = Math.max(0, Math.min(pane.stack.length - 1, i));
    pane.slider.value = String(pane.index + 1);
    var token = ++pane.showToken;
    var entry = pane.stack[pane.index];
    cs.loadAndCacheImage(entry.imageId).then(
      function (image) {
        if (token !== pane.showToken) return; // a later slice was asked for meanwhile
        var vp = cs.getViewport(pane.element);
        if (!pane.shownImage || !vp) {
          vp = cs.getDefaultViewportForImage(pane.element, image);
          var w = presetWindow(pane.preset, image) || [image.windowCenter, image.windowWidth];
          vp.voi.windowCenter = w[0];
          vp.voi.windowWidth = w[1];
          if (pane === active && image.frameTime > 0) {
            // A clip plays at its recorded rate (Frame Time, ms per frame) unless changed.
            cineRate.value = String(Math.min(60, Math.max(1, Math.round(1000 / image.frameTime))));
          }
        }
        cs.displayImage(pane.element, image, vp);
        pane.shownImage = image;
        pane.element.dataset.shown = entry.imageId;
        updateOverlay(pane);
      },
      function (error) {
        if (token === pane.showToken) failed(error);
      }
    );
    prefetchAround(pane);
  }

  function prefetchAround(pane) {
    // Nearest first, so scrolling either way finds its images ready.
    var order = [];
    var stack = pane.stack;
    for (var d = 1; d < stack.length; d++) {
      if (pane.index + d < stack.length) order.push(stack[pane.index + d]);
      if (pane.index - d >= 0) order.push(stack[pane.index - d]);
    }
    prefetchQueue = order.filter(function (e) {
      return e.frame === 0 && !files.has(e.instance.id);
    });
    pump();
  }

  function pump() {
    while (prefetching < 4 && prefetchQueue.length) {
      var entry = prefetchQueue.shift();
      if (files.has(entry.instance.id)) continue;
      prefetching++;
      fetchInstance(entry.instance.id)
        .catch(function () {})
        .then(function () {
          prefetching--;
          pump();
        });
    }
  }

  function selectSeries(pane, id) {
    var next = seriesById(id);
    if (!next) return;
    stopCine(pane);
    pane.series = next;
    pane.stack = stackFor(next);
    pane.shownImage = null;
    pane.preset = "file";
    pane.measure = { imageId: null, points: [], cursor: null };
    pane.slider.max = String(pane.stack.length);
    pane.slider.disabled = pane.stack.length < 2;
    if (pane === active) {
      fillPresets(pane);
      cineButton.disabled = pane.stack.length < 2;
      measureOut.textContent = "none";
      headerPre.classList.add("d-none");
      headerButton.setAttribute("aria-expanded", "false");
    }
    markSeriesButtons();
    var middle = Math.floor((pane.stack.length - 1) / 2);
    show(pane, next.modality === "CT" || next.modality === "MR" ? middle : 0);
  }

  // --- thumbnails: the middle image of each series, once the first slice is up ------------
  function drawThumbnails() {
    document.querySelectorAll(".series-button").forEach(function (button) {
      var entries = stackFor(seriesById(Number(button.dataset.series)));
      var entry = entries[Math.floor((entries.length - 1) / 2)];
      cs.loadAndCacheImage(entry.imageId).then(
        function (image) {
          cs.renderToCanvas(button.querySelector("canvas"), image);
        },
        function () {}
      );
    });
  }

  // --- measuring --------------------------------------------------------------------------
  function measureText(pane) {
    var p = pane.measure.points;
    var image = pane.shownImage;
    if (p.length === 1) return "first point placed, place the second";
    if (p.length < 2 || !image) return "none";
    var dx = p[1].x - p[0].x;
    var dy = p[1].y - p[0].y;
    if (!image.hasSpacing) {
      return fmt(Math.hypot(dx, dy)) + " pixels (this file gives no pixel spacing, so no millimetres)";
    }
    var mm = Math.hypot(dx * image.columnPixelSpacing, dy * image.rowPixelSpacing);
    return mm.toFixed(1) + " mm";
  }

  function addPoint(pane, point) {
    var entry = pane.stack[pane.index];
    if (pane.measure.imageId !== entry.imageId || pane.measure.points.length >= 2) {
      pane.measure = { imageId: entry.imageId, points: [], cursor: pane.measure.cursor };
    }
    pane.measure.points.push(point);
    measureOut.textContent = measureText(pane);
    cs.updateImage(pane.element);
  }

  function clearMeasure(pane) {
    // The keyboard cross goes back to the middle, where it starts.
    var image = pane.shownImage;
    var cursor = image ? { x: image.columns / 2, y: image.rows / 2 } : null;
    pane.measure = { imageId: null, points: [], cursor: cursor };
    measureOut.textContent = "none";
    cs.updateImage(pane.element);
  }

  function drawMeasure(pane, detail) {
    var entry = pane.stack[pane.index];
    var measure = pane.measure;
    var ctx = detail.canvasContext;
    var vp = detail.viewport;
    var drawn = measure.imageId === (entry && entry.imageId) && measure.points.length;
    var cursor = tool === "measure" && pane === active && measure.cursor;
    if (!drawn && !cursor) return;
    ctx.save();
    cs.setToPixelCoordinateSystem(detail.enabledElement, ctx);
    var unit = 1 / (vp.scale || 1);
    ctx.lineWidth = 2 * unit;
    ctx.strokeStyle = "#ffd400";
    if (drawn) {
      var p = measure.points;
      ctx.beginPath();
      ctx.moveTo(p[0].x, p[0].y);
      if (p[1]) ctx.lineTo(p[1].x, p[1].y);
      ctx.stroke();
      p.forEach(function (q) {
        ctx.beginPath();
        ctx.arc(q.x, q.y, 4 * unit, 0, 2 * Math.PI);
        ctx.stroke();
      });
    }
    if (cursor) {
      var c = measure.cursor;
      ctx.strokeStyle = "#00e5ff";
      ctx.beginPath();
      ctx.moveTo(c.x - 8 * unit, c.y);
      ctx.lineTo(c.x + 8 * unit, c.y);
      ctx.moveTo(c.x, c.y - 8 * unit);
      ctx.lineTo(c.x, c.y + 8 * unit);
      ctx.stroke();
    }
    ctx.restore();
  }

  document.getElementById("clear-measure").addEventListener("click", function () {
    clearMeasure(active);
  });

  document.querySelectorAll('input[name="tool"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (!radio.checked) return;
      tool = radio.value;
      var image = active.shownImage;
      if (tool === "measure" && image && !active.measure.cursor) {
        active.measure.cursor = { x: image.columns / 2, y: image.rows / 2 };
      }
      panes.forEach(function (p) {
        if (p.shownImage) cs.updateImage(p.element);
      });
    });
  });

  // --- view changes shared by buttons and keys --------------------------------------------
  function zoomBy(pane, factor) {
    var vp = cs.getViewport(pane.element);
    if (!vp) return;
    vp.scale = Math.min(20, Math.max(0.1, vp.scale * factor));
    cs.setViewport(pane.element, vp);
  }

  function toggleInvert(pane) {
    var vp = cs.getViewport(pane.element);
    if (!vp) return;
    vp.invert = !vp.invert;
    cs.setViewport(pane.element, vp);
    invertButton.setAttribute("aria-pressed", vp.invert ? "true" : "false");
  }

  function reset(pane) {
    if (!pane.shownImage) return;
    cs.reset(pane.element);
    var w = presetWindow(pane.preset, pane.shownImage);
    if (w) setWindow(pane, w[0], w[1]);
    invertButton.setAttribute("aria-pressed", "false");
  }

  // --- one pane: its viewport, overlay, slider, and its mouse, wheel and keys -------------
  function makePane(suffix) {
    var id = function (name) {
      return document.getElementById(name + suffix);
    };
    var pane = {
      element: id("study-viewport"),
      stage: id("study-viewport").parentElement,
      slider: id("slice"),
      status: id("slice-status"),
      overlay: { series: id("ov-series"), slice: id("ov-slice"), window: id("ov-window"), zoom: id("ov-zoom") },
      series: null,
      stack: [],
      index: 0,
      showToken: 0,
      shownImage: null,
      preset: "file",
      measure: { imageId: null, points: [], cursor: null },
      cineTimer: null,
    };
    var element = pane.element;
    cs.enable(element);

    element.addEventListener("focus", function () {
      setActive(pane);
    });
    element.addEventListener(cs.EVENTS.IMAGE_RENDERED, function (event) {
      drawMeasure(pane, event.detail);
      if (pane.shownImage) updateOverlay(pane);
    });

    var drag = null;
    element.addEventListener("pointerdown", function (event) {
      if (!pane.shownImage || event.button !== 0) return;
      // No scroll on focus: the point below is read against where the image is now.
      element.focus({ preventScroll: true });
      if (tool === "measure") {
        var rect = element.getBoundingClientRect();
        var point = cs.canvasToPixel(element, { x: event.clientX - rect.left, y: event.clientY - rect.top });
        pane.measure.cursor = point;
        addPoint(pane, point);
        return;
      }
      drag = { x: event.clientX, y: event.clientY };
      element.setPointerCapture(event.pointerId);
    });
    element.addEventListener("pointermove", function (event) {
      if (!drag) return;
      var dx = event.clientX - drag.x;
      var dy = event.clientY - drag.y;
      drag = { x: event.clientX, y: event.clientY };
      var vp = cs.getViewport(element);
      if (tool === "window") {
        var step = Math.max(1, vp.voi.windowWidth / 200);
        vp.voi.windowWidth = Math.max(1, vp.voi.windowWidth + dx * step);
        vp.voi.windowCenter += dy * step;
        pane.preset = presetSelect.value = "custom";
      } else if (tool === "pan") {
        vp.translation.x += dx / vp.scale;
        vp.translation.y += dy / vp.scale;
      } else if (tool === "zoom") {
        vp.scale = Math.min(20, Math.max(0.1, vp.scale * Math.exp(-dy / 100)));
      }
      cs.setViewport(element, vp);
    });
    var endDrag = function () {
      drag = null;
    };
    element.addEventListener("pointerup", endDrag);
    element.addEventListener("pointercancel", endDrag);

    element.addEventListener(
      "wheel",
      function (event) {
        event.preventDefault();
        if (event.deltaY) show(pane, pane.index + (event.deltaY > 0 ? 1 : -1));
      },
      { passive: false }
    );

    element.addEventListener("keydown", function (event) {
      var image = pane.shownImage;
      if (!image || event.altKey || event.ctrlKey || event.metaKey) return;
      var key = event.key;
      var arrows = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
      var measure = pane.measure;
      var handled = true;
      if (tool === "measure" && arrows[key]) {
        var stepPx = event.shiftKey ? 10 : 1;
        var c = measure.cursor || { x: image.columns / 2, y: image.rows / 2 };
        measure.cursor = { x: c.x + arrows[key][0] * stepPx, y: c.y + arrows[key][1] * stepPx };
        cs.updateImage(element);
      } else if (tool === "measure" && key === "Enter") {
        measure.cursor = measure.cursor || { x: image.columns / 2, y: image.rows / 2 };
        addPoint(pane, { x: measure.cursor.x, y: measure.cursor.y });
      } else if (key === "Escape") {
        clearMeasure(pane);
      } else if (event.shiftKey && arrows[key]) {
        var vp = cs.getViewport(element);
        vp.translation.x += (arrows[key][0] * 10) / vp.scale;
        vp.translation.y += (arrows[key][1] * 10) / vp.scale;
        cs.setViewport(element, vp);
      } else if (key === "ArrowUp" || key === "ArrowLeft") {
        show(pane, pane.index - 1);
      } else if (key === "ArrowDown" || key === "ArrowRight") {
        show(pane, pane.index + 1);
      } else if (key === "PageUp") {
        show(pane, pane.index - 10);
      } else if (key === "PageDown") {
        show(pane, pane.index + 10);
      } else if (key === "Home") {
        show(pane, 0);
      } else if (key === "End") {
        show(pane, pane.stack.length - 1);
      } else if (key === "+" || key === "=") {
        zoomBy(pane, 1.25);
      } else if (key === "-") {
        zoomBy(pane, 0.8);
      } else if (key === "i" || key === "I") {
        toggleInvert(pane);
      } else if (key === "r" || key === "R") {
        reset(pane);
      } else {
        handled = false;
      }
      if (handled) event.preventDefault();
    });

    pane.slider.addEventListener("input", function () {
      setActive(pane);
      show(pane, Number(pane.slider.value) - 1);
    });
    pane.slider.addEventListener("focus", function () {
      setActive(pane);
    });
    panes.push(pane);
    return pane;
  }

  document.getElementById("zoom-in").addEventListener("click", function () {
    zoomBy(active, 1.25);
  });
  document.getElementById("zoom-out").addEventListener("click", function () {
    zoomBy(active, 0.8);
  });
  invertButton.addEventListener("click", function () {
    toggleInvert(active);
  });
  document.getElementById("reset").addEventListener("click", function () {
    reset(active);
  });
  document.querySelectorAll(".series-button").forEach(function (button) {
    button.addEventListener("click", function () {
      selectSeries(active, Number(button.dataset.series));
    });
  });

  // --- side by side -----------------------------------------------------------------------
  var second = document.getElementById("second-pane");
  function fit(pane) {
    if (pane && pane.shownImage) cs.resize(pane.element, true);
  }
  window.addEventListener("resize", function () {
    panes.forEach(fit);
  });
  compareButton.addEventListener("click", function () {
    var main = panes[0];
    if (comparing) {
      comparing = false;
      stopCine(panes[1]);
      second.classList.add("d-none");
      document.getElementById("study-panes").classList.remove("two");
      compareButton.setAttribute("aria-pressed", "false");
      panes.forEach(function (p) {
        p.stage.classList.remove("is-active");
      });
      setActive(main);
      markSeriesButtons();
      fit(main);
      return;
    }
    comparing = true;
    second.classList.remove("d-none");
    document.getElementById("study-panes").classList.add("two");
    compareButton.setAttribute("aria-pressed", "true");
    // Enabled once visible, so cornerstone sizes its canvas to the pane.
    var pane = panes[1] || makePane("-2");
    fit(main);
    fit(pane);
    setActive(pane);
    // The next series beside the one shown (or the same one, if there is only one).
    var at = config.series.indexOf(main.series);
    selectSeries(pane, config.series[(at + 1) % config.series.length].id);
  });

  // --- cine -------------------------------------------------------------------------------
  function stopCine(pane) {
    if (!pane) return;
    if (pane.cineTimer) clearInterval(pane.cineTimer);
    pane.cineTimer = null;
    if (pane === active) {
      cineButton.textContent = "Play";
      cineButton.setAttribute("aria-pressed", "false");
    }
  }
  cineButton.addEventListener("click", function () {
    var pane = active;
    if (pane.cineTimer) {
      stopCine(pane);
      return;
    }
    var fps = Math.min(60, Math.max(1, Number(cineRate.value) || 15));
    pane.cineTimer = setInterval(function () {
      show(pane, pane.index + 1 >= pane.stack.length ? 0 : pane.index + 1);
    }, 1000 / fps);
    cineButton.textContent = "Pause";
    cineButton.setAttribute("aria-pressed", "true");
  });

  // --- the DICOM header, as text ----------------------------------------------------------
  function headerLines(rows, depth, out) {
    var pad = "  ".repeat(depth);
    rows.forEach(function (row) {
      if (row.items) {
        out.push(pad + row.tag + " " + row.vr + " " + row.name + ": " + row.items.length + " item(s)");
        row.items.forEach(function (item, n) {
          out.push(pad + "  > item " + (n + 1));
          headerLines(item, depth + 2, out);
        });
      } else {
        out.push(pad + row.tag + " " + row.vr + " " + row.name + ": " + row.value);
      }
    });
    return out;
  }

  headerButton.addEventListener("click", function () {
    if (headerButton.getAttribute("aria-expanded") === "true") {
      headerPre.classList.add("d-none");
      headerButton.setAttribute("aria-expanded", "false");
      return;
    }
    var pane = active;
    var entry = pane.stack[pane.index];
    headerPre.textContent = "Loading…";
    headerPre.classList.remove("d-none");
    headerButton.setAttribute("aria-expanded", "true");
    grantFetch(instanceUrl(config.headerUrl, entry.instance.id))
      .then(function (response) {
        return response.json();
      })
      .then(
        function (data) {
          var lines = ["File meta information"];
          headerLines(data.meta, 1, lines);
          lines.push("", "Data set (" + (pane.series.description || "series") + ", image " + (pane.index + 1) + ")");
          headerLines(data.dataset, 1, lines);
          headerPre.textContent = lines.join("\n");
        },
        function (error) {
          headerPre.textContent = "The header could not be read.";
          failed(error);
        }
      );
  });

  // --- start ------------------------------------------------------------------------------
  var first = makePane("");
  setActive(first);
  var firstDone = false;
  first.element.addEventListener(cs.EVENTS.IMAGE_RENDERED, function () {
    if (firstDone) return;
    firstDone = true;
    first.element.dataset.ready = "true";
    setTimeout(drawThumbnails, 0);
  });
  if (config.series.length) {
    selectSeries(first, config.series[0].id);
  }
  compareButton.disabled = !config.series.length;
})();
