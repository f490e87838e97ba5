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


@pytest.fixture(autouse=True)
def sigint_as_python_sets_it():
    """Python's own SIGINT handler, as in an interactive session. A process
    started in the background by a non-interactive shell (nohup, `cmd &`)
    inherits SIGINT ignored, and the bindings then rightly leave it alone:
    the Ctrl-C tests would see nothing."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


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


class _Clock:
    """A stand-in for time.monotonic in the bar: advances only when told,
    so the throttling is tested without timing anything."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_bar_on_a_terminal_is_throttled(monkeypatch):
    """100 reports 0.01 s apart with min_interval 0.1: the first, one about
    every tenth, and the last are drawn."""
    from embedviz import _progress
    clock = _Clock()
    monkeypatch.setattr(_progress, "time", clock)
    out = _Tty()
    bar = embedviz.ProgressBar(stream=out, min_interval=0.1)
    for step in range(1, 101):
        bar("knn", step, 100, float("nan"))
        clock.now += 0.01
    bar.close()
    draws = out.getvalue().split("\r")[1:]
    assert 10 <= len(draws) <= 12, len(draws)
    assert draws[0].startswith("neighbour search") and "1/100" in draws[0]
    assert "100/100" in draws[-1] and draws[-1].endswith("\n")
    # with no throttling every report is drawn
    out = _Tty()
    bar = embedviz.ProgressBar(stream=out, min_interval=0)
    for step in range(1, 101):
        bar("knn", step, 100, float("nan"))
    assert out.getvalue().count("\r") == 100


def test_bar_in_a_log_writes_one_line_per_stage():
    out = io.StringIO()
    bar = embedviz.ProgressBar(stream=out, min_interval=0)
    for stage, total in (("affinities", 7), ("exaggeration", 5), ("optimize", 9)):
        for step in range(1, total + 1):
            bar(stage, step, total, 1.25)
    bar.close()
    lines = out.getvalue().split("\n")
    assert lines[-1] == "" and len(lines) == 4, lines
    assert lines[0].startswith("t-SNE affinities") and "7/7" in lines[0]
    assert lines[1].startswith("t-SNE exaggeration") and "5/5" in lines[1] and "KL 1.2500" in lines[1]
    assert lines[2].startswith("t-SNE optimisation") and "9/9" in lines[2]


@pytest.mark.parametrize("tty", [True, False])
def test_bar_ends_its_line_after_a_cancel(data, tty):
    """A bar that cancels at its first report: the call raises Cancelled and
    the bar's line is ended, so the next output starts on a new line."""
    x, q = data

    class CancellingBar(embedviz.ProgressBar):
        def __call__(self, *args):
            super().__call__(*args)
            return True
    out = _Tty() if tty else io.StringIO()
    nn = NearestNeighbors(n_neighbors=3, n_jobs=1, progress=CancellingBar(stream=out, min_interval=0)).fit(x)
    with pytest.raises(embedviz.Cancelled):
        nn.kneighbors(q)
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1, repr(text)
    assert "neighbour search" in text and "%d/%d" % (len(q), len(q)) not in text


def test_progress_true_and_verbose_draw_on_stderr(data, capsys):
    x, q = data
    NearestNeighbors(n_neighbors=3, progress=True).fit(x).kneighbors(q)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("neighbour search") and "%d/%d" % (len(q), len(q)) in err
    NearestNeighbors(n_neighbors=3).fit(x).kneighbors(q)   # no progress asked: nothing
    assert capsys.readouterr().err == ""
    from embedviz import TSNE
    TSNE(perplexity=5, n_iter=300, verbose=1, method="exact", init="random").fit(x[:60])
    lines = capsys.readouterr().err.split("\n")
    assert lines[-1] == ""
    titles = [l.split("|")[0].strip() for l in lines[:-1]]
    # the exact method computes its distance rows directly: no neighbour search
    assert titles == ["t-SNE affinities", "t-SNE exaggeration", "t-SNE optimisation"], titles
    TSNE(perplexity=5, n_iter=300, verbose=0, method="exact", init="random").fit(x[:60])
    assert capsys.readouterr().err == ""


def test_bar_rate_counts_from_when_the_stage_began(monkeypatch):
    # Issue 19: the rate was step / (time since the stage's first report),
    # and that first report already carries steps (up to 70,482,097/s).
    # A fake clock: the call starts at t=0, the stage reports 50/100 at t=2
    # and 100/100 at t=4: 25 steps a second.
    from embedviz import _progress
    clock = [0.0]
    monkeypatch.setattr(_progress.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    bar = _progress.ProgressBar(out)
    bar.start()
    clock[0] = 2.0
    bar("knn", 50, 100, float("nan"))
    clock[0] = 4.0
    bar("knn", 100, 100, float("nan"))
    # The next stage starts when the last one reported (t=4): 30 steps in 3 s.
    clock[0] = 7.0
    bar("affinities", 30, 30, float("nan"))
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert "100/100 [00:04<00:00, 25.0/s]" in lines[0], lines[0]
    assert "30/30 [00:03<00:00, 10.0/s]" in lines[1], lines[1]


def test_tsne_bar_counts_each_phase_to_its_end(data):
    # The exaggeration bar stopped at 250/1000: it now counts to 250, the
    # optimisation out of the remaining iterations.
    from embedviz import TSNE
    x, _ = data
    out = io.StringIO()
    TSNE(perplexity=5, n_iter=300, method="exact", init="random", n_jobs=1,
         progress=embedviz.ProgressBar(out)).fit(x[:60])
    lines = {l.split("|")[0].strip(): l for l in out.getvalue().splitlines()}
    assert "| 250/250 [" in lines["t-SNE exaggeration"], lines
    assert "| 50/50 [" in lines["t-SNE optimisation"], lines
    # A callable still gets the library's own counts (out of n_iter).
    seen = []
    TSNE(perplexity=5, n_iter=300, method="exact", init="random", n_jobs=1,
         progress=lambda *a: seen.append(a[:3])).fit(x[:60])
    assert ("exaggeration", 250, 300) in seen and ("optimize", 300, 300) in seen


def test_tsne_verbose_prints_scikit_learn_style_lines(data, capsys):
    from embedviz import TSNE
    x, _ = data
    t = TSNE(perplexity=5, n_iter=300, method="barnes_hut", init="random", n_jobs=1,
             verbose=2).fit(x[:80])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[t-SNE] Computing 16 nearest neighbors...", out
    assert out[1].startswith("[t-SNE] Computed neighbors for 80 samples in "), out
    assert out[2] == "[t-SNE] Computed conditional probabilities for sample 80 / 80", out
    iters = [l for l in out if l.startswith("[t-SNE] Iteration ")]
    assert [int(l.split()[2].rstrip(":")) for l in iters] == [50, 100, 150, 200, 250, 300], iters
    assert any(l.startswith("[t-SNE] KL divergence after 250 iterations with early "
                            "exaggeration: ") for l in out), out
    assert out[-1] == "[t-SNE] KL divergence after 300 iterations: %f" % t.kl_divergence_
