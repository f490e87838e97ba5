"""ambiguity, most_ambiguous, scores, softmax and confusion_matrix against
numpy and scikit-learn."""
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion

import embedviz
from embedviz import ambiguity, confusion_matrix, most_ambiguous, scores, softmax


@pytest.fixture
def probs():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(500, 10)).astype(np.float32) * 3
    e = np.exp(logits - logits.max(1, keepdims=True))
    return logits, (e / e.sum(1, keepdims=True)).astype(np.float32)


def test_ambiguity_is_second_over_first(probs):
    _, p = probs
    top = np.sort(p, axis=1)
    np.testing.assert_allclose(ambiguity(p), top[:, -2] / top[:, -1], rtol=1e-5)
    assert ambiguity(np.array([[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]])).tolist() == [1.0, 0.0, 0.25]


def test_scores_and_logits(probs):
    logits, p = probs
    s = scores(p)
    top = np.sort(p.astype(np.float64), axis=1)
    np.testing.assert_allclose(s.margin, top[:, -1] - top[:, -2], atol=1e-6)
    np.testing.assert_allclose(s.entropy, -(p * np.log(p)).sum(1), rtol=1e-4)
    np.testing.assert_array_equal(s.top1, p.argmax(1))
    masked = p.copy()
    masked[np.arange(len(p)), p.argmax(1)] = -1
    np.testing.assert_array_equal(s.top2, masked.argmax(1))
    np.testing.assert_allclose(scores(logits, logits=True).ambiguity, s.ambiguity, rtol=1e-4)
    np.testing.assert_allclose(softmax(logits), p, rtol=1e-5, atol=1e-7)
    # Rows that are not normalised are divided by their sum.
    np.testing.assert_allclose(ambiguity(p * 7), s.ambiguity, rtol=1e-5)


def test_most_ambiguous(probs):
    _, p = probs
    a = ambiguity(p)
    idx = most_ambiguous(p, 20)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, np.argsort(-a, kind="stable")[:20])
    np.testing.assert_array_equal(most_ambiguous(a, 20), idx)        # from 1-D values
    ties = np.array([0.5, 0.9, 0.5, 0.9], np.float32)
    assert most_ambiguous(ties, 4).tolist() == [1, 3, 0, 2]


def test_confusion_matrix_matches_sklearn():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 10, 5000)
    p = np.where(rng.random(5000) < 0.7, t, rng.integers(0, 10, 5000))
    np.testing.assert_array_equal(confusion_matrix(t, p), sk_confusion(t, p))
    for norm in ("true", "pred", "all"):
        np.testing.assert_allclose(confusion_matrix(t, p, normalize=norm),
                                   sk_confusion(t, p, normalize=norm))
    # String labels, an explicit label order, labels left out.
    names = np.array(["cat", "dog", "emu"])
    ts, ps = names[t % 3], names[p % 3]
    np.testing.assert_array_equal(confusion_matrix(ts, ps), sk_confusion(ts, ps))
    np.testing.assert_array_equal(confusion_matrix(ts, ps, labels=["emu", "cat"]),
                                  sk_confusion(ts, ps, labels=["emu", "cat"]))
    # A label only predicted, never true, still gets its row.
    np.testing.assert_array_equal(confusion_matrix([0, 1], [0, 5]), sk_confusion([0, 1], [0, 5]))


def test_per_class_accuracy():
    acc = embedviz.per_class_accuracy([0, 0, 1, 1, 1, 3], [0, 1, 1, 1, 0, 3])
    np.testing.assert_allclose(acc[[0, 1, 3]], [0.5, 2 / 3, 1.0], rtol=1e-6)
    assert np.isnan(acc[2])


def test_errors():
    with pytest.raises(embedviz.EmbedvizValueError, match="2"):
        ambiguity(np.ones((4, 1)))
    with pytest.raises(ValueError):
        ambiguity(np.array([[0.5, -0.1]]))
    with pytest.raises(ValueError):
        ambiguity(np.zeros((2, 3)))                 # rows summing to 0
    with pytest.raises(embedviz.NonFiniteError):
        ambiguity(np.array([[np.nan, 1.0]]))
    with pytest.raises(embedviz.NonFiniteError):
        softmax(np.array([[np.inf, 1.0]]))
    with pytest.raises(ValueError):
        most_ambiguous(np.array([0.1, 0.2], np.float32), 3)      # k > n
    with pytest.raises(ValueError, match="k must"):
        most_ambiguous(np.array([0.1, 0.2], np.float32), -1)
    with pytest.raises(embedviz.NonFiniteError):
        most_ambiguous(np.array([0.1, np.nan], np.float32), 1)
    with pytest.raises(ValueError, match="lengths"):
        confusion_matrix([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        confusion_matrix([], [])
    with pytest.raises(ValueError, match="normalize"):
        confusion_matrix([1], [1], normalize="rows")
    with pytest.raises(ValueError, match="sample_weight"):
        confusion_matrix([1], [1], sample_weight=[2.0])
    with pytest.raises(ValueError):
        embedviz.per_class_accuracy([0, 5], [0, 1], n_classes=3)  # label outside
