"""Every library status becomes the documented exception, carrying the
library's message."""
import errno
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import embedviz
from embedviz import _errors
from conftest import needs

CASES = [
    (_errors.ERR_ARGUMENT, embedviz.EmbedvizValueError, ValueError),
    (_errors.ERR_NONFINITE, embedviz.NonFiniteError, ValueError),
    (_errors.ERR_OVERFLOW, embedviz.SizeOverflowError, ValueError),
    (_errors.ERR_NOMEM, embedviz.EmbedvizMemoryError, MemoryError),
    (_errors.ERR_STATE, embedviz.NotFittedError, ValueError),
    (_errors.ERR_CANCELLED, embedviz.Cancelled, embedviz.EmbedvizError),
    (_errors.ERR_LIMIT, embedviz.MemoryLimitError, MemoryError),
    (_errors.ERR_IO, embedviz.EmbedvizOSError, OSError),
    (_errors.ERR_NOT_FOUND, embedviz.EmbedvizFileNotFoundError, FileNotFoundError),
    (_errors.ERR_FORMAT, embedviz.FormatError, ValueError),
    (_errors.ERR_UNSUPPORTED, embedviz.UnsupportedError, embedviz.EmbedvizError),
    (_errors.ERR_BACKEND, embedviz.BackendError, embedviz.EmbedvizError),
    (_errors.ERR_INTERNAL, embedviz.InternalError, embedviz.EmbedvizError),
]


@pytest.mark.parametrize("status, cls, builtin", CASES)
def test_each_status_has_its_class(status, cls, builtin):
    name = embedviz.library().ev_status_name(status).decode()
    e = _errors.make_error(status, "what was wrong: what to do", name)
    assert type(e) is cls
    assert isinstance(e, embedviz.EmbedvizError) and isinstance(e, builtin)
    assert str(e) == "what was wrong: what to do"
    assert e.status == status and e.status_name == name
    assert cls.__module__ == "embedviz"


def test_os_errors_keep_errno():
    e = _errors.make_error(_errors.ERR_NOT_FOUND, "no file x.npy", "EV_ERR_NOT_FOUND")
    assert e.errno == errno.ENOENT and str(e) == "no file x.npy"
    assert _errors.make_error(_errors.ERR_IO, "m", "EV_ERR_IO").errno == errno.EIO


def test_unknown_status_is_the_base_class():
    e = _errors.make_error(99, "", None)
    assert type(e) is embedviz.EmbedvizError and "99" in str(e)


def test_a_real_failure_carries_the_library_message():
    with pytest.raises(embedviz.NonFiniteError) as e:
        embedviz.ambiguity(np.array([[0.1, 0.9], [np.nan, 0.5]]))
    assert "[1][0] is NaN" in str(e.value) and e.value.status_name == "EV_ERR_NONFINITE"


def test_errors_are_per_thread():
    import threading
    seen = {}

    def worker():
        try:
            embedviz.ambiguity(np.ones((2, 1)))
        except ValueError as e:
            seen["worker"] = str(e)
    try:
        embedviz.ambiguity(np.array([[np.inf, 1.0]]))
    except ValueError as e:
        seen["main"] = str(e)
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert "column" in seen["worker"] or "class" in seen["worker"]
    assert seen["main"] != seen["worker"]


@needs("ev_pca_create")
def test_out_of_memory_is_memory_error():
    """With the address space capped, a PCA whose covariance does not fit
    fails with EV_ERR_NOMEM -> MemoryError, and the process goes on."""
    code = """
        import resource, numpy as np, embedviz
        x = np.ones((3, 60000), np.float32)
        x[1, 0] = 2
        embedviz.PCA(1, svd_solver="covariance_eigh", n_jobs=1).fit(x[:, :8])  # warm up
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + (2 << 30), hard))
        try:
            embedviz.PCA(1, svd_solver="covariance_eigh", n_jobs=1).fit(x)   # 60000^2 floats
        except embedviz.EmbedvizMemoryError as e:
            assert isinstance(e, MemoryError)
            print("MemoryError:", e)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        print(embedviz.PCA(1).fit(x[:, :8]).n_components_)
        """
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("MemoryError:") and r.stdout.strip().endswith("1")


