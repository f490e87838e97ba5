/* report.js - the interactive parts of an embedviz report: a 3-D map turned
 * with the mouse, a 2-D map where hovering a point shows its image and
 * clicking it lists its nearest neighbours, a search box that lights up a
 * class's points on both maps, and the per-class table sorted by a click on
 * a header. No library, no network: the data is in window.EMBEDVIZ (written
 * by embedviz report) and the thumbnails come from sprite.png in the report
 * folder. */
(function () {
  "use strict";
  var D = window.EMBEDVIZ;
  /* The early layer's feature maps of the points, one cell each, on one
   * grey scale (feature_maps.png, written by embedviz report). Within its
   * budget the report may average the maps down (step) or keep the maps of
   * some points only (D.fmapsRows: the rows that have a cell). */
  var fmapsImg = null, fmapsCell = null;
  if (D.fmaps) {
    fmapsImg = new Image(); fmapsImg.src = D.fmaps.file;
    if (D.fmapsRows) {
      fmapsCell = {};
      for (var j = 0; j < D.fmapsRows.length; j++) fmapsCell[D.fmapsRows[j]] = j;
    }
  }
  /* The side panel's feature maps of point i: its cell, enlarged without
   * smoothing, and what it shows. */
  function featureMaps(i) {
    var F = D.fmaps, box = document.createElement("div"), p = document.createElement("p");
    var cell = fmapsCell ? fmapsCell[i] : i;
    box.id = "fmaps";
    var kept = F.shown < F.n ? " The page keeps the maps of " + F.shown + " of the " + F.n + " images, spread " +
      "evenly over them, to stay within its " + F.budget + " MB budget (--feature-maps-budget)." : "";
    if (cell === undefined) {
      p.textContent = "No feature maps of " + F.layer + " for image #" + i + "." + kept;
      box.appendChild(p);
      return box;
    }
    p.textContent = (F.c ? "Feature maps of " + F.layer + " for image #" + i + ": " + F.c + " maps of " + F.h +
      " x " + F.w + (F.step > 1 ? " (the layer's " + F.h0 + " x " + F.w0 + " maps averaged over " + F.step + " x " +
      F.step + " blocks)" : "") + ", one grey scale for all (black " + F.lo + ", white " + F.hi + ")." :
      "Layer " + F.layer + " for image #" + i + ": it has no spatial shape (no feature maps), so its " +
      F.cols + " values are shown row by row, one grey scale (black " + F.lo + ", white " + F.hi + ").") + kept;
    box.appendChild(p);
    var c = document.createElement("canvas"), zoom = Math.max(1, Math.floor(320 / Math.max(F.cellW, F.cellH)));
    c.width = F.cellW * zoom; c.height = F.cellH * zoom;
    function paint() {
      var ctx = c.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(fmapsImg, (cell % F.perRow) * F.cellW, Math.floor(cell / F.perRow) * F.cellH, F.cellW, F.cellH,
                    0, 0, c.width, c.height);
      if (F.c) {   /* a line between the maps */
        ctx.strokeStyle = "#fff";
        for (var g = 1; g < F.grid; g++) {
          ctx.beginPath(); ctx.moveTo(g * F.w * zoom, 0); ctx.lineTo(g * F.w * zoom, c.height); ctx.stroke();
          ctx.beginPath(); ctx.moveTo(0, g * F.h * zoom); ctx.lineTo(c.width, g * F.h * zoom); ctx.stroke();
        }
      }
    }
    if (fmapsImg.complete) paint(); else fmapsImg.addEventListener("load", paint);
    box.appendChild(c);
    return box;
  }

  /* No sprite when the report has no pictures (--features without --images). */
  var sprite = null;
  if (D.sprite) { sprite = new Image(); sprite.src = D.sprite.file; }

  /* One colour per class, as in the pictures; "other" classes share one grey. */
  function colour(c) { return D.colours[c] || D.otherColour; }
  function name(c) { return D.names[c] || ("class " + c); }

  /* The classes the search box found (match[c] = 1), or null: every class.
   * The maps register their drawing functions to be redrawn on a change. */
  var match = null, redraws = [];

  /* Class c's colour 85 % of the way to white, drawn opaque for the points
   * the search did not find: dim however many overlap. */
  var dimmed = [];
  function dim(c) {
    if (!dimmed[c]) {
      var h = colour(c), rgb = [1, 3, 5].map(function (k) { return parseInt(h.substr(k, 2), 16); });
      dimmed[c] = "rgb(" + rgb.map(function (v) { return Math.round(v + 0.85 * (255 - v)); }).join(",") + ")";
    }
    return dimmed[c];
  }

  /* Draw image i of the sprite into a canvas: a square cell holding the
   * picture with its aspect ratio kept (white around it), in colour for
   * photos, dark on light for grey data (the sprite is drawn that way).
   * Grey pixels stay sharp when enlarged; photos are smoothed. */
  function thumb(canvas, i) {
    var ctx = canvas.getContext("2d"), s = D.sprite.side, per = D.sprite.perRow;
    ctx.imageSmoothingEnabled = !D.sprite.grey;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(sprite, (i % per) * s, Math.floor(i / per) * s, s, s, 0, 0, canvas.width, canvas.height);
  }

  function makeThumb(i, size, border) {
    if (!sprite) {   /* no pictures: a swatch of the class colour */
      var b = document.createElement("div");
      b.className = "thumb nopic";
      b.style.borderColor = colour(border);
      return b;
    }
    var c = document.createElement("canvas");
    c.width = c.height = Math.max(size, D.sprite.side);
    c.className = "thumb";
    c.style.borderColor = colour(border);
    if (sprite.complete) thumb(c, i); else sprite.addEventListener("load", function () { thumb(c, i); });
    return c;
  }

  function predicted(i) {
    return D.pred[i] < 0 ? "no class scores" : name(D.pred[i]) + " (" + (100 * D.prob[i]).toFixed(0) + "%)";
  }

  /* Fit points into a w x h box, same scale on both axes. */
  function fit(xy, dims, w, h, pad) {
    var n = xy.length / dims, lo = [1e30, 1e30], hi = [-1e30, -1e30], i, k;
    for (i = 0; i < n; i++) for (k = 0; k < 2; k++) {
      lo[k] = Math.min(lo[k], xy[i * dims + k]); hi[k] = Math.max(hi[k], xy[i * dims + k]);
    }
    var s = Math.min((w - 2 * pad) / (hi[0] - lo[0] || 1), (h - 2 * pad) / (hi[1] - lo[1] || 1));
    var px = new Float32Array(2 * n);
    for (i = 0; i < n; i++) {
      px[2 * i] = w / 2 + (xy[i * dims] - (lo[0] + hi[0]) / 2) * s;
      px[2 * i + 1] = h / 2 - (xy[i * dims + 1] - (lo[1] + hi[1]) / 2) * s;
    }
    return px;
  }

  /* ---- the interactive 2-D map ------------------------------------------ */
  function InteractiveMap(canvas, tip, list) {
    var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
    var px = fit(D.map, 2, W, H, 12), n = D.labels.length, self = this;
    var tipCanvas = tip.querySelector("canvas"), tipText = tip.querySelector(".tip-text");
    this.hovered = -1;
    this.selected = -1;
    function draw() {
      ctx.clearRect(0, 0, W, H);
      ctx.globalAlpha = match ? 1 : 0.8;
      for (var i = 0; i < n; i++) {
        if (match && match[D.labels[i]]) continue;
        ctx.fillStyle = match ? dim(D.labels[i]) : colour(D.labels[i]);
        ctx.fillRect(px[2 * i] - 2, px[2 * i + 1] - 2, 4, 4);
      }
      ctx.globalAlpha = 1;
      if (match) {   /* the found classes on top, larger, on a dark halo */
        ctx.fillStyle = "#000";
        for (i = 0; i < n; i++) if (match[D.labels[i]]) ctx.fillRect(px[2 * i] - 4, px[2 * i + 1] - 4, 8, 8);
        for (i = 0; i < n; i++) {
          if (!match[D.labels[i]]) continue;
          ctx.fillStyle = colour(D.labels[i]);
          ctx.fillRect(px[2 * i] - 3, px[2 * i + 1] - 3, 6, 6);
        }
      }
      if (self.selected >= 0) {
        var s = self.selected, k = D.k;
        ctx.strokeStyle = "#000";
        for (var j = 0; j < k; j++) {
          var t = D.nn[s * k + j];
          ctx.beginPath(); ctx.moveTo(px[2 * s], px[2 * s + 1]); ctx.lineTo(px[2 * t], px[2 * t + 1]); ctx.stroke();
        }
      }
      [self.hovered, self.selected].forEach(function (h) {
        if (h < 0) return;
        ctx.lineWidth = 2; ctx.strokeStyle = "#000";
        ctx.beginPath(); ctx.arc(px[2 * h], px[2 * h + 1], 7, 0, 2 * Math.PI); ctx.stroke();
        ctx.lineWidth = 1;
      });
    }
    function nearest(x, y) {
      var best = -1, bd = 64;  /* within 8 pixels */
      for (var i = 0; i < n; i++) {
        var dx = px[2 * i] - x, dy = px[2 * i + 1] - y, d = dx * dx + dy * dy;
        if (d < bd) { bd = d; best = i; }
      }
      return best;
    }
    function where(ev) {
      var r = canvas.getBoundingClientRect();
      return [(ev.clientX - r.left) * W / r.width, (ev.clientY - r.top) * H / r.height];
    }
    canvas.addEventListener("mousemove", function (ev) {
      var p = where(ev), i = nearest(p[0], p[1]);
      if (i !== self.hovered) { self.hovered = i; draw(); }
      if (i < 0) { tip.hidden = true; return; }
      if (sprite) thumb(tipCanvas, i);
      tipText.textContent = "#" + i + "  label: " + name(D.labels[i]) + "  predicted: " + predicted(i);
      tip.hidden = false;
      var r = canvas.getBoundingClientRect();
      tip.style.left = (ev.clientX - r.left + 16) + "px";
      tip.style.top = (ev.clientY - r.top + 16) + "px";
    });
    canvas.addEventListener("mouseleave", function () { tip.hidden = true; self.hovered = -1; draw(); });
    canvas.addEventListener("click", function (ev) {
      var p = where(ev), i = nearest(p[0], p[1]);
      if (i < 0) return;
      self.selected = i;
      draw();
      list.innerHTML = "";
      var head = document.createElement("p");
      head.textContent = "Image #" + i + " (" + name(D.labels[i]) + ", predicted " + predicted(i) +
        ") and its " + D.k + " nearest neighbours in feature space:";
      list.appendChild(head);
      var row = document.createElement("div");
      row.className = "nn-row";
      [i].concat(Array.prototype.slice.call(D.nn, i * D.k, (i + 1) * D.k)).forEach(function (j, pos) {
        var fig = document.createElement("figure");
        fig.appendChild(makeThumb(j, 56, D.labels[j]));
        var cap = document.createElement("figcaption");
        cap.textContent = (pos ? "" : "query: ") + name(D.labels[j]);
        fig.appendChild(cap);
        row.appendChild(fig);
      });
      list.appendChild(row);
      if (D.fmaps) list.appendChild(featureMaps(i));
    });
    /* Where point i is on the page (for tests and for people reading the code). */
    this.pointClient = function (i) {
      var r = canvas.getBoundingClientRect();
      return [r.left + px[2 * i] * r.width / W, r.top + px[2 * i + 1] * r.height / H];
    };
    /* Where point i is on the canvas, in canvas pixels. */
    this.pointCanvas = function (i) { return [px[2 * i], px[2 * i + 1]]; };
    redraws.push(draw);
    draw();
  }

  /* ---- the 3-D map -------------------------------------------------------- */
  function Map3D(canvas) {
    var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, n = D.labels.length;
    var c = [0, 0, 0], r = 0, i, k;
    for (i = 0; i < n; i++) for (k = 0; k < 3; k++) c[k] += D.map3d[3 * i + k] / n;
    for (i = 0; i < n; i++) {
      var d2 = 0;
      for (k = 0; k < 3; k++) d2 += Math.pow(D.map3d[3 * i + k] - c[k], 2);
      r = Math.max(r, Math.sqrt(d2));
    }
    var yaw = 0.6, pitch = 0.3, zoom = 1, drag = null, order = new Uint32Array(n), z = new Float32Array(n),
        sx = new Float32Array(n), sy = new Float32Array(n);
    for (i = 0; i < n; i++) order[i] = i;
    function draw() {
      var cy = Math.cos(yaw), syw = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
      var s = zoom * 0.45 * Math.min(W, H) / (r || 1);
      for (var i = 0; i < n; i++) {
        var x = D.map3d[3 * i] - c[0], y = D.map3d[3 * i + 1] - c[1], w = D.map3d[3 * i + 2] - c[2];
        var x1 = cy * x + syw * w, z1 = -syw * x + cy * w;
        var y1 = cp * y - sp * z1, z2 = sp * y + cp * z1;
        var persp = 1 / (1 + 0.3 * z2 / (r || 1));
        sx[i] = W / 2 + x1 * s * persp; sy[i] = H / 2 - y1 * s * persp; z[i] = z2;
      }
      /* far to near; the classes the search found on top of the others */
      var ord = Array.prototype.slice.call(order).sort(function (a, b) {
        if (match && match[D.labels[a]] !== match[D.labels[b]]) return match[D.labels[a]] - match[D.labels[b]];
        return z[b] - z[a];
      });
      ctx.clearRect(0, 0, W, H);
      for (var j = 0; j < n; j++) {
        var q = ord[j], depth = 0.5 + 0.5 * (1 - (z[q] / (r || 1) + 1) / 2);
        var off = match && !match[D.labels[q]];
        ctx.globalAlpha = off ? 1 : 0.35 + 0.6 * depth;
        ctx.fillStyle = off ? dim(D.labels[q]) : colour(D.labels[q]);
        ctx.beginPath(); ctx.arc(sx[q], sy[q], 1.5 + 2 * depth, 0, 2 * Math.PI); ctx.fill();
      }
      ctx.globalAlpha = 1;
    }
    canvas.addEventListener("mousedown", function (ev) { drag = [ev.clientX, ev.clientY]; ev.preventDefault(); });
    window.addEventListener("mouseup", function () { drag = null; });
    window.addEventListener("mousemove", function (ev) {
      if (!drag) return;
      yaw += (ev.clientX - drag[0]) * 0.01;
      pitch = Math.max(-1.5, Math.min(1.5, pitch + (ev.clientY - drag[1]) * 0.01));
      drag = [ev.clientX, ev.clientY];
      draw();
    });
    canvas.addEventListener("wheel", function (ev) {
      zoom = Math.max(0.3, Math.min(5, zoom * (ev.deltaY < 0 ? 1.1 : 0.9)));
      ev.preventDefault();
      draw();
    }, {passive: false});
    this.rotate = function (dy, dp) { yaw += dy; pitch += dp; draw(); };
    redraws.push(draw);
    draw();
  }

  /* ---- finding a class by name ------------------------------------------- */
  var searchBox = document.getElementById("class-search"), status = document.getElementById("search-status");

  /* The classes named exactly q (any case), or else those whose name holds it. */
  function findClasses(q) {
    var exact = [], part = [];
    q = q.trim().toLowerCase();
    if (!q) return null;
    D.names.forEach(function (nm, c) {
      var l = nm.toLowerCase();
      if (l === q) exact.push(c); else if (l.indexOf(q) >= 0) part.push(c);
    });
    return exact.length ? exact : part;
  }

  function search(text) {
    var found = findClasses(text), images = 0, i;
    match = null;
    if (found) {
      match = new Uint8Array(D.names.length);
      found.forEach(function (c) { match[c] = 1; });
      for (i = 0; i < D.labels.length; i++) images += match[D.labels[i]];
    }
    if (!found) status.textContent = "";
    else if (!found.length) status.textContent = "no class name holds \u201c" + text.trim() + "\u201d";
    else status.textContent = (found.length === 1 ? name(found[0]) : found.length + " classes (" +
      found.slice(0, 5).map(name).join(", ") + (found.length > 5 ? ", \u2026" : "") + ")") + ": " + images +
      " image" + (images === 1 ? "" : "s") + " lit up";
    redraws.forEach(function (f) { f(); });
    return found;
  }

  /* Find class c from anywhere on the page (legend, table), then show the map. */
  function findClass(c) {
    searchBox.value = name(c);
    search(searchBox.value);
    document.getElementById("imap").scrollIntoView({block: "center"});
  }

  function setUpSearch() {
    var list = document.getElementById("class-list");
    D.names.forEach(function (nm) {
      var o = document.createElement("option");
      o.value = nm;
      list.appendChild(o);
    });
    searchBox.addEventListener("input", function () { search(searchBox.value); });
  }

  /* The coloured classes, then one grey entry for the others that have
   * images (as in the pictures' legends); a click finds the class. */
  function legend(el) {
    var others = 0, points = new Uint8Array(D.names.length);
    for (var i = 0; i < D.labels.length; i++) points[D.labels[i]] = 1;
    function swatch(bg, text, c) {
      var s = document.createElement("span");
      s.className = "swatch";
      s.innerHTML = "<i></i>";
      s.firstChild.style.background = bg;
      s.appendChild(document.createTextNode(text));
      if (c >= 0) {
        s.tabIndex = 0;
        s.title = "find " + text + " on the map";
        s.addEventListener("click", function () { findClass(c); });
      }
      el.appendChild(s);
    }
    D.names.forEach(function (nm, c) {
      if (D.coloured[c]) swatch(colour(c), nm, c);
      else if (points[c]) others++;
    });
    if (others) swatch(D.otherColour, "other (" + others + " classes: type a name to find one)", -1);
  }

  /* ---- sortable tables ---------------------------------------------------- */
  /* A click on a header sorts by that column, ascending; another click on the
   * same header reverses. Numbers sort by their data-v (or text), with empty
   * values last; text in natural order ("class 2" before "class 10"). */
  function sortable(table) {
    var heads = table.tHead.rows[0].cells, body = table.tBodies[0];
    function key(row, col, num) {
      var td = row.cells[col], v = td.hasAttribute("data-v") ? td.getAttribute("data-v") : td.textContent;
      return num ? (v === "" ? NaN : parseFloat(v)) : td.textContent;
    }
    function sortBy(col) {
      var th = heads[col], num = th.getAttribute("data-sort") === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, col, num), y = key(b, col, num);
        if (num) {
          if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);
          return dir * (x - y);
        }
        return dir * x.localeCompare(y, undefined, {numeric: true, sensitivity: "base"});
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    Array.prototype.forEach.call(heads, function (th, col) {
      if (!th.hasAttribute("data-sort")) return;
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(col); });
      th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") sortBy(col); });
    });
    /* a class name in the table finds its images on the map */
    body.addEventListener("click", function (ev) {
      var td = ev.target.closest("td");
      if (td && td.cellIndex === 0 && td.parentNode.hasAttribute("data-class"))
        findClass(parseInt(td.parentNode.getAttribute("data-class"), 10));
    });
  }

  window.embedviz = {search: function (text) { searchBox.value = text; return search(text); }};
  document.querySelectorAll(".legend").forEach(legend);
  document.querySelectorAll("table.sortable").forEach(sortable);
  setUpSearch();
  window.embedviz.map3d = new Map3D(document.getElementById("map3d"));
  window.embedviz.map = new InteractiveMap(document.getElementById("imap"), document.getElementById("tip"),
                                           document.getElementById("nn-list"));
})();
