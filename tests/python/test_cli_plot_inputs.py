"""embedviz plot on inputs that used to give a wrong picture, a hang or
gigabytes (issue 15, items 2 and 4): each gets a clear error or a bounded,
documented picture."""
import resource
import subprocess

import numpy as np
import pytest

from cli_util import KELLY, OTHER, PALETTE, assert_drawn, confusion_grid, pixels, png_size, run, tool_path


def run_limited(*args, memory_gb=2, timeout=120):
    """The tool under an address-space limit and a timeout, so a picture of
    gigabytes or a hang fails the test instead of the machine."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory_gb << 30, memory_gb << 30))
    try:
        p = subprocess.run([tool_path(), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                           preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"embedviz {' '.join(map(str, args))} did not finish in {timeout} s")
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_scatter_refuses_non_finite_coordinates(tmp_path, bad):
    xy = np.array([[0, 0], [1, 1], [2, bad], [3, 1]], np.float32)
    np.save(tmp_path / "map.npy", xy)
    status, _, err = run("plot", "scatter", "-i", tmp_path / "map.npy", "-o", tmp_path / "m.png", ok=False)
    assert status == 1
    assert "point 2" in err and "y coordinate" in err and "map.npy" in err
    assert not (tmp_path / "m.png").exists()


def test_images_map_refuses_non_finite_coordinates(tmp_path):
    np.save(tmp_path / "map.npy", np.array([[np.nan, 0], [1, 1]], np.float32))
    np.save(tmp_path / "img.npy", np.zeros((2, 16), np.float32))
    status, _, err = run("plot", "images", "-i", tmp_path / "map.npy", "--images", tmp_path / "img.npy",
                         "-o", tmp_path / "m.png", ok=False)
    assert status == 1 and "point 0" in err and "x coordinate" in err


def test_scatter_refuses_a_spread_beyond_the_float_range(tmp_path):
    np.save(tmp_path / "map.npy", np.array([[-3e38, 0], [3e38, 1]], np.float32))
    status, _, err = run_limited("plot", "scatter", "-i", tmp_path / "map.npy", "-o", tmp_path / "m.png")
    assert status == 1 and "too wide to draw" in err


def test_huge_label_is_refused_not_a_one_entry_legend(tmp_path):
    np.save(tmp_path / "map.npy", np.array([[0, 0], [1, 1], [2, 2]], np.float32))
    np.save(tmp_path / "y.npy", np.array([0, 1, 2 ** 40], np.int64))
    status, _, err = run("plot", "scatter", "-i", tmp_path / "map.npy", "-l", tmp_path / "y.npy",
                         "-o", tmp_path / "m.png", ok=False)
    assert status == 1
    assert "1099511627776" in err and "position 2" in err


def test_many_classes_give_a_legend_that_says_how_many_more(tmp_path):
    n = 200
    np.save(tmp_path / "map.npy", np.random.default_rng(0).normal(size=(n, 2)).astype(np.float32))
    np.save(tmp_path / "y.npy", np.arange(n, dtype=np.int64))
    run("plot", "scatter", "-i", tmp_path / "map.npy", "-l", tmp_path / "y.npy", "-o", tmp_path / "m.png", "-q")
    assert png_size(tmp_path / "m.png") == (900, 700)
    px = pixels(tmp_path / "m.png")
    assert_drawn(px, min_colours=20)
    # 200 classes of one point each: the 20 largest (ties: the first) in
    # Kelly's colours, the rest in the "other" grey, as dots (at 0.85 over
    # white) in the map: about 20 pixels a dot, less where dots overlap
    inside = px[:, :690].reshape(-1, 3)
    kelly = [(np.abs(inside - np.floor(255 + 0.85 * (k - 255) + 0.5)).max(axis=1) <= 3).sum() for k in KELLY]
    assert min(kelly) >= 9, kelly
    assert (np.abs(inside - np.floor(255 + 0.85 * (OTHER - 255) + 0.5)).max(axis=1) <= 3).sum() >= 9 * 180


def test_confusion_refuses_negative_counts(tmp_path):
    m = np.array([[5, -1], [2, 7]], np.int64)
    np.save(tmp_path / "c.npy", m)
    status, _, err = run("plot", "confusion", "-i", tmp_path / "c.npy", "-o", tmp_path / "c.png", ok=False)
    assert status == 1 and "-1" in err and "row 0, column 1" in err and "negative" in err
    assert not (tmp_path / "c.png").exists()


@pytest.mark.parametrize("bad", ["nan", "inf", "1e30", "-0.5"])
def test_scree_refuses_ratios_out_of_range_without_hanging(tmp_path, bad):
    np.save(tmp_path / "r.npy", np.array([0.5, float(bad), 0.1], np.float32))
    status, _, err = run_limited("plot", "scree", "-i", tmp_path / "r.npy", "-o", tmp_path / "s.png", timeout=60)
    assert status == 1
    assert "position 1" in err and "not in [0, 1]" in err


def test_scree_of_good_ratios(tmp_path):
    np.save(tmp_path / "r.npy", np.array([0.5, 0.3, 0.1], np.float32))
    run("plot", "scree", "-i", tmp_path / "r.npy", "-o", tmp_path / "s.png", "-q")
    assert png_size(tmp_path / "s.png") == (840, 510)
    # each bar 380 pixels a 100 % in the plot area of 710 pixels from x = 90;
    # the cumulative line's dots (PALETTE[1]) at 50, 80 and 90 % above the
    # bars' centres
    px = pixels(tmp_path / "s.png")
    bars = [int((np.abs(px[:, int(90 + i * 710 / 3) + 8] - PALETTE[4]).max(axis=1) <= 1).sum()) for i in range(3)]
    assert bars == [190, 114, 38], bars
    for i, cum in enumerate((0.5, 0.8, 0.9)):
        x, y = int(90 + (i + 0.5) * 710 / 3), int(440 - 380 * cum)
        assert (np.abs(px[y - 1:y + 2, x - 1:x + 2] - PALETTE[1]).max(axis=2) <= 1).all(), (i, px[y, x])


def test_confusion_of_1000_classes_is_bounded(tmp_path):
    c = 1000
    rng = np.random.default_rng(0)
    m = rng.integers(0, 5, size=(c, c)).astype(np.int64) + 50 * np.eye(c, dtype=np.int64)
    np.save(tmp_path / "c.npy", m)
    status, _, err = run_limited("plot", "confusion", "-i", tmp_path / "c.npy", "-o", tmp_path / "c.png", "-q",
                                 memory_gb=2)
    assert status == 0, err
    w, h = png_size(tmp_path / "c.png")
    assert w <= 2500 and h <= 2500, (w, h)
    assert_drawn(pixels(tmp_path / "c.png"), min_colours=10)


def test_confusion_above_the_stated_class_count_is_refused(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((1001, 1001), np.int64))
    status, _, err = run_limited("plot", "confusion", "-i", tmp_path / "c.npy", "-o", tmp_path / "c.png")
    assert status == 1 and "1001 classes" in err and "at most 1000" in err
    assert "folder" not in err and "writable" not in err, "the error must not blame the output folder"


def test_confusion_of_ten_classes_keeps_its_cells(tmp_path):
    np.save(tmp_path / "c.npy", (np.eye(10) * 9 + 1).astype(np.int64))
    run("plot", "confusion", "-i", tmp_path / "c.npy", "-o", tmp_path / "c.png", "-q")
    left, top, cell = confusion_grid(pixels(tmp_path / "c.png"))
    assert cell == 52
    w, h = png_size(tmp_path / "c.png")
    assert left + 10 * 52 < w <= left + 10 * 52 + 250 and h == top + 10 * 52 + 30
