"""TSNE.transform: new rows of a cluster land in it, training rows near
their own places, same result twice and after pickling, the refusals."""
import pickle
import warnings

import numpy as np
import pytest

import embedviz
from embedviz import TSNE
from conftest import needs

pytestmark = needs("ev_tsne_transform")


def blobs(n, seed, d=8):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    x = rng.normal(size=(n, d)).astype(np.float32)
    x[np.arange(n), labels] += 12.0
    return x, labels


def vote(z, y, labels_y, k=10):
    """Each row of z's label by a majority of its k nearest rows of y."""
    d = ((z[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    nb = np.argsort(d, axis=1)[:, :k]
    return np.array([np.bincount(labels_y[r], minlength=3).argmax() for r in nb])


@pytest.fixture(scope="module")
def fitted():
    x, labels = blobs(450, 0)
    return x, labels, TSNE(perplexity=15, random_state=0).fit(x)


def test_new_rows_land_in_their_cluster(fitted):
    x, labels, tsne = fitted
    q, ql = blobs(90, 1)
    z = tsne.transform(q)
    assert z.shape == (90, 2) and z.dtype == np.float32
    assert (vote(z, tsne.embedding_, labels) == ql).all()
    # the fitted map is untouched
    assert np.array_equal(tsne.embedding_, tsne.fit(x).embedding_)


def test_training_rows_land_near_their_places(fitted):
    x, labels, tsne = fitted
    y = tsne.embedding_
    z = tsne.transform(x)
    d = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    fifth = np.sort(d, axis=1)[:, 4]            # squared distance to the 5th neighbour
    moved = ((z - y) ** 2).sum(-1)
    assert (moved < np.median(fifth)).mean() >= 0.95


def test_same_rows_same_result_and_after_pickling(fitted):
    x, labels, tsne = fitted
    q, _ = blobs(30, 2)
    a = tsne.transform(q)
    assert np.array_equal(a, tsne.transform(q))
    loaded = pickle.loads(pickle.dumps(tsne))
    assert np.array_equal(loaded.embedding_, tsne.embedding_)
    assert np.array_equal(loaded.transform(q), a)


def test_settings_reach_the_library(fitted):
    x, labels, tsne = fitted
    q, _ = blobs(30, 3)
    start = tsne.transform(q, n_iter=0)
    moved = tsne.transform(q)
    assert not np.array_equal(start, moved)
    # the median start: each coordinate the median of 15 neighbours' (perplexity 5)
    nb = np.argsort(((q[:, None, :] - x[None, :, :]) ** 2).sum(-1), axis=1)[:, :15]
    med = np.median(tsne.embedding_[nb], axis=1)
    assert np.allclose(start, med, atol=1e-5)
    with pytest.raises(embedviz.EmbedvizValueError, match="transform\\(perplexity=\\)|PERPLEXITY"):
        tsne.transform(q, perplexity=0.5)


def test_refusals():
    x, _ = blobs(60, 4)
    with pytest.raises(embedviz.NotFittedError, match="call fit before transform"):
        TSNE().transform(x)
    tsne = TSNE(perplexity=5, n_iter=250).fit(x)
    with pytest.raises(embedviz.EmbedvizValueError, match="x has 7 columns but the map was fitted on 8"):
        tsne.transform(x[:, :7])
    bad = x[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(embedviz.NonFiniteError):
        tsne.transform(bad)
    with pytest.raises(ValueError):
        tsne.transform(x[:0])
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1) ** 0.5
    pre = TSNE(perplexity=5, n_iter=250, metric="precomputed", init="random").fit(d)
    with pytest.raises(embedviz.NotFittedError, match="fit it on rows"):
        pre.transform(x)
    # openTSNE's rule: a perplexity too large for the map is lowered, with a warning
    small = TSNE(perplexity=2, n_iter=250).fit(x[:12])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        z = small.transform(x[12:15])
    assert z.shape == (3, 2) and "using 4" in str(w[0].message)
