#!/usr/bin/python3
"""Browser test of an embedviz report, in headless Chromium.

Loads REPORT/index.html from the file system (no server, no network) and
drives Chromium through its DevTools protocol (python3-websocket):

  - the page loads with no console error and no uncaught exception;
  - every <img> has loaded (complete, with a natural width);
  - hovering a point of the interactive map (a real mouse event) shows the
    tooltip with that point's image and label;
  - clicking it lists the point and its nearest neighbours; in a colour
    report (photos) the clicked point's thumbnail is in colour; with an early
    layer, the side panel shows the point's feature maps;
  - dragging on the 3-D map turns it;
  - a screenshot of the whole page is saved.

  /usr/bin/python3 tests/browser/test_report.py REPORT_DIR SCREENSHOT.png

Exit status 0 when every check passes; each check prints one line.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # Debian: python3-websocket

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1400,1000", "--remote-debugging-port=0",
                  "--allow-file-access-from-files"]


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium and a DevTools session on its first page."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="embedviz-chromium-")
        self.proc = subprocess.Popen([find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
                                      "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method, timeout=60):
        end = time.time() + timeout
        for e in self.events:
            if e.get("method") == method:
                return e
        self.ws.settimeout(timeout)
        while time.time() < end:
            msg = json.loads(self.ws.recv())
            self.events.append(msg)
            if msg.get("method") == method:
                return msg
        raise TimeoutError(method)

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def mouse(self, kind, x, y, button="none", clicks=0):
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button=button, clickCount=clicks)

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def console_errors(events):
    errs = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errs.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif m == "Runtime.exceptionThrown":
            errs.append("exception: " + json.dumps(p["exceptionDetails"])[:400])
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
            errs.append("log: " + p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
    return errs


def run(report_dir, shot):
    failures = []

    def check(ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    url = "file://" + os.path.abspath(os.path.join(report_dir, "index.html"))
    b = Browser()
    try:
        for domain in ("Page", "Runtime", "Log"):
            b.call(domain + ".enable")
        b.call("Page.navigate", url=url)
        b.wait_event("Page.loadEventFired")
        pictures = b.js("!!EMBEDVIZ.sprite")   # false: a report without images (--features alone)
        imgs = b.js("Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
        check(len(imgs) >= (10 if pictures else 3), f"the page shows {len(imgs)} pictures")
        broken = [src for src, ok in imgs if not ok]
        check(not broken, "every picture loads" + (f" (broken: {broken})" if broken else ""))
        check(b.js("window.embedviz && !!window.embedviz.map && !!window.embedviz.map3d") is True,
              "the interactive maps started")
        if pictures:
            b.js("new Promise(r => { const s = new Image(); s.onload = r; s.onerror = r; s.src = EMBEDVIZ.sprite.file; })")

        # Hover point 0 of the interactive map with a real mouse event.
        b.js("document.getElementById('imap').scrollIntoView({block: 'center'})")
        time.sleep(0.2)
        x, y = b.js("window.embedviz.map.pointClient(0)")
        b.mouse("mouseMoved", x, y)
        time.sleep(0.2)
        tip = b.js("(() => { const t = document.getElementById('tip');"
                   " return [t.hidden, t.querySelector('.tip-text').textContent, window.embedviz.map.hovered]; })()")
        h = tip[2]
        check(tip[0] is False and isinstance(h, int) and h >= 0, f"hovering point 0 shows the tooltip (point {h})")
        hx, hy = b.js(f"window.embedviz.map.pointClient({h})")
        check(abs(hx - x) <= 8 and abs(hy - y) <= 8, "the tooltip is about the point under the mouse")
        label, pred = b.js(f"[EMBEDVIZ.names[EMBEDVIZ.labels[{h}]], EMBEDVIZ.pred[{h}] < 0 ? 'no class scores' :"
                           f" EMBEDVIZ.names[EMBEDVIZ.pred[{h}]]]")
        check(f"label: {label}" in tip[1] and f"predicted: {pred}" in tip[1],
              f"the tooltip names the label and prediction: '{tip[1]}'")
        drawn, shades = b.js("(() => { const c = document.querySelector('#tip canvas');"
                             " try { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                             " let dark = 0; const seen = new Set();"
                             " for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0 && d[i] < 200) dark++;"
                             " seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2] + ',' + d[i + 3]); }"
                             " return [dark, seen.size]; } catch (e) { return [-1, 0]; } })()")
        # -1 (the canvas cannot be read back) is a failure too: a check that
        # cannot see the pixels proves nothing about them; so is a canvas of
        # one colour (a blank or flat sprite): an image has several shades
        if pictures:
            check(isinstance(drawn, int) and drawn > 0 and shades >= 3,
                  f"the tooltip shows the image ({drawn} dark pixels, {shades} colours; -1: canvas not readable)")
        else:
            check(b.js("document.querySelector('#tip canvas').hidden") is True, "no pictures: the tooltip has none")
        shot_hover = b.call("Page.captureScreenshot", format="png")

        b.mouse("mousePressed", x, y, "left", 1)
        b.mouse("mouseReleased", x, y, "left", 1)
        time.sleep(0.2)
        n_fig = b.js("document.querySelectorAll('#nn-list figure').length")
        k = b.js("EMBEDVIZ.k")
        check(n_fig == k + 1, f"clicking lists the point and its {k} neighbours ({n_fig} thumbnails)")
        if b.js("!!EMBEDVIZ.fmaps"):
            # the side panel shows the clicked point's feature maps: its cell
            # of feature_maps.png (the cell of its row: all rows, or those of
            # EMBEDVIZ.fmapsRows when the budget kept some), several shades
            b.js("new Promise(r => { const s = new Image(); s.onload = r; s.onerror = r;"
                 " s.src = EMBEDVIZ.fmaps.file; })")
            time.sleep(0.2)
            cell = b.js(f"EMBEDVIZ.fmapsRows ? Array.prototype.indexOf.call(EMBEDVIZ.fmapsRows, {h}) : {h}")
            # the panel's pixels, and the same cell cut from the sprite here
            fm = b.js("(async () => { const c = document.querySelector('#nn-list #fmaps canvas');"
                      " if (!c) return [-2, 0, document.querySelector('#nn-list #fmaps p').textContent, false];"
                      " const F = EMBEDVIZ.fmaps, s = new Image(); s.src = F.file; await s.decode();"
                      f" const j = {cell}, o = document.createElement('canvas'); o.width = c.width; o.height = c.height;"
                      " const x = o.getContext('2d'); x.imageSmoothingEnabled = false;"
                      " x.drawImage(s, (j % F.perRow) * F.cellW, Math.floor(j / F.perRow) * F.cellH, F.cellW, F.cellH,"
                      " 0, 0, o.width, o.height);"
                      " try { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                      " const e = x.getImageData(0, 0, o.width, o.height).data;"
                      " const seen = new Set(), z = c.width / F.cellW, mw = F.w * z, mh = F.h * z;"
                      " let lit = 0, same = 0, cells = 0;"
                      " for (let i = 0; i < d.length; i += 4) { seen.add(d[i]); if (d[i] > 0) lit++;"
                      "   const px = (i / 4) % c.width, py = Math.floor(i / 4 / c.width);"
                      "   if (F.c && (px % mw === 0 || px % mw === mw - 1 || py % mh === 0 || py % mh === mh - 1))"
                      "     continue;"   # the white lines between the maps, drawn over the cell
                      "   cells++; if (d[i] === e[i]) same++; }"
                      " return [lit, seen.size, document.querySelector('#fmaps p').textContent, cells > 0 && same === cells]; }"
                      " catch (e) { return [-1, 0, '', false]; } })()")
            layer = b.js("EMBEDVIZ.fmaps.layer")
            if cell < 0:   # the budget kept no maps of this point: said so (checked below too)
                check(fm[0] == -2 and fm[2].startswith(f"No feature maps of {layer} for image #{h}."),
                      f"the clicked point {h} has no cell of feature maps and the panel says so: '{fm[2]}'")
            else:
                check(fm[0] > 0 and fm[1] >= 3 and f"image #{h}" in fm[2] and layer in fm[2] and fm[3] is True,
                      f"clicking shows the point's feature maps of {layer} ({fm[0]} lit pixels, {fm[1]} shades,"
                      f" its own cell: {fm[3]}; -1: canvas not readable, -2: no panel): '{fm[2]}'")
            if b.js("!!EMBEDVIZ.fmapsRows"):
                # a point the budget left without maps: the panel says so
                said = None
                for i in b.js("(() => { const r = new Set(EMBEDVIZ.fmapsRows), out = [];"
                              " for (let i = 0; i < EMBEDVIZ.labels.length && out.length < 40; i++)"
                              "   if (!r.has(i)) out.push(i); return out; })()"):
                    px, py = b.js(f"window.embedviz.map.pointClient({i})")
                    b.mouse("mouseMoved", px, py)
                    time.sleep(0.05)
                    if b.js("window.embedviz.map.hovered") != i:
                        continue
                    b.mouse("mousePressed", px, py, "left", 1)
                    b.mouse("mouseReleased", px, py, "left", 1)
                    time.sleep(0.2)
                    said = b.js("(() => { const p = document.querySelector('#nn-list #fmaps p');"
                                " return [p ? p.textContent : '', !!document.querySelector('#nn-list #fmaps canvas')];"
                                " })()") + [i]
                    break
                check(said is not None and said[0].startswith(f"No feature maps of {layer} for image #{said[2]}.")
                      and "keeps the maps of" in said[0] and said[1] is False,
                      f"a point without maps says so: {said}")
        else:
            check(b.js("document.querySelector('#fmaps') === null") is True,
                  "no early layer in the report: no feature-map panel")
        if pictures and b.js("EMBEDVIZ.sprite.grey") == 0:
            # a colour report: the clicked point's own thumbnail (the first of
            # the list) shows colour, pixels whose channels differ clearly
            colour = b.js("(() => { const c = document.querySelector('#nn-list figure canvas');"
                          " try { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                          " let n = 0; for (let i = 0; i < d.length; i += 4)"
                          "   if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++;"
                          " return n; } catch (e) { return -1; } })()")
            check(isinstance(colour, int) and colour > 20,
                  f"the clicked point's image is in colour ({colour} coloured pixels; -1: canvas not readable)")

        # Drag on the 3-D map: the drawing must change.
        b.js("document.getElementById('map3d').scrollIntoView({block: 'center'})")
        time.sleep(0.2)
        before = b.js("document.getElementById('map3d').toDataURL().length")
        r = b.js("(() => { const r = document.getElementById('map3d').getBoundingClientRect();"
                 " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        b.mouse("mousePressed", r[0], r[1], "left", 1)
        b.mouse("mouseMoved", r[0] + 80, r[1] + 30, "left")
        b.mouse("mouseReleased", r[0] + 80, r[1] + 30, "left", 1)
        time.sleep(0.2)
        after = b.js("document.getElementById('map3d').toDataURL().length")
        check(before != after, "dragging turns the 3-D map")

        errs = console_errors(b.events)
        check(not errs, "no console error" + ("".join("\n      " + e for e in errs)))

        b.js("window.scrollTo(0, 0)")
        metrics = b.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize", metrics.get("contentSize"))
        png = b.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                     clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png["data"]))
        with open(os.path.splitext(shot)[0] + "-hover.png", "wb") as f:
            f.write(base64.b64decode(shot_hover["data"]))
        check(os.path.getsize(shot) > 10000, f"screenshot saved: {shot}")
    finally:
        b.close()
    print(f"browser test: {len(failures)} failed")
    return 1 if failures else 0


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    if not find_chromium():
        print("browser test: chromium is not installed (Debian package 'chromium'): skipped", file=sys.stderr)
        return 77
    return run(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
