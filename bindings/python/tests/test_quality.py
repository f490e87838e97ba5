"""embedviz.trustworthiness against scikit-learn's, the map measures, and
label-issue scores and rankings (libembedviz's quality.h, since 1.1)."""
import inspect

import numpy as np
import pytest
from sklearn.manifold import trustworthiness as sk_trustworthiness

import embedviz
from embedviz import _base, quality

from conftest import FMNIST, needs, read_idx

pytestmark = needs("ev_quality_map")


@pytest.fixture(scope="module")
def digits_map(digits):
    x, y = digits
    return x, embedviz.TSNE(random_state=0).fit_transform(x), y


@pytest.mark.parametrize("k", [5, 10, 30])
def test_digits_equal_scikit_learn(digits_map, k):
    x, m, _ = digits_map
    ours = embedviz.trustworthiness(x, m, n_neighbors=k)
    assert ours == pytest.approx(sk_trustworthiness(x, m, n_neighbors=k), abs=1e-6)
    assert 0.9 < ours < 1


@pytest.fixture(scope="module")
def fmnist_subset():
    """2,000 Fashion-MNIST test images, their 50 principal components and
    two maps: the first two components and a t-SNE map."""
    px = read_idx(FMNIST + "/t10k-images-idx3-ubyte.gz")[:2000].reshape(2000, -1)
    x = px.astype(np.float32) / 255
    pcs = embedviz.PCA(50, random_state=0).fit_transform(x)
    return x, pcs, pcs[:, :2].copy(), embedviz.TSNE(random_state=0).fit_transform(pcs)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
@pytest.mark.parametrize("k", [5, 12])
def test_fashion_mnist_equal_scikit_learn(fmnist_subset, metric, k):
    pixels, pcs, pca_map, tsne_map = fmnist_subset
    pairs = [(pcs, tsne_map), (pixels, pca_map)]
    if metric != "manhattan":  # scikit-learn is slow at L1 on pixels
        pairs.append((pixels, tsne_map))
    for x, m in pairs:
        want = sk_trustworthiness(x, m, n_neighbors=k, metric=metric)
        assert embedviz.trustworthiness(x, m, n_neighbors=k, metric=metric) == \
            pytest.approx(want, abs=1e-6)


def test_signature_is_scikit_learns():
    ours = inspect.signature(embedviz.trustworthiness)
    theirs = inspect.signature(sk_trustworthiness)
    assert list(ours.parameters) == list(theirs.parameters)
    for name in ("n_neighbors", "metric"):
        assert ours.parameters[name].default == theirs.parameters[name].default


def test_defaults_are_the_librarys():
    assert inspect.signature(embedviz.trustworthiness).parameters["n_neighbors"].default \
        == _base.param_default("quality", quality._MAP_NEIGHBORS)
    assert inspect.signature(embedviz.label_issue_scores).parameters["n_neighbors"].default \
        == _base.param_default("quality", quality._ISSUE_NEIGHBORS)


def test_map_quality_of_a_perfect_and_a_shuffled_map(digits):
    x, y = digits
    perfect = embedviz.map_quality(x, x, labels=y)
    assert perfect["trustworthiness"] == perfect["continuity"] == 1.0
    assert perfect["knn_preservation"] == 1.0
    assert 0.95 < perfect["knn_accuracy"] < 1  # kNN classifier on the pixels
    rng = np.random.default_rng(0)
    shuffled = embedviz.map_quality(x, rng.normal(size=(len(x), 2)), labels=y)
    assert shuffled["trustworthiness"] < 0.6 and shuffled["knn_preservation"] < 0.05
    assert shuffled["knn_accuracy"] < 0.2


def test_trustworthiness_bad_input(digits):
    x, _ = digits
    with pytest.raises(ValueError, match="less than n_samples / 2"):
        embedviz.trustworthiness(x[:10], x[:10], n_neighbors=5)
    with pytest.raises(ValueError, match="rows"):
        embedviz.trustworthiness(x, x[:-1])
    bad = x[:100].copy()
    bad[3, 4] = np.nan
    with pytest.raises(embedviz.NonFiniteError):
        embedviz.trustworthiness(bad, x[:100, :2])
    with pytest.raises(ValueError, match="metric"):
        embedviz.trustworthiness(x, x, metric="precomputed")


