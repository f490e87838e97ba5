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
