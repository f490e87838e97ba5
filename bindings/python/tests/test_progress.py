"""Progress callbacks, cancelling, exceptions raised in callbacks, Ctrl-C,
the text bar, and threads running while the library works."""
import io
import os
import signal
import threading

import numpy as np
import pytest

import embedviz
from embedviz import NearestNeighbors, PCA
from conftest import needs

pytestmark = needs("ev_knn_create")


@pytest.fixture(scope="module")
def data():
    """Random rows of Fashion-MNIST's shape: none of these tests needs the
    real images, so none waits on the data set being installed."""
    x = np.random.default_rng(7).random((4000, 784), dtype=np.float32)
    return x[:3000], x[3000:]


def test_callback_sees_the_stages(data):
    x, q = data
    seen = []
    nn = NearestNeighbors(n_neighbors=3, progress=lambda *a: seen.append(a)).fit(x)
    nn.kneighbors(q)
    assert seen and all(s[0] == "knn" and s[2] == len(q) for s in seen)
    steps = [s[1] for s in seen]
    assert steps == sorted(steps) and steps[-1] == len(q)
    pca_seen = []
    PCA(5, progress=lambda *a: pca_seen.append(a[0])).fit(x)
    assert set(pca_seen) == {"pca"}


def test_a_true_return_cancels_and_the_object_stays_usable(data):
    x, q = data
    nn = NearestNeighbors(n_neighbors=3, progress=lambda *a: True).fit(x)
    with pytest.raises(embedviz.Cancelled, match="cancelled"):
        nn.kneighbors(q)
    nn.progress = None
    np.testing.assert_array_equal(nn.kneighbors(q[:5])[1],
                                  NearestNeighbors(n_neighbors=3).fit(x).kneighbors(q[:5])[1])
    pca = PCA(3, progress=lambda *a: True)
    with pytest.raises(embedviz.Cancelled):
        pca.fit(x)
    pca.progress = None
    assert pca.fit(x).n_components_ == 3


def test_an_exception_in_the_callback_is_raised_after_the_call(data):
    x, q = data
    calls = []

    def boom(*args):
        calls.append(args)
        raise ZeroDivisionError("from the callback")
    nn = NearestNeighbors(n_neighbors=3, progress=boom).fit(x)
    with pytest.raises(ZeroDivisionError, match="from the callback"):
        nn.kneighbors(q)
    assert len(calls) == 1                     # cancelled at the first report
    nn.set_params(progress=None)
    assert nn.kneighbors(q[:2])[1].shape == (2, 3)


def test_ctrl_c_cancels_cleanly(data):
    x, q = data
    before = signal.getsignal(signal.SIGINT)
    reports = []

    def press_ctrl_c(stage, step, total, value):
        reports.append(step)
        if len(reports) == 1:
            os.kill(os.getpid(), signal.SIGINT)
    nn = NearestNeighbors(n_neighbors=3, progress=press_ctrl_c).fit(x)
    with pytest.raises(KeyboardInterrupt):
        nn.kneighbors(q)
    assert reports[-1] < len(q)                 # stopped before the end
    assert signal.getsignal(signal.SIGINT) is before
    nn.progress = None
    assert nn.kneighbors(q[:3])[1].shape == (3, 3)


def test_ctrl_c_without_a_callback_from_another_thread(data):
    """No progress asked: on the main thread a callback is still installed
    so that a SIGINT (here sent by a timer thread) stops the call."""
    x, q = data
    nn = NearestNeighbors(n_neighbors=3, n_jobs=1).fit(np.tile(x, (12, 1)))
    many = np.tile(q, (12, 1))
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            nn.kneighbors(many)                 # ~1e12 flops if not stopped
    finally:
        timer.cancel()
    assert nn.kneighbors(q[:2])[1].shape == (2, 3)


def test_bar_on_a_stream(data):
    x, q = data
    out = io.StringIO()
    bar = embedviz.ProgressBar(stream=out)
    NearestNeighbors(n_neighbors=3, progress=bar).fit(x).kneighbors(q)
    text = out.getvalue()
    assert "neighbour search" in text and "%d/%d" % (len(q), len(q)) in text
    assert text.count("\n") == 1                # not a terminal: one line per stage
    with pytest.raises(ValueError, match="progress"):
        NearestNeighbors(progress="yes").fit(x).kneighbors(q)


def test_bar_on_a_terminal_redraws_one_line():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    out = Tty()
    bar = embedviz.ProgressBar(stream=out, min_interval=0)
    for step in range(1, 11):
        bar("optimize", step, 10, 1.5)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 10 and text.endswith("\n") and "KL 1.5000" in text
    assert "10/10" in text and "#" * 24 in text


def test_the_gil_is_released_during_calls(data):
    """While a worker thread is inside a long library call, the main thread
    runs Python. (With the GIL held by the call, the main thread could not
    run until the call returned, so `done` would already be set.)"""
    x, _ = data
    big = np.tile(x, (3, 1))
    nn = NearestNeighbors(n_neighbors=3, n_jobs=1).fit(big)
    entering = threading.Event()
    done = threading.Event()

    def worker():
        entering.set()
        nn.kneighbors(big)                      # ~1e11 flops of C, no callback
        done.set()
    t = threading.Thread(target=worker)
    t.start()
    entering.wait()
    total = sum(i * i for i in range(20000))    # Python work meanwhile
    was_done = done.is_set()
    t.join()
    assert total > 0 and not was_done
