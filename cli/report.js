/* report.js - the interactive parts of an embedviz report: a 3-D map turned
 * with the mouse, and a 2-D map where hovering a point shows its image and
 * clicking it lists its nearest neighbours. No library, no network: the data
 * is in window.EMBEDVIZ (written by embedviz report) and the thumbnails come
 * from sprite.png in the report folder. */
(function () {
  "use strict";
  var D = window.EMBEDVIZ;
  /* No sprite when the report has no pictures (--features without --images). */
  var sprite = null;
  if (D.sprite) { sprite = new Image(); sprite.src = D.sprite.file; }

  function colour(c) { return D.colours[c % D.colours.length]; }
  function name(c) { return D.names[c] || ("class " + c); }

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
      ctx.globalAlpha = 0.8;
      for (var i = 0; i < n; i++) {
        ctx.fillStyle = colour(D.labels[i]);
        ctx.fillRect(px[2 * i] - 2, px[2 * i + 1] - 2, 4, 4);
      }
      ctx.globalAlpha = 1;
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
    });
    /* Where point i is on the page (for tests and for people reading the code). */
    this.pointClient = function (i) {
      var r = canvas.getBoundingClientRect();
      return [r.left + px[2 * i] * r.width / W, r.top + px[2 * i + 1] * r.height / H];
    };
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
      var ord = Array.prototype.slice.call(order).sort(function (a, b) { return z[b] - z[a]; });
      ctx.clearRect(0, 0, W, H);
      for (var j = 0; j < n; j++) {
        var q = ord[j], depth = 0.5 + 0.5 * (1 - (z[q] / (r || 1) + 1) / 2);
        ctx.globalAlpha = 0.35 + 0.6 * depth;
        ctx.fillStyle = colour(D.labels[q]);
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
    draw();
  }

  function legend(el) {
    D.names.forEach(function (nm, c) {
      var s = document.createElement("span");
      s.className = "swatch";
      s.innerHTML = "<i></i>";
      s.firstChild.style.background = colour(c);
      s.appendChild(document.createTextNode(nm));
      el.appendChild(s);
    });
  }

  window.embedviz = {};
  document.querySelectorAll(".legend").forEach(legend);
  window.embedviz.map3d = new Map3D(document.getElementById("map3d"));
  window.embedviz.map = new InteractiveMap(document.getElementById("imap"), document.getElementById("tip"),
                                           document.getElementById("nn-list"));
})();
