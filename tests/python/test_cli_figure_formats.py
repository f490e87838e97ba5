"""Figures drawn with cairo (issue 17, part 1): PNG, SVG and PDF from
`embedviz plot --format` (or the output's extension) and `embedviz report
--format`; axes with ticks, numbers and labels; PCA axes with their share of
the variance; the scree plot's cumulative curve.

SVGs are parsed by xml.etree (not by us) and their <text> read; PDFs are
rendered by poppler's pdftoppm and their text extracted by pdftotext (Debian
poppler-utils, scripts/debian-packages.txt)."""
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from cli_util import PALETTE, assert_drawn, palette_pixels, pixels, png_size, run, softmax

SVG = "{http://www.w3.org/2000/svg}"
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]
RATIOS = np.array([0.298, 0.151, 0.1, 0.08, 0.06, 0.05, 0.04, 0.03], np.float32)


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 30)
    xy = (rng.normal(size=(300, 2)) + 5 * np.stack([np.cos(y), np.sin(y)], 1)).astype(np.float32)
    np.save(tmp_path / "xy.npy", xy)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "ratio.npy", RATIOS)
    # the names travel with the labels: class_names.txt beside y.npy
    (tmp_path / "class_names.txt").write_text("\n".join(FASHION) + "\n")
    return tmp_path


def svg_texts(path):
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    return root, ["".join(t.itertext()) for t in root.iter(SVG + "text")]


def need(tool):
    if not shutil.which(tool):
        pytest.fail(f"{tool} is missing: install Debian's poppler-utils (scripts/debian-packages.txt)")


