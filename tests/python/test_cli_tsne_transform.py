"""embedviz tsne --transform: new rows placed on the map (through the same
PCA when the input is wide), and the option errors."""
import numpy as np

from cli_util import run, skip_unless


@skip_unless("tsne")
def test_tsne_transform_places_new_digits_among_their_class(tmp_path):
    from sklearn.datasets import load_digits
    x, labels = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    train, new = x[:1200], x[1200:1400]
    np.save(tmp_path / "x.npy", train)
    np.save(tmp_path / "new.npy", new)
    # --pca 20: the new rows go through the PCA fitted on the input
    args = ["tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", "--pca", 20, "--seed", 1,
            "--iterations", 500, "--transform", tmp_path / "new.npy",
            "--transform-output", tmp_path / "t.npy", "--quiet"]
    run(*args)
    m, t = np.load(tmp_path / "m.npy"), np.load(tmp_path / "t.npy")
    assert m.shape == (1200, 2) and t.shape == (200, 2) and t.dtype == np.float32
    d = ((t[:, None, :] - m[None, :, :]) ** 2).sum(-1)
    nearest = labels[:1200][np.argsort(d, axis=1)[:, :10]]
    votes = np.array([np.bincount(r, minlength=10).argmax() for r in nearest])
    assert (votes == labels[1200:1400]).mean() > 0.9
    # the map is the one written without --transform
    run("tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m2.npy", "--pca", 20, "--seed", 1,
        "--iterations", 500, "--quiet")
    assert (np.load(tmp_path / "m2.npy") == m).all()
    # the same rows, the same places
    run(*args[:-5], "--transform", tmp_path / "new.npy", "--transform-output", tmp_path / "t2.npy",
        "--quiet")
    assert (np.load(tmp_path / "t2.npy") == t).all()


@skip_unless("tsne")
def test_tsne_transform_errors_say_what_to_change(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(60, 4)).astype(np.float32))
    np.save(tmp_path / "w.npy", rng.normal(size=(5, 3)).astype(np.float32))
    base = ["tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", "-p", 5, "--quiet"]
    status, _, err = run(*base, "--transform", tmp_path / "x.npy", ok=False)
    assert status == 2 and "--transform-output" in err
    status, _, err = run(*base, "--transform", tmp_path / "w.npy", "--transform-output",
                         tmp_path / "t.npy", ok=False)
    assert status == 1 and "have 3 columns but the input has 4" in err
    assert not (tmp_path / "t.npy").exists()
