"""Messages of the tool that say what is wrong and what to do (issue 15,
item 5): the report names a layer with NaN, a report on a few images
clamps what it shows and says so, library messages name the tool's options."""
import numpy as np
import pytest

from cli_util import png_size, run, skip_unless


def report_data(d, n_test, nan_layer=None):
    rng = np.random.default_rng(0)
    x = rng.random((100, 16)).astype(np.float32)
    y = np.arange(100) % 3
    feat = rng.random((100, 8)).astype(np.float32)
    probs = rng.random((100, 3)).astype(np.float32)
    probs /= probs.sum(axis=1, keepdims=True)
    layers = {"relu3": feat[:n_test].copy(), "softmax": probs[:n_test]}
    if nan_layer:
        layers[nan_layer][min(4, n_test - 1), 2] = np.nan
    np.save(d / "test_images.npy", x[:n_test])
    np.save(d / "test_labels.npy", y[:n_test])
    for name, a in layers.items():
        np.save(d / f"test_{name}.npy", a)
    np.save(d / "train_images.npy", x)
    np.save(d / "train_labels.npy", y)
    np.save(d / "train_relu3.npy", feat)
    return d


@pytest.mark.parametrize("layer", ["relu3", "softmax"])
def test_report_names_the_layer_with_nan(tmp_path, layer):
    d = report_data(tmp_path, 30, nan_layer=layer)
    status, _, err = run("report", "--data", d, "-o", tmp_path / "out", "-L", "pixels,relu3,softmax", ok=False)
    assert status == 1
    assert f"layer '{layer}'" in err and f"test_{layer}.npy" in err and "row 4, column 2" in err, err
    assert "stage ambiguity" not in err, "the NaN must be found when loading, before any work"


@skip_unless("tsne")
def test_report_on_five_images_clamps_and_says_so(tmp_path):
    d = report_data(tmp_path, 5)
    out = tmp_path / "out"
    _, _, err = run("report", "--data", d, "-o", out, "-L", "pixels,relu3,softmax")
    assert "of 5 rows" not in err
    assert "only 5 images: the ambiguity table shows all 5 instead of the 12 most ambiguous" in err
    assert "perplexity lowered from 30" in err
    page = (out / "index.html").read_text()
    assert "ambiguous_04.png" in page and "ambiguous_05.png" not in page
    png_size(out / "ambiguous_04.png")
    assert not (out / "ambiguous_05.png").exists()
    assert "k:4," in page, "each of 5 images has 4 neighbours among the others"


@skip_unless("tsne")
def test_library_messages_name_the_options(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((5, 3)).astype(np.float32))
    status, _, err = run("tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", ok=False)
    assert status == 1 and "lower --perplexity" in err and "EV_TSNE_PERPLEXITY" not in err


def test_unavailable_extraction_gives_the_library_reason(tmp_path):
    """With the backend module out of reach (EMBEDVIZ_BACKEND_DIR naming an
    empty folder), the commands that extract pass on the library's reason,
    which names the folder and the file, instead of blaming the build."""
    import os
    import subprocess
    from cli_util import tool_path
    empty = tmp_path / "no-backend"
    empty.mkdir()
    env = {**os.environ, "EMBEDVIZ_BACKEND_DIR": str(empty)}
    want = "EMBEDVIZ_BACKEND_DIR=%s has no libembedviz-torch.so" % empty
    (tmp_path / "images" / "a").mkdir(parents=True)
    for args, status in [(["extract", "--model", "m.pt", "-i", "x.npy", "-o", "y.npy"], 1),
                         (["extract", "--help"], 0),
                         (["report", "--images", tmp_path / "images", "--model", "m.pt",
                           "-o", tmp_path / "report"], 1)]:
        p = subprocess.run([tool_path(), *map(str, args)], capture_output=True, text=True,
                           timeout=120, env=env, cwd=str(tmp_path))
        out = p.stdout + p.stderr
        assert p.returncode == status, (args, out)
        assert "is not available" in out and want in out, (args, out)
        assert "build has no" not in out and "build lacks" not in out, (args, out)