def pdf_page(path, tmp_path):
    """The PDF's first page as pixels, rendered by pdftoppm at 72 dpi (1 pt =
    1 pixel, the picture's own size)."""
    need("pdftoppm")
    p = subprocess.run(["pdftoppm", "-r", "72", "-png", "-singlefile", str(path), str(tmp_path / "page")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return pixels(tmp_path / "page.png")


def pdf_text(path):
    need("pdftotext")
    p = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_scatter_svg_has_the_axes_the_legend_and_a_shape_per_point(data):
    run("plot", "scatter", "-i", data / "xy.npy", "-l", data / "y.npy", "-o", data / "m.svg", "--variance",
        data / "ratio.npy", "--title", "PCA <of> A & B", "-q")
    root, texts = svg_texts(data / "m.svg")
    assert (root.get("width"), root.get("height")) == ("900px", "700px")
    assert "PC1 (29.8 %)" in texts and "PC2 (15.1 %)" in texts
    assert "PCA <of> A & B" in texts, "the title, escaped and read back"
    assert {"T-shirt/top", "Ankle boot"} <= set(texts), "the legend's names"
    # tick numbers on both axes: at least 3 numbers each, round values
    numbers = [float(t) for t in texts if t.lstrip("-").replace(".", "", 1).isdigit()]
    assert len(numbers) >= 6 and 0.0 in numbers
    # one filled path per point, at least (plus legend discs and axes)
    assert len(list(root.iter(SVG + "path"))) >= 300
    # and the same file as PNG has the class colours
    run("plot", "scatter", "-i", data / "xy.npy", "-l", data / "y.npy", "-o", data / "m.png", "-q")
    assert (palette_pixels(pixels(data / "m.png")[:, :690], alpha=0.85) > 20).all()


def test_scatter_pdf_opens_with_pdftoppm_and_is_drawn(data):
    run("plot", "scatter", "-i", data / "xy.npy", "-l", data / "y.npy", "-o", data / "m.pdf", "--xlabel", "t-SNE 1",
        "--ylabel", "t-SNE 2", "-q")
    assert (data / "m.pdf").read_bytes()[:5] == b"%PDF-"
    px = pdf_page(data / "m.pdf", data)
    assert px.shape[:2] == (700, 900)
    assert_drawn(px, min_colours=12)
    # every class's colour is on the page (dots at 0.85 over white; the
    # renderer's anti-aliasing differs from ours: a looser tolerance)
    assert (palette_pixels(px[:, :690], alpha=0.85, tol=4) > 10).all()
    text = pdf_text(data / "m.pdf")
    assert "t-SNE 1" in text and "t-SNE 2" in text and "Trouser" in text, "the PDF holds real text"


def test_format_option_overrides_a_name_without_extension(data):
    run("plot", "scree", "-i", data / "ratio.npy", "-o", data / "scree", "--format", "pdf", "-q")
    assert (data / "scree").read_bytes()[:5] == b"%PDF-"
    run("plot", "scree", "-i", data / "ratio.npy", "-o", data / "scree2", "--format", "svg", "-q")
    svg_texts(data / "scree2")
    run("plot", "scree", "-i", data / "ratio.npy", "-o", data / "scree3", "-q")   # no extension: PNG
    assert png_size(data / "scree3")[0] > 500


def test_scree_svg_has_axes_and_the_cumulative_curve(data):
    run("plot", "scree", "-i", data / "ratio.npy", "-o", data / "s.svg", "-q")
    root, texts = svg_texts(data / "s.svg")
    assert {"principal component", "share of the variance", "explained variance", "cumulative"} <= set(texts)
    assert {"0%", "20%", "40%"} <= set(texts), texts
    assert {"1", "2", "8"} <= set(texts), "every component numbered (8 of them)"
    # the cumulative curve: one stroked path through the 8 points, and the 8
    # points, in the curve's colour (PALETTE[1]), read from cairo's styles,
    # "stroke:rgb(20%,13.3%,...)"
    def painted(kind):
        found = []
        for p in root.iter(SVG + "path"):
            m = re.search(kind + r":rgb\(([\d.]+)%,([\d.]+)%,([\d.]+)%\)", p.get("style", ""))
            if m and np.abs(np.array([float(v) * 2.55 for v in m.groups()]) - PALETTE[1]).max() < 0.5:
                found.append(p.get("d", ""))
        return found
    curves = [d for d in painted("stroke") if d.count("L") == 7]
    assert len(curves) == 1, painted("stroke")
    assert len(painted("fill")) >= 8
    # PNG: the curve's points climb: the cumulative share at component 8 is
    # drawn higher than at component 1 (380 pixels a 100 %)
    run("plot", "scree", "-i", data / "ratio.npy", "-o", data / "s.png", "-q")
    px = pixels(data / "s.png")
    curve = (np.abs(px - PALETTE[1]).max(axis=2) <= 2)
    bw = 710 / 8
    first, last = [np.nonzero(curve[:, int(90 + (i + 0.5) * bw)])[0] for i in (0, 7)]
    assert len(first) and len(last)
    cum = np.cumsum(RATIOS)
    for rows, share in ((first, cum[0]), (last, cum[7])):
        assert abs(rows.mean() - (60 + 380 - 380 * share)) <= 3, (rows.mean(), share)


def test_biplot_axes_in_the_report_say_the_share_of_variance(tmp_path):
    """report --format svg: every figure also as SVG beside its PNG, linked
    from the page; the biplot's axes are PC1 and PC2 with the share of
    variance the report computed (checked against numpy's PCA)."""
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), 40)
    feat = (rng.normal(size=(4, 12))[y] * 3 + rng.normal(size=(160, 12))).astype(np.float32)
    np.save(tmp_path / "f.npy", feat)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "p.npy", softmax(3 * np.eye(4)[y] + rng.normal(size=(160, 4))).astype(np.float32))
    out = tmp_path / "rep"
    run("report", "--features", tmp_path / "f.npy", "--labels", tmp_path / "y.npy", "--scores", tmp_path / "p.npy",
        "-o", out, "--format", "svg", "--iterations", 250, "--perplexity", 10, "-q")
    pngs = sorted(p.stem for p in out.glob("*.png"))
    svgs = sorted(p.stem for p in out.glob("*.svg"))
    assert "pca_biplot" in svgs and "pca_scree" in svgs and "confusion" in svgs
    assert svgs == pngs, "each figure in both formats"
    page = (out / "index.html").read_text()
    assert 'href="pca_biplot.svg"' in page and 'src="pca_biplot.png"' in page
    x = feat - feat.mean(0)
    s = np.linalg.svd(x, compute_uv=False) ** 2
    share = s / s.sum()
    _, texts = svg_texts(out / "pca_biplot.svg")
    assert f"PC1 ({100 * share[0]:.1f} %)" in texts and f"PC2 ({100 * share[1]:.1f} %)" in texts, texts[:12]
    maps = sorted(out.glob("map_*.svg"))
    assert maps
    for m in maps:
        _, texts = svg_texts(m)
        assert "t-SNE 1" in texts and "t-SNE 2" in texts, m.name


def test_report_pdf_figures_open(tmp_path):
    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(3), 30)
    np.save(tmp_path / "f.npy", (rng.normal(size=(3, 8))[y] * 3 + rng.normal(size=(90, 8))).astype(np.float32))
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "rep"
    run("report", "--features", tmp_path / "f.npy", "--labels", tmp_path / "y.npy", "-o", out, "--format", "pdf",
        "--iterations", 250, "--perplexity", 10, "-q")
    pdfs = sorted(out.glob("*.pdf"))
    assert {"pca_biplot.pdf", "pca_scree.pdf", "maps_by_depth.pdf"} <= {p.name for p in pdfs}
    for p in pdfs:
        assert_drawn(pdf_page(p, tmp_path))
    assert "PC1 (" in pdf_text(out / "pca_biplot.pdf")