# ---- messages in Python's words (issue 15, item 5) -----------------------------

@needs("ev_tsne_create")
@pytest.mark.parametrize("kwargs, name", [
    ({"perplexity": 0}, "perplexity"),
    ({"angle": 5}, "angle"),
    ({"n_iter": -1}, "n_iter"),
    ({"early_exaggeration": -1}, "early_exaggeration"),
    ({"min_grad_norm": -1}, "min_grad_norm"),
    ({"method": "fft", "n_interpolation_points": 9}, "n_interpolation_points"),
    ({"method": "fft", "min_num_intervals": 0}, "min_num_intervals"),
])
def test_tsne_messages_name_the_python_parameter(kwargs, name):
    x = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    with pytest.raises(embedviz.EmbedvizValueError) as e:
        embedviz.TSNE(**kwargs).fit(x)
    message = str(e.value)
    assert message.startswith(name + " "), message
    assert "EV_" not in message and "ev_" not in message, message


@needs("ev_tsne_create")
def test_tsne_init_of_the_wrong_shape_names_init():
    x = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"init must be an n_samples x n_components array, here 60 x 2, got 3 x 2"):
        embedviz.TSNE(init=np.zeros((3, 2), np.float32)).fit(x)


def test_c_names_become_python_names():
    e = _errors.make_error(_errors.ERR_ARGUMENT,
                           "EV_TSNE_THETA must be in [0, 1]; see ev_tsne_set_init and EV_PCA_SOLVER", None)
    assert str(e) == "angle must be in [0, 1]; see the init array and svd_solver"
    # names the table does not know stay as they are
    assert str(_errors.make_error(_errors.ERR_ARGUMENT, "an ev_array pointer", None)) == "an ev_array pointer"


@needs("ev_tsne_create")
@pytest.mark.parametrize("value", ["x", None, [30], {"a": 1}])
def test_a_parameter_of_the_wrong_type_says_which_and_what(value):
    x = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    with pytest.raises(embedviz.ParameterTypeError) as e:
        embedviz.TSNE(perplexity=value).fit(x)
    assert isinstance(e.value, TypeError) and isinstance(e.value, ValueError)
    assert str(e.value) == "perplexity must be a number, got %r (%s)" % (value, type(value).__name__)


def test_pca_parameter_of_the_wrong_type(digits):
    x, _ = digits
    with pytest.raises(TypeError, match=r"^n_oversamples must be a number, got 'ten' \(str\)$"):
        embedviz.PCA(2, n_oversamples="ten").fit(x)


# ---- answers that match scikit-learn or refuse --------------------------------

def test_pca_true_keeps_one_component_as_scikit_learn(digits):
    x, _ = digits
    ours = embedviz.PCA(True).fit(x)
    assert ours.n_components_ == 1 and ours.components_.shape == (1, 64)
    from sklearn.decomposition import PCA as SkPCA
    assert SkPCA(True).fit(x).components_.shape == ours.components_.shape
    with pytest.raises(ValueError, match="n_components=False would keep no component"):
        embedviz.PCA(False).fit(x)


@pytest.mark.parametrize("y_true, where, shown", [
    ([0, 1, np.nan, 1], "y_true[2]", "nan"),
    ([0, 1, 1.5, 1], "y_true[2]", "1.5"),
    ([0, np.inf, 1, 1], "y_true[1]", "inf"),
])
def test_confusion_matrix_refuses_labels_that_are_not_classes(y_true, where, shown):
    with pytest.raises(embedviz.EmbedvizValueError) as e:
        embedviz.confusion_matrix(np.array(y_true), np.array([0, 1, 1, 1]))
    assert str(e.value).startswith("%s is %s, not a class label" % (where, shown))
    with pytest.raises(ValueError, match=r"y_pred\[0\] is nan"):
        embedviz.confusion_matrix(np.array([0, 1]), np.array([np.nan, 1.0]))


def test_confusion_matrix_of_whole_float_labels_still_counts():
    c = embedviz.confusion_matrix(np.array([0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0]))
    np.testing.assert_array_equal(c, [[1, 0], [1, 1]])
