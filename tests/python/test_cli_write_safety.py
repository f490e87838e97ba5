"""An error never costs the user a file they had (issue 15, item 3).

Every file the tool writes goes to a temporary file beside the target and is
renamed over it only once complete and synced: on a full file system the
previous good .npy, CSV or PNG survives byte for byte, no temporary file is
left, a device given as the output (a /dev/full copy) is never removed, and
an output folder that cannot be written is refused before the work starts.

The full file system is a 64 KiB tmpfs mounted here: the tests run as root
(here and in CI). If mounting is impossible they fail and say so: they are
never skipped silently.
"""
import os
import stat
import subprocess

import numpy as np
import pytest

from cli_util import png_size, run, skip_unless, tool_path


def _mount(path, options):
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs ({options}) at {path}: {p.stderr.strip() or p.returncode}. "
                    "These tests need root and mount(8); they are not skipped because they check that "
                    "the tool never loses a file")


@pytest.fixture
def small_fs(tmp_path):
    """A 64 KiB file system, unmounted afterwards."""
    d = tmp_path / "small"
    d.mkdir()
    _mount(d, "size=64k")
    yield d
    subprocess.run(["umount", str(d)], check=False)


@pytest.fixture
def readonly_fs(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    _mount(d, "ro,size=64k")
    yield d
    subprocess.run(["umount", str(d)], check=False)


def fill(folder):
    """Fill the file system of folder to the last byte."""
    for name, chunk in (("filler", 4096), ("filler2", 1)):
        try:
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT)
        except OSError:
            return
        try:
            while True:
                os.write(fd, b"\0" * chunk)
        except OSError:
            pass
        finally:
            os.close(fd)


def leftovers(folder, keep):
    return sorted(set(os.listdir(folder)) - set(keep) - {"filler", "filler2"})


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    small = rng.normal(size=(20, 4)).astype(np.float32)
    big = rng.normal(size=(400, 40)).astype(np.float32)
    np.save(tmp_path / "small.npy", small)
    np.save(tmp_path / "big.npy", big)
    return tmp_path


# ---- a previous good file survives a failing write ----------------------------

@skip_unless("pca")
@pytest.mark.parametrize("name", ["scores.npy", "scores.csv"])
def test_previous_matrix_survives_a_full_file_system(small_fs, inputs, name):
    out = small_fs / name
    run("pca", "-i", inputs / "small.npy", "-o", out, "-q")
    before = out.read_bytes()
    assert len(before) > 100
    fill(small_fs)
    status, _, err = run("pca", "-i", inputs / "big.npy", "-o", out, "-q", ok=False)
    assert status == 1, err
    assert "No space left on device" in err and str(out) in err
    assert "unchanged" in err
    assert out.read_bytes() == before, "the previous good file was damaged"
    assert leftovers(small_fs, [name]) == [], "a temporary file was left behind"


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_previous_picture_survives_a_full_file_system(small_fs, inputs, ext):
    """PNG, SVG and PDF alike: cairo writes into memory, the tool's safe
    writer to the file."""
    out = small_fs / f"map.{ext}"
    np.save(inputs / "map2.npy", np.array([[0, 0], [1, 1], [2, 0.5]], np.float32))
    run("plot", "scatter", "-i", inputs / "map2.npy", "-o", out, "-q")
    before = out.read_bytes()
    assert before[:4] == {"png": b"\x89PNG", "svg": b"<?xm", "pdf": b"%PDF"}[ext]
    fill(small_fs)
    rng = np.random.default_rng(1)
    np.save(inputs / "map_big.npy", rng.normal(size=(5000, 2)).astype(np.float32))
    status, _, err = run("plot", "scatter", "-i", inputs / "map_big.npy", "-o", out, ok=False)
    assert status == 1, "plot must fail when the picture cannot be written, not exit 0: " + err
    assert "No space left on device" in err
    assert out.read_bytes() == before
    assert leftovers(small_fs, [f"map.{ext}"]) == []


def test_new_picture_on_a_full_file_system_leaves_nothing(small_fs, inputs):
    fill(small_fs)
    np.save(inputs / "map_big.npy", np.random.default_rng(1).normal(size=(5000, 2)).astype(np.float32))
    status, _, err = run("plot", "scatter", "-i", inputs / "map_big.npy", "-o", small_fs / "new.png", ok=False)
    assert status == 1 and "No space left on device" in err
    assert leftovers(small_fs, []) == [], "no truncated picture, no temporary file"