@pytest.mark.parametrize("args, message", [
    (["--format", "bmp"], "--format must be png, svg or pdf, got 'bmp'"),
    (["--format", "svg", "-o", "{d}/m.png"], "--format svg but the output {d}/m.png ends in .png: name it {d}/m.svg"),
])
def test_a_bad_format_is_refused_before_reading(tmp_path, args, message):
    """The input does not exist: the format error comes first, nothing written."""
    d = str(tmp_path)
    args = [a.format(d=d) for a in args]
    if "-o" not in args:
        args += ["-o", d + "/m.pdf"]
    status, _, err = run("plot", "scatter", "-i", tmp_path / "missing.npy", *args, ok=False)
    assert status != 0 and message.format(d=d) in err, err
    assert list(tmp_path.iterdir()) == []


def test_report_refuses_a_bad_format_before_loading(tmp_path):
    status, _, err = run("report", "--features", tmp_path / "missing.npy", "--labels", tmp_path / "y.npy",
                         "-o", tmp_path / "rep", "--format", "jpeg", ok=False)
    assert status != 0 and "--format must be png, svg or pdf, got 'jpeg'" in err, err
    assert not (tmp_path / "rep").exists()


def test_plot_axis_options_are_checked(data):
    status, _, err = run("plot", "scree", "-i", data / "ratio.npy", "-o", data / "s.png", "--xlabel", "x", ok=False)
    assert status != 0 and "--xlabel, --ylabel and --variance go with plot scatter" in err
    np.save(data / "bad.npy", np.array([0.5, 1.5], np.float32))
    status, _, err = run("plot", "scatter", "-i", data / "xy.npy", "-o", data / "m.png", "--variance",
                         data / "bad.npy", ok=False)
    assert status == 1 and "ratio 1.5 at position 1 is not in [0, 1]" in err
    assert not (data / "m.png").exists()


def test_the_tool_links_cairo_and_the_library_does_not():
    """cairo is the tool's dependency (cli/cli.mk), never libembedviz's."""
    import os
    from cli_util import tool_path

    def needed(path):
        p = subprocess.run(["readelf", "-d", path], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", p.stdout)

    assert any(n.startswith("libcairo.so") for n in needed(tool_path()))
    lib = os.environ.get("EMBEDVIZ_LIBRARY")
    if not lib:
        pytest.fail("EMBEDVIZ_LIBRARY is not set: the library to check (tests/check-python.sh sets it)")
    assert needed(lib) and not any("cairo" in n for n in needed(lib)), needed(lib)


def test_names_come_from_the_labels_folder_or_the_option_never_from_a_guess(data, tmp_path):
    """Ten classes of one's own are not Fashion-MNIST: without --classes or a
    class_names.txt beside the labels, the legend says "class 3"."""
    own = tmp_path / "own"
    own.mkdir()
    np.save(own / "y.npy", np.load(data / "y.npy"))
    run("plot", "scatter", "-i", data / "xy.npy", "-l", own / "y.npy", "-o", own / "m.svg", "-q")
    _, texts = svg_texts(own / "m.svg")
    assert "class 0" in texts and "class 9" in texts
    assert not {"T-shirt/top", "Trouser", "Ankle boot"} & set(texts)
    (own / "names.txt").write_text("".join(f"kind {k}\n" for k in range(10)))
    run("plot", "scatter", "-i", data / "xy.npy", "-l", own / "y.npy", "-c", own / "names.txt", "-o",
        own / "m2.svg", "-q")
    _, texts = svg_texts(own / "m2.svg")
    assert {"kind 0", "kind 9"} <= set(texts) and "class 0" not in texts
    # too few names for the classes: refused, the figure not written
    (own / "class_names.txt").write_text("a\nb\n")
    status, _, err = run("plot", "scatter", "-i", data / "xy.npy", "-l", own / "y.npy", "-o", own / "m3.svg",
                         ok=False)
    assert status == 1 and "class_names.txt has 2 names for 10 classes" in err
    assert not (own / "m3.svg").exists()


def test_confusion_names_beside_the_matrix_and_too_few_refused(tmp_path):
    cm = (np.eye(10, dtype=np.int64) * 50 + 1)
    np.save(tmp_path / "cm.npy", cm)
    run("plot", "confusion", "-i", tmp_path / "cm.npy", "-o", tmp_path / "c.svg", "-q")
    _, texts = svg_texts(tmp_path / "c.svg")
    assert any("class 9" in t for t in texts) and not any("Ankle" in t for t in texts)
    (tmp_path / "class_names.txt").write_text("".join(f"kind {k}\n" for k in range(10)))
    run("plot", "confusion", "-i", tmp_path / "cm.npy", "-o", tmp_path / "c2.svg", "-q")
    _, texts = svg_texts(tmp_path / "c2.svg")
    assert any("kind 9" in t for t in texts) and not any("class 9" in t for t in texts)
    (tmp_path / "three.txt").write_text("a\nb\nc\n")
    status, _, err = run("plot", "confusion", "-i", tmp_path / "cm.npy", "-c", tmp_path / "three.txt", "-o",
                         tmp_path / "c3.svg", ok=False)
    assert status == 1 and "three.txt has 3 names for 10 classes" in err
