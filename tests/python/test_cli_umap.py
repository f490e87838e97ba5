"""embedviz umap: the map it writes, transform of new rows, and its errors."""
import numpy as np

from cli_util import run, skip_unless


@skip_unless("umap")
def test_umap_map_keeps_neighbourhoods_and_places_new_rows(tmp_path):
    from sklearn.datasets import load_digits
    from sklearn.manifold import trustworthiness
    x, labels = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    train, new = x[:1200], x[1200:1300]
    np.save(tmp_path / "x.npy", train)
    np.save(tmp_path / "new.npy", new)
    run("umap", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", "--seed", 3, "--epochs", 200,
        "--transform", tmp_path / "new.npy", "--transform-output", tmp_path / "t.npy", "--quiet")
    m = np.load(tmp_path / "m.npy")
    assert m.shape == (1200, 2) and m.dtype == np.float32 and np.isfinite(m).all()
    assert trustworthiness(train, m, n_neighbors=10) > 0.95
    # new digits land among training digits of their class
    t = np.load(tmp_path / "t.npy")
    assert t.shape == (100, 2)
    d = ((t[:, None, :] - m[None, :, :]) ** 2).sum(-1)
    nearest = labels[:1200][np.argsort(d, axis=1)[:, :10]]
    assert (nearest == labels[1200:1300, None]).mean() > 0.8
    run("umap", "-i", tmp_path / "x.npy", "-o", tmp_path / "m2.npy", "--seed", 3, "--epochs", 200,
        "--threads", 1, "--quiet")
    assert (np.load(tmp_path / "m2.npy") == m).all(), "same seed, same map on 1 thread as on all"


@skip_unless("umap")
def test_umap_errors_say_what_to_change(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32))
    status, _, err = run("umap", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", ok=False)
    assert status == 1 and "lower EV_UMAP_N_NEIGHBORS to at most 9" in err
    status, _, err = run("umap", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", "-k", 5,
                         "--min-dist", 2, ok=False)
    assert status == 1 and "raise EV_UMAP_SPREAD" in err
    status, _, err = run("umap", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", "--init", "pca",
                         ok=False)
    assert status == 2 and "spectral or random" in err
    status, _, err = run("umap", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy",
                         "--transform", tmp_path / "x.npy", ok=False)
    assert status == 2 and "--transform-output" in err