def test_good_write_replaces_the_file_and_keeps_its_mode(tmp_path, inputs):
    out = tmp_path / "map.png"
    out.write_bytes(b"old")
    os.chmod(out, 0o640)
    np.save(inputs / "map2.npy", np.array([[0, 0], [1, 1]], np.float32))
    run("plot", "scatter", "-i", inputs / "map2.npy", "-o", out, "-q")
    assert png_size(out) == (900, 700)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert leftovers(tmp_path, ["map.png", "map2.npy", "small.npy", "big.npy"]) == []


def test_a_link_is_followed_not_replaced(tmp_path, inputs):
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    run("ambiguity", "-i", _probs(tmp_path), "-o", link, "-q")
    assert link.is_symlink() and target.read_text().startswith("row,ambiguity")


def _probs(folder):
    p = np.full((6, 3), 1 / 3, np.float32)
    np.save(folder / "probs.npy", p)
    return folder / "probs.npy"


# ---- devices are written in place, never removed ------------------------------

@pytest.mark.parametrize("kind", ["npy", "csv", "png"])
def test_a_dev_full_copy_is_never_unlinked(tmp_path, inputs, kind):
    dev = tmp_path / f"full.{kind}"
    subprocess.run(["mknod", str(dev), "c", "1", "7"], check=True)   # a copy of /dev/full
    if kind == "png":
        np.save(inputs / "map2.npy", np.array([[0, 0], [1, 1]], np.float32))
        status, _, err = run("plot", "scatter", "-i", inputs / "map2.npy", "-o", dev, ok=False)
    else:
        status, _, err = run("ambiguity", "-i", _probs(tmp_path), "-o", dev, ok=False)
    assert status == 1 and "No space left on device" in err, err
    st = os.lstat(dev)
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 7, \
        "the device was removed or replaced"


def test_dev_null_as_output_works(tmp_path):
    dev = tmp_path / "null.csv"
    subprocess.run(["mknod", str(dev), "c", "1", "3"], check=True)   # a copy of /dev/null
    run("ambiguity", "-i", _probs(tmp_path), "-o", dev, "-q")
    assert stat.S_ISCHR(os.lstat(dev).st_mode)


def test_a_folder_as_output_is_refused(tmp_path):
    status, _, err = run("ambiguity", "-i", _probs(tmp_path), "-o", tmp_path, ok=False)
    assert status == 1 and "is a folder" in err
    assert tmp_path.is_dir()


# ---- an unwritable output is refused before the work ----------------------------

@skip_unless("tsne")
@pytest.mark.parametrize("where", ["missing", "readonly"])
def test_unwritable_output_is_refused_before_the_computation(inputs, readonly_fs, where):
    out = inputs / "no" / "such" / "map.npy" if where == "missing" else readonly_fs / "map.npy"
    p = subprocess.run([tool_path(), "tsne", "-i", str(inputs / "big.npy"), "-o", str(out), "--perplexity", "10"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 1
    assert str(out) in p.stderr
    assert ("does not exist" in p.stderr) if where == "missing" else ("Read-only file system" in p.stderr)
    # t-SNE prints its stages (neighbours, affinities, t-SNE ...) as it goes:
    # none of them may have started.
    for stage in ("neighbours", "affinities", "t-SNE", "PCA", "tsne:"):
        assert stage not in p.stderr, f"the computation ran before the output was checked: {p.stderr}"


def test_report_into_a_readonly_folder_is_refused_before_loading(tmp_path, readonly_fs):
    status, _, err = run("report", "--data", tmp_path, "-o", readonly_fs, ok=False)
    assert status == 1 and "Read-only file system" in err
    assert "stage" not in err and "test_images.npy" not in err, err


def test_report_failure_leaves_no_index_html(tmp_path, inputs):
    out = tmp_path / "rep"
    status, _, err = run("report", "--data", tmp_path, "-o", out, ok=False)   # no inputs there
    assert status == 1
    assert not (out / "index.html").exists()
    assert not out.exists()   # the folder the failed run made is removed again (it stayed empty)