def _clusters():
    """Three clusters of 30 points; row 7 (cluster 0) is labelled 2."""
    rng = np.random.default_rng(1)
    truth = np.repeat(np.arange(3), 30)
    feats = rng.normal(size=(90, 4)) + 8 * np.eye(3, 4)[truth]
    labels = truth.copy()
    labels[7] = 2
    probs = np.full((90, 3), 0.1)
    probs[np.arange(90), truth] = 0.8
    return labels, probs, feats


@pytest.mark.parametrize("source", ["probabilities", "features", "both"])
def test_foreign_label_ranks_first(source):
    labels, probs, feats = _clusters()
    kw = {"probabilities": probs if source != "features" else None,
          "features": feats if source != "probabilities" else None}
    s = embedviz.label_issue_scores(labels, **kw)
    assert s.shape == (90,)
    assert np.argmax(s) == 7
    assert list(embedviz.find_label_issues(labels, **kw)) == [7]
    report = embedviz.label_issue_report(labels, **kw)
    assert report["suggested_label"][7] == 0 and report["flagged"][7]


def test_scores_are_one_minus_the_given_probability():
    labels, probs, feats = _clusters()
    s = embedviz.label_issue_scores(labels, probabilities=probs)
    np.testing.assert_allclose(s, 1 - probs[np.arange(90), labels], atol=1e-6)
    logits = np.log(probs) + 5
    np.testing.assert_allclose(embedviz.label_issue_scores(labels, logits, logits=True), s,
                               atol=1e-6)
    both = embedviz.label_issue_scores(labels, probs, feats)
    r = embedviz.label_issue_report(labels, features=feats)
    # the neighbours' weighted share is what the report gives
    np.testing.assert_allclose(1 - r["neighbor_disagreement"],
                               _knn_votes(labels, feats)[np.arange(90), labels], atol=1e-6)
    # with both: 1 - the geometric mean of the model's p(given) and the
    # neighbours' add-one smoothed frequency of the given label
    count = _knn_counts(labels, feats)[np.arange(90), labels]
    want = 1 - np.sqrt(probs[np.arange(90), labels] * (count + 1) / (10 + 3))
    np.testing.assert_allclose(both, want, atol=1e-6)


def _knn_counts(labels, feats, k=10):
    """How many of the 10 nearest other rows carry each label (numpy)."""
    d = np.sqrt(((feats[:, None] - feats[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    counts = np.zeros((len(labels), 3))
    for i in range(len(labels)):
        np.add.at(counts[i], labels[np.argsort(d[i], kind="stable")[:k]], 1)
    return counts


def _knn_votes(labels, feats, k=10):
    """The 10 nearest other rows' 1/distance-weighted label shares (numpy)."""
    d = np.sqrt(((feats[:, None] - feats[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    votes = np.zeros((len(labels), 3))
    for i in range(len(labels)):
        nb = np.argsort(d[i], kind="stable")[:k]
        np.add.at(votes[i], labels[nb], 1 / d[i, nb])
    return votes / votes.sum(axis=1, keepdims=True)


def test_label_issue_bad_input():
    labels, probs, feats = _clusters()
    with pytest.raises(ValueError, match="outside"):
        embedviz.label_issue_scores(np.where(labels == 2, 3, labels), probs)
    with pytest.raises(ValueError, match="rows for"):
        embedviz.label_issue_scores(labels[:-1], probs)
    with pytest.raises(ValueError, match="sums to"):
        embedviz.label_issue_scores(labels, probs * 2)
    with pytest.raises(ValueError, match="logits"):
        embedviz.label_issue_scores(labels, np.log(probs))
    with pytest.raises(ValueError, match="below n"):
        embedviz.label_issue_scores(labels, features=feats, n_neighbors=90)
    with pytest.raises(ValueError, match="probabilities, features or both"):
        embedviz.label_issue_scores(labels)
    bad = feats.copy()
    bad[5, 1] = np.inf
    with pytest.raises(embedviz.NonFiniteError):
        embedviz.label_issue_scores(labels, features=bad)
