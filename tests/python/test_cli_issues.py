"""embedviz issues: the ranked table of likely label errors."""
import numpy as np

from cli_util import run


def _clusters(tmp_path):
    rng = np.random.default_rng(1)
    truth = np.repeat(np.arange(3), 30)
    feats = (rng.normal(size=(90, 4)) + 8 * np.eye(3, 4)[truth]).astype(np.float32)
    labels = truth.copy()
    labels[7] = 2
    probs = np.full((90, 3), 0.1, np.float32)
    probs[np.arange(90), truth] = 0.8
    for name, a in (("labels", labels), ("probs", probs), ("feats", feats)):
        np.save(tmp_path / f"{name}.npy", a)
    return tmp_path


def _table(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    return header, np.atleast_2d(np.loadtxt(path, delimiter=",", skiprows=1))


def test_flagged_row_first_with_its_suggestion(tmp_path):
    d = _clusters(tmp_path)
    run("issues", "-l", d / "labels.npy", "-s", d / "probs.npy", "-f", d / "feats.npy",
        "-o", d / "out.csv", "-q")
    header, t = _table(d / "out.csv")
    assert header[:5] == ["rank", "row", "given", "suggested", "score"]
    assert t.shape == (1, 9)  # confident learning flags only row 7
    assert list(t[0, :4]) == [1, 7, 2, 0]
    # none of its 10 neighbours has its label (2): 1 - sqrt(p(2) (0 + 1) / (10 + 3))
    assert abs(t[0, 4] - (1 - np.sqrt(0.1 / 13))) < 1e-6


def test_all_rows_ranked_from_features(tmp_path):
    d = _clusters(tmp_path)
    run("issues", "-l", d / "labels.npy", "-f", d / "feats.npy", "--all", "-n", "5",
        "-o", d / "out.csv", "-q")
    _, t = _table(d / "out.csv")
    assert t.shape == (5, 9) and t[0, 1] == 7
    assert np.all(np.diff(t[:, 4]) <= 0)  # highest score first


def test_bad_input(tmp_path):
    d = _clusters(tmp_path)
    np.save(d / "bad.npy", np.full(90, 3))
    status, _, err = run("issues", "-l", d / "bad.npy", "-s", d / "probs.npy", "-o", d / "o.csv",
                         ok=False)
    assert status == 1 and "outside [0, 3)" in err
    status, _, err = run("issues", "-l", d / "labels.npy", "-o", d / "o.csv", ok=False)
    assert status == 2 and "--scores or --features" in err
    np.save(d / "short.npy", np.zeros(89, np.int64))
    status, _, err = run("issues", "-l", d / "short.npy", "-s", d / "probs.npy", "-o", d / "o.csv",
                         ok=False)
    assert status == 1 and "90 rows for 89 labels" in err
    assert not (d / "o.csv").exists()
