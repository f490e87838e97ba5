#!/usr/bin/python3
"""Browser test of a many-class embedviz report, in headless Chromium.

Loads REPORT/index.html (no server, no network) and drives it through the
DevTools protocol with real mouse clicks and typed text:

  - the per-class table has one row per class, worst first;
  - a click on a header sorts by that column (names in natural order,
    images, accuracy), a second click reverses;
  - typing a class name into the search box lights up that class's points
    (drawn in its colour, on top) and dims the others, for a class with a
    colour of its own and for one drawn in the "other" grey;
  - a name that matches no class says so; clearing the box shows every class;
  - a click on a class name in the table finds it on the map;
  - the legend lists the coloured classes and one "other" entry;
  - no console error.

  /usr/bin/python3 tests/browser/test_report_classes.py REPORT_DIR SCREENSHOT.png

Exit status 0 when every check passes; each check prints one line.
"""
import base64
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_report import Browser, console_errors, find_chromium  # noqa: E402


def natural(s):
    """'class 2' before 'class 10', case ignored: the page's localeCompare
    with {numeric: true, sensitivity: 'base'} for these ASCII names."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


TABLE = ("Array.from(document.querySelectorAll('#class-table tbody tr')).map(r => "
         "[+r.dataset.class, r.cells[0].textContent, +r.cells[1].textContent, r.cells[2].dataset.v])")

# For each point: [class, canvas x, canvas y, r, g, b] of the interactive
# map's pixel under the point's centre.
POINTS = ("(() => { const m = window.embedviz.map, c = document.getElementById('imap'), "
          "d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, out = []; "
          "for (let i = 0; i < EMBEDVIZ.labels.length; i++) { const p = m.pointCanvas(i), "
          "x = Math.floor(p[0]), y = Math.floor(p[1]), k = 4 * (y * c.width + x); "
          "out.push([EMBEDVIZ.labels[i], p[0], p[1], d[k], d[k + 1], d[k + 2]]); } return out; })()")


def hex_rgb(h):
    return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))


def run(report_dir, shot):
    failures = []

    def check(ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    b = Browser()
    try:
        for domain in ("Page", "Runtime", "Log"):
            b.call(domain + ".enable")
        b.call("Page.navigate", url="file://" + os.path.abspath(os.path.join(report_dir, "index.html")))
        b.wait_event("Page.loadEventFired")
        names = b.js("EMBEDVIZ.names")
        colours = b.js("EMBEDVIZ.colours")
        coloured = b.js("Array.from(EMBEDVIZ.coloured)")
        other = b.js("EMBEDVIZ.otherColour")

        # ---- the table ----
        rows = b.js(TABLE)
        check(len(rows) == len(names), f"the class table has {len(rows)} rows for {len(names)} classes")
        acc = [float(v) if v else None for _, _, _, v in rows]
        known = [a for a in acc if a is not None]
        check(known == sorted(known) and acc[:len(known)] == known, "the table starts worst first")

        def click_header(text):
            b.js(f"Array.from(document.querySelectorAll('#class-table th')).find(t => t.textContent === '{text}')"
                 ".scrollIntoView({block: 'center'})")
            time.sleep(0.1)
            x, y = b.js(f"(() => {{ const r = Array.from(document.querySelectorAll('#class-table th'))"
                        f".find(t => t.textContent === '{text}').getBoundingClientRect();"
                        f" return [r.left + r.width / 2, r.top + r.height / 2]; }})()")
            b.mouse("mousePressed", x, y, "left", 1)
            b.mouse("mouseReleased", x, y, "left", 1)
            time.sleep(0.1)
            return b.js(TABLE)

        rows = click_header("class")
        got = [r[1] for r in rows]
        check(got == sorted(got, key=natural), f"a click on 'class' sorts by name: {got[:4]}...")
        rows = click_header("class")
        got = [r[1] for r in rows]
        check(got == sorted(got, key=natural, reverse=True), f"a second click reverses: {got[:4]}...")
        rows = click_header("images")
        got = [r[2] for r in rows]
        check(got == sorted(got) and got[0] < got[-1], f"a click on 'images' sorts by count: {got[:4]}...{got[-2:]}")
        rows = click_header("accuracy")
        got = [float(r[3]) for r in rows if r[3]]
        check(got == sorted(got), "a click on 'accuracy' sorts worst first")
        rows = click_header("accuracy")
        got = [float(r[3]) for r in rows if r[3]]
        check(got == sorted(got, reverse=True), "a second click puts the best first")
        state = b.js("Array.from(document.querySelectorAll('#class-table th')).map(t => t.getAttribute('aria-sort'))")
        check(state == [None, None, "descending", None], f"the header says how the table is sorted: {state}")

        # ---- the legend ----
        swatches = b.js("Array.from(document.querySelectorAll('.legend'))[1].querySelectorAll('.swatch').length")
        n_col = sum(coloured)
        check(swatches == n_col + (1 if n_col < len(names) else 0),
              f"the legend lists {n_col} coloured classes and 'other' ({swatches} entries)")

        # ---- the search box ----
        b.js("document.getElementById('imap').scrollIntoView({block: 'center'})")
        before = b.js(POINTS)

        def search(text):
            b.js("(() => { const s = document.getElementById('class-search'); s.value = ''; s.focus(); })()")
            if text:
                b.call("Input.insertText", text=text)
            else:   # an emptied box: the input event of deleting the text
                b.js("document.getElementById('class-search').dispatchEvent(new Event('input'))")
            time.sleep(0.2)
            return b.js(POINTS), b.js("document.getElementById('search-status').textContent")

        def lit(c, pts, status):
            want = hex_rgb(colours[c])
            mine = [p for p in pts if p[0] == c]
            exact = sum(1 for p in mine if max(abs(p[3 + k] - want[k]) for k in range(3)) <= 2)
            near = [(p[1], p[2]) for p in mine]
            far = [p for p in pts if p[0] != c and all(abs(p[1] - x) > 6 or abs(p[2] - y) > 6 for x, y in near)]
            dark_after = sum(255 - sum(p[3:6]) / 3 for p in far) / max(len(far), 1)
            far_ids = {(p[1], p[2]) for p in far}
            dark_before = sum(255 - sum(p[3:6]) / 3 for p in before if (p[1], p[2]) in far_ids) / max(len(far), 1)
            check(mine and exact >= 0.9 * len(mine),
                  f"'{names[c]}': {exact} of its {len(mine)} points drawn in its colour {colours[c]} on top")
            check(dark_after * 3 < dark_before,
                  f"'{names[c]}': the other points are dimmed (darkness {dark_before:.0f} -> {dark_after:.0f})")
            check(names[c] in status and f"{len(mine)} image" in status, f"the status says so: '{status}'")

        count = [0] * len(names)
        for p in before:
            count[p[0]] += 1
        shown_col = [c for c in range(len(names)) if coloured[c] and count[c]]
        shown_other = [c for c in range(len(names)) if not coloured[c] and count[c]]
        for c in shown_col[-1:] + shown_other[:1]:
            pts, status = search(names[c])
            lit(c, pts, status)
        check(not shown_other or colours[shown_other[0]] == other, "an 'other' class is drawn in the grey")

        _, status = search("no such class zzz")
        check("no class" in status, f"a name that matches nothing says so: '{status}'")
        pts, status = search("")
        check(status == "" and pts == before, "an empty box shows every class as before")

        # ---- a class name in the table finds it ----
        target = b.js("document.querySelector('#class-table tbody tr').dataset.class")
        x, y = b.js("(() => { const c = document.querySelector('#class-table tbody tr td');"
                    " c.scrollIntoView({block: 'center'}); const r = c.getBoundingClientRect();"
                    " return [r.left + 20, r.top + r.height / 2]; })()")
        b.mouse("mousePressed", x, y, "left", 1)
        b.mouse("mouseReleased", x, y, "left", 1)
        time.sleep(0.2)
        value = b.js("document.getElementById('class-search').value")
        check(value == names[int(target)], f"a click on '{names[int(target)]}' in the table searches for it ('{value}')")

        errs = console_errors(b.events)
        check(not errs, "no console error" + ("".join("\n      " + e for e in errs)))
        png = b.call("Page.captureScreenshot", format="png")
        os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png["data"]))
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
