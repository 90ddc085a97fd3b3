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

  var element = document.getElementById("study-viewport");
  var slider = document.getElementById("slice");
  var sliceStatus = document.getElementById("slice-status");
  var presetSelect = document.getElementById("window-preset");
  var centerInput = document.getElementById("window-center");
  var widthInput = document.getElementById("window-width");
  var measureOut = document.getElementById("measure-result");
  var alertBox = document.getElementById("viewer-alert");
  var cineButton = document.getElementById("cine");
  var cineRate = document.getElementById("cine-rate");
  var headerButton = document.getElementById("show-header");
  var headerPre = document.getElementById("dicom-header");
  var overlay = {
    series: document.getElementById("ov-series"),
    slice: document.getElementById("ov-slice"),
    window: document.getElementById("ov-window"),
    zoom: document.getElementById("ov-zoom"),
  };

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

  // --- state ------------------------------------------------------------------------------
  var series = null; // the one shown
  var stack = []; // [{imageId, instance, frame}]
  var index = 0;
  var showToken = 0;
  var shownImage = null;
  var tool = "window";
  var measure = { imageId: null, points: [], cursor: null };
  var cineTimer = null;
  var prefetchQueue = [];
  var prefetching = 0;

  cs.enable(element);

  function stackFor(s) {
    var out = [];
    s.instances.forEach(function (inst) {
      for (var f = 0; f < inst.frames; f++) {
        out.push({ imageId: "so:" + inst.id + ":" + f, instance: inst, frame: f });
      }
    });
    return out;
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

  // --- window presets ---------------------------------------------------------------------
  function fillPresets() {
    presetSelect.textContent = "";
    var options = [["file", "From the file"], ["range", "Full range of the data"]];
    if (series.modality === "CT") {
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

  function setWindow(center, width) {
    var vp = cs.getViewport(element);
    if (!vp) return;
    vp.voi.windowCenter = center;
    vp.voi.windowWidth = Math.max(1, width);
    cs.setViewport(element, vp);
  }

  presetSelect.addEventListener("change", function () {
    if (!shownImage) return;
    var w = presetWindow(presetSelect.value, shownImage);
    if (w) setWindow(w[0], w[1]);
  });

  function typedWindow() {
    var c = parseFloat(centerInput.value);
    var w = parseFloat(widthInput.value);
    if (isFinite(c) && isFinite(w) && w >= 1) {
      presetSelect.value = "custom";
      setWindow(c, w);
    }
  }
  centerInput.addEventListener("change", typedWindow);
  widthInput.addEventListener("change", typedWindow);

  // --- showing a slice --------------------------------------------------------------------
  function fmt(value) {
    return Math.round(value * 10) / 10;
  }

  function updateOverlay() {
    var vp = cs.getViewport(element);
    var entry = stack[index];
    var label = series.number !== null && series.number !== undefined ? "Series " + series.number : "Series";
    overlay.series.textContent = label + " · " + series.modality + "\n" + (series.description || "");
    var text = "Image " + (index + 1) + " / " + stack.length;
    if (entry.instance.frames > 1) {
      text += "\nFrame " + (entry.frame + 1) + " / " + entry.instance.frames;
    } else if (entry.instance.position !== null && entry.instance.position !== undefined) {
      text += "\nPosition " + fmt(entry.instance.position) + " mm";
    }
    overlay.slice.textContent = text;
    if (vp) {
      overlay.window.textContent = "W " + fmt(vp.voi.windowWidth) + " · L " + fmt(vp.voi.windowCenter) + (vp.invert ? " · inverted" : "");
      overlay.zoom.textContent = "Zoom " + Math.round(vp.scale * 100) + "%";
      if (document.activeElement !== centerInput) centerInput.value = fmt(vp.voi.windowCenter);
      if (document.activeElement !== widthInput) widthInput.value = fmt(vp.voi.windowWidth);
    }
    sliceStatus.textContent = "Image " + (index + 1) + " of " + stack.length;
  }

  function show(i) {
    if (!stack.length) return;
    index = Math.max(0, Math.min(stack.length - 1, i));
    slider.value = String(index + 1);
    var token = ++showToken;
    var entry = stack[index];
    cs.loadAndCacheImage(entry.imageId).then(
      function (image) {
        if (token !== showToken) return; // a later slice was asked for meanwhile
        var vp = cs.getViewport(element);
        if (!shownImage || !vp) {
          vp = cs.getDefaultViewportForImage(element, image);
          var w = presetWindow(presetSelect.value, image) || [image.windowCenter, image.windowWidth];
          vp.voi.windowCenter = w[0];
          vp.voi.windowWidth = w[1];
          cs.displayImage(element, image, vp);
        } else {
          cs.displayImage(element, image, vp);
        }
        shownImage = image;
        element.dataset.shown = entry.imageId;
        updateOverlay();
      },
      function (error) {
        if (token === showToken) failed(error);
      }
    );
    prefetchAround(index);
  }

  function prefetchAround(center) {
    // Nearest first, so scrolling either way finds its images ready.
    var order = [];
    for (var d = 1; d < stack.length; d++) {
      if (center + d < stack.length) order.push(stack[center + d]);
      if (center - d >= 0) order.push(stack[center - d]);
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

  function selectSeries(id) {
    var next = config.series.find(function (s) {
      return s.id === id;
    });
    if (!next) return;
    stopCine();
    series = next;
    stack = stackFor(series);
    shownImage = null;
    measure = { imageId: null, points: [], cursor: null };
    measureOut.textContent = "none";
    fillPresets();
    presetSelect.value = "file";
    slider.max = String(stack.length);
    slider.disabled = stack.length < 2;
    cineButton.disabled = stack.length < 2;
    document.querySelectorAll(".series-button").forEach(function (b) {
      b.setAttribute("aria-pressed", Number(b.dataset.series) === id ? "true" : "false");
    });
    headerPre.classList.add("d-none");
    headerButton.setAttribute("aria-expanded", "false");
    var middle = Math.floor((stack.length - 1) / 2);
    show(series.modality === "CT" || series.modality === "MR" ? middle : 0);
  }

  // --- thumbnails: the middle image of each series, once the first slice is up ------------
  function drawThumbnails() {
    document.querySelectorAll(".series-button").forEach(function (button) {
      var s = config.series.find(function (x) {
        return x.id === Number(button.dataset.series);
      });
      var entries = stackFor(s);
      var entry = entries[Math.floor((entries.length - 1) / 2)];
      cs.loadAndCacheImage(entry.imageId).then(
        function (image) {
          var canvas = button.querySelector("canvas");
          cs.renderToCanvas(canvas, image);
        },
        function () {}
      );
    });
  }

  // --- measuring --------------------------------------------------------------------------
  function measureText() {
    var p = measure.points;
    if (p.length < 2 || !shownImage) return "none";
    var dx = p[1].x - p[0].x;
    var dy = p[1].y - p[0].y;
    if (!shownImage.hasSpacing) {
      return fmt(Math.hypot(dx, dy)) + " pixels (this file gives no pixel spacing, so no millimetres)";
    }
    var mm = Math.hypot(dx * shownImage.columnPixelSpacing, dy * shownImage.rowPixelSpacing);
    return mm.toFixed(1) + " mm";
  }

  function addPoint(point) {
    var entry = stack[index];
    if (measure.imageId !== entry.imageId || measure.points.length >= 2) {
      measure = { imageId: entry.imageId, points: [], cursor: measure.cursor };
    }
    measure.points.push(point);
    measureOut.textContent = measure.points.length === 2 ? measureText() : "first point placed, place the second";
    cs.updateImage(element);
  }

  element.addEventListener(cs.EVENTS.IMAGE_RENDERED, function (event) {
    var detail = event.detail;
    var entry = stack[index];
    var ctx = detail.canvasContext;
    var vp = detail.viewport;
    var drawn = measure.imageId === (entry && entry.imageId) && measure.points.length;
    var cursor = tool === "measure" && measure.cursor;
    if (!drawn && !cursor) return;
    ctx.save();
    cs.setToPixelCoordinateSystem(detail.enabledElement, ctx);
    var unit = 1 / (vp.scale || 1);
    ctx.lineWidth = 2 * unit;
    ctx.strokeStyle = "#ffd400";
    ctx.fillStyle = "#ffd400";
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
  });

  document.getElementById("clear-measure").addEventListener("click", function () {
    measure = { imageId: null, points: [], cursor: measure.cursor };
    measureOut.textContent = "none";
    cs.updateImage(element);
  });

  // --- mouse and touch --------------------------------------------------------------------
  document.querySelectorAll('input[name="tool"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (!radio.checked) return;
      tool = radio.value;
      if (tool === "measure" && shownImage && !measure.cursor) {
        measure.cursor = { x: shownImage.columns / 2, y: shownImage.rows / 2 };
      }
      if (shownImage) cs.updateImage(element);
    });
  });

  var drag = null;
  element.addEventListener("pointerdown", function (event) {
    if (!shownImage || event.button !== 0) return;
    element.focus();
    if (tool === "measure") {
      var rect = element.getBoundingClientRect();
      var point = cs.canvasToPixel(element, { x: event.clientX - rect.left, y: event.clientY - rect.top });
      measure.cursor = point;
      addPoint(point);
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
      presetSelect.value = "custom";
    } else if (tool === "pan") {
      vp.translation.x += dx / vp.scale;
      vp.translation.y += dy / vp.scale;
    } else if (tool === "zoom") {
      vp.scale = Math.min(20, Math.max(0.1, vp.scale * Math.exp(-dy / 100)));
    }
    cs.setViewport(element, vp);
  });
  function endDrag() {
    drag = null;
  }
  element.addEventListener("pointerup", endDrag);
  element.addEventListener("pointercancel", endDrag);

  element.addEventListener(
    "wheel",
    function (event) {
      event.preventDefault();
      if (event.deltaY) show(index + (event.deltaY > 0 ? 1 : -1));
    },
    { passive: false }
  );

  element.addEventListener(cs.EVENTS.IMAGE_RENDERED, function () {
    if (shownImage) updateOverlay();
  });

  // --- keyboard ---------------------------------------------------------------------------
  function zoomBy(factor) {
    var vp = cs.getViewport(element);
    if (!vp) return;
    vp.scale = Math.min(20, Math.max(0.1, vp.scale * factor));
    cs.setViewport(element, vp);
  }

  function toggleInvert() {
    var vp = cs.getViewport(element);
    if (!vp) return;
    vp.invert = !vp.invert;
    cs.setViewport(element, vp);
    document.getElementById("invert").setAttribute("aria-pressed", vp.invert ? "true" : "false");
  }

  function reset() {
    if (!shownImage) return;
    cs.reset(element);
    var w = presetWindow(presetSelect.value, shownImage);
    if (w) setWindow(w[0], w[1]);
    document.getElementById("invert").setAttribute("aria-pressed", "false");
  }

  element.addEventListener("keydown", function (event) {
    if (!shownImage || event.altKey || event.ctrlKey || event.metaKey) return;
    var key = event.key;
    var arrows = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
    var handled = true;
    if (tool === "measure" && arrows[key]) {
      var stepPx = event.shiftKey ? 10 : 1;
      measure.cursor = measure.cursor || { x: shownImage.columns / 2, y: shownImage.rows / 2 };
      measure.cursor = { x: measure.cursor.x + arrows[key][0] * stepPx, y: measure.cursor.y + arrows[key][1] * stepPx };
      cs.updateImage(element);
    } else if (tool === "measure" && key === "Enter") {
      addPoint({ x: measure.cursor.x, y: measure.cursor.y });
    } else if (key === "Escape") {
      measure = { imageId: null, points: [], cursor: measure.cursor };
      measureOut.textContent = "none";
      cs.updateImage(element);
    } else if (event.shiftKey && arrows[key]) {
      var vp = cs.getViewport(element);
      vp.translation.x += (arrows[key][0] * 10) / vp.scale;
      vp.translation.y += (arrows[key][1] * 10) / vp.scale;
      cs.setViewport(element, vp);
    } else if (key === "ArrowUp" || key === "ArrowLeft") {
      show(index - 1);
    } else if (key === "ArrowDown" || key === "ArrowRight") {
      show(index + 1);
    } else if (key === "PageUp") {
      show(index - 10);
    } else if (key === "PageDown") {
      show(index + 10);
    } else if (key === "Home") {
      show(0);
    } else if (key === "End") {
      show(stack.length - 1);
    } else if (key === "+" || key === "=") {
      zoomBy(1.25);
    } else if (key === "-") {
      zoomBy(0.8);
    } else if (key === "i" || key === "I") {
      toggleInvert();
    } else if (key === "r" || key === "R") {
      reset();
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  });

  slider.addEventListener("input", function () {
    show(Number(slider.value) - 1);
  });
  document.getElementById("zoom-in").addEventListener("click", function () {
    zoomBy(1.25);
  });
  document.getElementById("zoom-out").addEventListener("click", function () {
    zoomBy(0.8);
  });
  document.getElementById("invert").addEventListener("click", toggleInvert);
  document.getElementById("reset").addEventListener("click", reset);
  document.querySelectorAll(".series-button").forEach(function (button) {
    button.addEventListener("click", function () {
      selectSeries(Number(button.dataset.series));
    });
  });

  // --- cine -------------------------------------------------------------------------------
  function stopCine() {
    if (cineTimer) clearInterval(cineTimer);
    cineTimer = null;
    cineButton.textContent = "Play";
    cineButton.setAttribute("aria-pressed", "false");
  }
  cineButton.addEventListener("click", function () {
    if (cineTimer) {
      stopCine();
      return;
    }
    var fps = Math.min(60, Math.max(1, Number(cineRate.value) || 15));
    cineTimer = setInterval(function () {
      show(index + 1 >= stack.length ? 0 : index + 1);
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
    var entry = stack[index];
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
          lines.push("", "Data set (image " + (index + 1) + ")");
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
  var firstDone = false;
  element.addEventListener(cs.EVENTS.IMAGE_RENDERED, function () {
    if (firstDone) return;
    firstDone = true;
    element.dataset.ready = "true";
    setTimeout(drawThumbnails, 0);
  });
  if (config.series.length) {
    selectSeries(config.series[0].id);
  }
})();
