"""embedviz.report() (issue 11, point 1: "the same through Python with the
same names"): the keywords become the tool's options, the tool is found and
run, its lines streamed, its failures raised with its message. First
against a fake tool that records what it was given, then against the real
one on the options it has today (--data, --model), and on issue 11's
--images once the tool has it."""
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import embedviz
from cli_util import ROOT, run, tool_path, write_digits_data

# The options the fake tool's --help lists: today's and issue 11's.
FAKE_OPTIONS = ["images", "reference-images", "model", "output", "data", "dataset", "layers", "penultimate",
                "softmax", "samples", "train-samples", "perplexity", "iterations", "seed", "threads", "resize",
                "crop", "mean", "std", "channels", "features", "labels", "scores", "quiet"]

FAKE = textwrap.dedent('''\
    #!%s
    """A stand-in for the embedviz tool: records its arguments (and the
    arrays it was given) in $FAKE_LOG, writes OUT/index.html."""
    import json, os, signal, sys, time
    import numpy as np
    args = sys.argv[1:]
    if args == ["report", "--help"]:
        print("Usage: embedviz report [options]")
        for o in %r:
            print("      --%%s X" %% o)
        sys.exit(0)
    record = {"args": args, "arrays": {}, "exists": [os.path.exists(a) for a in args]}
    for k, a in enumerate(args):
        if a.endswith(".npy") and os.path.exists(a):
            record["arrays"][args[k - 1]] = np.load(a).tolist()
    with open(os.environ["FAKE_LOG"], "w") as f:
        json.dump(record, f)
    mode = os.environ.get("FAKE_MODE", "ok")
    print("stage load 0.01 s", file=sys.stderr, flush=True)
    print("t-SNE exaggeration 50/250", end="\\r", file=sys.stderr, flush=True)
    print("t-SNE exaggeration 100/250", file=sys.stderr, flush=True)
    if mode == "usage":
        print("embedviz: --perplexity must be in [1, 1000], got 0", file=sys.stderr)
        sys.exit(2)
    if mode == "fail":
        print("embedviz: the penultimate layer 'relu3' is not in --layers: add it", file=sys.stderr)
        print("embedviz: report needs --data DIR (see embedviz report --help)", file=sys.stderr)
        sys.exit(1)
    if mode == "silent-fail":
        sys.exit(3)
    if mode == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "slow":
        def stop(*_):
            open(os.environ["FAKE_LOG"] + ".interrupted", "w").close()
            sys.exit(130)
        signal.signal(signal.SIGINT, stop)
        print("working", file=sys.stderr, flush=True)
        time.sleep(60)
    out = args[args.index("--output") + 1]
    os.makedirs(out, exist_ok=True)
    if mode != "no-page":
        open(os.path.join(out, "index.html"), "w").write("<html></html>")
    print("report: %%s/index.html" %% out, file=sys.stderr)
    ''') % (sys.executable, FAKE_OPTIONS)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    path = tmp_path / "bin" / "embedviz"
    path.parent.mkdir()
    path.write_text(FAKE)
    path.chmod(0o755)
    monkeypatch.setenv("EMBEDVIZ_CLI", str(path))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "log.json"))

    def record():
        with open(tmp_path / "log.json") as f:
            return json.load(f)
    return path, record


# ---- the keywords as the tool's options ----

def test_keywords_become_the_tools_options(fake, tmp_path):
    import pathlib
    _, record = fake
    out = tmp_path / "out"
    feats = np.arange(6, dtype=np.float32).reshape(3, 2)
    r = embedviz.report(pathlib.Path("photos/val"), "net.pt", out, reference_images=pathlib.Path("photos/train"),
                        layers=["pixels", "layer1", "fc"], seed=3, samples=np.int64(500), perplexity=12.5,
                        resize=256, crop=(224, 200), mean=np.array([0.485, 0.456, 0.406]), std=[0.5, 0.5, 0.5],
                        channels=3, features=feats, labels=np.array([0, 1, 1]), quiet=True, penultimate=None,
                        softmax=False, progress=False)
    rec = record()
    args = rec["args"]
    features_path, labels_path = args[args.index("--features") + 1], args[args.index("--labels") + 1]
    assert args == ["report", "--images", "photos/val", "--model", "net.pt", "--output", str(out),
                    "--reference-images", "photos/train", "--layers", "pixels,layer1,fc", "--seed", "3",
                    "--samples", "500", "--perplexity", "12.5", "--resize", "256", "--crop", "224,200",
                    "--mean", "0.485,0.456,0.406", "--std", "0.5,0.5,0.5", "--channels", "3",
                    "--features", features_path, "--labels", labels_path, "--quiet"]
    # arrays were .npy files while the tool ran, gone afterwards
    assert rec["arrays"] == {"--features": feats.tolist(), "--labels": [0, 1, 1]}
    assert os.path.basename(features_path) == "features.npy" and not os.path.exists(features_path)
    # what comes back
    assert isinstance(r, embedviz.Report)
    assert r.index == str(out / "index.html") == os.fspath(r) == str(r)
    assert r.folder == str(out) and r.url == (out / "index.html").as_uri()
    assert r.command[0] == str(fake[0]) and r.command[1:] == args
    assert r.log == ["stage load 0.01 s", "t-SNE exaggeration 50/250", "t-SNE exaggeration 100/250",
                     "report: %s/index.html" % out]


@pytest.mark.filterwarnings("ignore:.*might cause the trace to be incorrect")
def test_a_module_as_model_is_traced_on_the_images_shape(fake, tmp_path):
    """A module that cannot be scripted is traced on 1 x channels x crop
    (the tool's 3 x 224 x 224 by default) and given as a temporary file."""
    torch = pytest.importorskip("torch")

    class VarArgs(torch.nn.Module):     # forward(*xs): TorchScript has no varargs
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(5, 2)

        def forward(self, *xs):
            assert xs[0].shape[1:] == (1, 40, 5), "traced on the shape the options give"
            return self.fc(xs[0][:, 0, 0])
    _, record = fake
    embedviz.report(tmp_path, VarArgs(), tmp_path / "o", channels=1, crop=[40, 5], progress=False)
    rec = record()
    model = rec["args"][rec["args"].index("--model") + 1]
    assert rec["exists"][rec["args"].index(model)] and not os.path.exists(model)
    with pytest.raises(embedviz.EmbedvizValueError, match=r"^the torch.nn.Module VarArgs cannot be scripted "
                       r"\(.*\): give example_input= \(an input or its shape"):
        embedviz.report(model=VarArgs(), output=tmp_path / "o", data=tmp_path)
    with pytest.raises(ValueError, match=r"torch\.jit\.trace on an input of shape \(1, 3, 224, 224\) failed"):
        embedviz.report(tmp_path, VarArgs(), tmp_path / "o")      # the default shape, which it refuses
    embedviz.report(model=VarArgs(), output=tmp_path / "o", data=tmp_path, example_input=(2, 1, 40, 5),
                    progress=False)


def test_unknown_keyword_is_refused_before_the_tool_runs(fake, tmp_path):
    _, record = fake
    with pytest.raises(embedviz.ParameterTypeError) as e:
        embedviz.report(tmp_path, output=tmp_path / "o", perplexty=5)
    msg = str(e.value)
    assert "report() got the keyword 'perplexty', but the embedviz tool" in msg
    assert "has no --perplexty option. Did you mean perplexity?" in msg
    assert "Its options: channels, crop, data, dataset, features," in msg
    assert isinstance(e.value, TypeError) and not (tmp_path / "log.json").exists()
    with pytest.raises(TypeError, match=r"^report\(\) needs output="):
        embedviz.report(tmp_path)
    with pytest.raises(TypeError, match=r"^layers must be text, a path, a number or a list of them, got \{"):
        embedviz.report(tmp_path, output=tmp_path / "o", layers={"a": 1})
    with pytest.raises(TypeError, match="layers is an empty list"):
        embedviz.report(tmp_path, output=tmp_path / "o", layers=[])
    with pytest.raises(TypeError, match=r"^progress must be None, True, False, a stream or a callable, got 3$"):
        embedviz.report(tmp_path, output=tmp_path / "o", progress=3)
    assert not (tmp_path / "log.json").exists(), "refused before the tool ran"


def test_progress_goes_to_stderr_a_stream_or_a_callable(fake, tmp_path, capsys):
    embedviz.report(tmp_path, output=tmp_path / "o")
    err = capsys.readouterr().err
    assert err.startswith("stage load 0.01 s\nt-SNE exaggeration 50/250\nt-SNE exaggeration 100/250\n")
    stream = io.StringIO()
    embedviz.report(tmp_path, output=tmp_path / "o", progress=stream)
    assert stream.getvalue().splitlines()[:2] == ["stage load 0.01 s", "t-SNE exaggeration 50/250"]
    lines = []
    embedviz.report(tmp_path, output=tmp_path / "o", progress=lines.append)
    assert lines[-1] == "report: %s/index.html" % (tmp_path / "o") and len(lines) == 4
    embedviz.report(tmp_path, output=tmp_path / "o", progress=False)
    assert capsys.readouterr().err == ""


def test_cancelling_interrupts_the_tool(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "slow")
    seen = []

    def progress(line):
        seen.append(line)
        return line == "working"
    with pytest.raises(embedviz.Cancelled, match="cancelled"):
        embedviz.report(tmp_path, output=tmp_path / "o", progress=progress)
    assert seen[-1] == "working"
    assert (tmp_path / "log.json.interrupted").exists(), "the tool was sent SIGINT, as Ctrl-C would"

    def boom(line):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        embedviz.report(tmp_path, output=tmp_path / "o", progress=boom)


def test_failures_raise_the_tools_message_in_python_words(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "usage")
    with pytest.raises(embedviz.ReportOptionError) as e:
        embedviz.report(tmp_path, output=tmp_path / "o", perplexity=0, progress=False)
    assert str(e.value) == "perplexity must be in [1, 1000], got 0"
    assert isinstance(e.value, ValueError) and e.value.returncode == 2
    assert "embedviz: --perplexity must be in [1, 1000], got 0" in e.value.output
    monkeypatch.setenv("FAKE_MODE", "fail")
    stream = io.StringIO()
    with pytest.raises(embedviz.ReportError) as e:
        embedviz.report(tmp_path, output=tmp_path / "o", progress=stream)
    assert str(e.value) == ("the penultimate layer 'relu3' is not in layers: add it\n"
                            "report needs data=DIR (see embedviz report --help)")
    assert not isinstance(e.value, ValueError) and e.value.returncode == 1
    assert "embedviz:" not in stream.getvalue(), "the failure is said once, by the exception"
    monkeypatch.setenv("FAKE_MODE", "silent-fail")
    with pytest.raises(embedviz.ReportError, match=r"^the embedviz tool exited with status 3:\nstage load"):
        embedviz.report(tmp_path, output=tmp_path / "o", progress=False)
    monkeypatch.setenv("FAKE_MODE", "crash")
    with pytest.raises(embedviz.ReportError, match=r"^the embedviz tool was killed by SIGSEGV$"):
        embedviz.report(tmp_path, output=tmp_path / "o", progress=False)
    monkeypatch.setenv("FAKE_MODE", "no-page")
    with pytest.raises(embedviz.ReportError, match=r"finished but .*/o/index.html does not exist"):
        embedviz.report(tmp_path, output=tmp_path / "o", progress=False)


# ---- finding the tool ----

def test_tool_from_embedviz_cli(fake, tmp_path, monkeypatch):
    assert embedviz.tool_path() == str(fake[0])
    monkeypatch.setenv("EMBEDVIZ_CLI", str(fake[0].parent))           # a folder holding it
    assert embedviz.tool_path() == str(fake[0])
    monkeypatch.setenv("EMBEDVIZ_CLI", str(tmp_path / "nope"))
    with pytest.raises(embedviz.ToolNotFoundError) as e:
        embedviz.report(tmp_path, output=tmp_path / "o")
    assert str(e.value) == ("the embedviz command-line tool, which report() runs, was not found. Tried:\n"
                            "  EMBEDVIZ_CLI=%s: %s (no such file)\n"
                            "set EMBEDVIZ_CLI to the tool (or fix its value)" % (tmp_path / "nope", tmp_path / "nope"))
    assert isinstance(e.value, OSError)
    (tmp_path / "notatool").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "notatool").chmod(0o755)
    monkeypatch.setenv("EMBEDVIZ_CLI", str(tmp_path / "notatool"))
    with pytest.raises(embedviz.ToolNotFoundError, match="does not look like the embedviz tool"):
        embedviz.report(tmp_path, output=tmp_path / "o")


def lookup(env, tmp_path):
    """embedviz.tool_path() in a fresh process with this environment."""
    code = "import embedviz\ntry:\n print(embedviz.tool_path())\nexcept embedviz.ToolNotFoundError as e:\n print(e)\n"
    base = {k: v for k, v in os.environ.items() if k not in ("EMBEDVIZ_CLI", "EMBEDVIZ_LIBRARY", "LD_LIBRARY_PATH")}
    base.update({"PYTHONPATH": os.path.join(ROOT, "bindings", "python"), "PATH": str(tmp_path / "empty"), **env})
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=base, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_tool_beside_the_library_then_in_its_prefix_then_on_path(tmp_path):
    lib = os.path.realpath(os.environ.get("EMBEDVIZ_LIBRARY", os.path.join(ROOT, "build", "libembedviz.so.1")))
    # a build folder: the tool beside the library
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(lib, build / "libembedviz.so.1")
    shutil.copy(tool_path(), build / "embedviz")
    assert lookup({"EMBEDVIZ_LIBRARY": str(build / "libembedviz.so.1")}, tmp_path) == str(build / "embedviz")
    # the same library loaded by its soname (LD_LIBRARY_PATH), not a path
    assert lookup({"LD_LIBRARY_PATH": str(build)}, tmp_path) == str(build / "embedviz")
    # an install: PREFIX/lib/x86_64-linux-gnu/libembedviz.so.1 and PREFIX/bin/embedviz
    libdir = tmp_path / "prefix" / "lib" / "x86_64-linux-gnu"
    libdir.mkdir(parents=True)
    shutil.copy(lib, libdir / "libembedviz.so.1")
    (tmp_path / "prefix" / "bin").mkdir()
    shutil.copy(tool_path(), tmp_path / "prefix" / "bin" / "embedviz")
    assert lookup({"EMBEDVIZ_LIBRARY": str(libdir / "libembedviz.so.1")}, tmp_path) == \
        str(tmp_path / "prefix" / "bin" / "embedviz")
    # on the PATH
    (tmp_path / "path").mkdir()
    shutil.copy(tool_path(), tmp_path / "path" / "embedviz")
    os.remove(tmp_path / "prefix" / "bin" / "embedviz")
    assert lookup({"EMBEDVIZ_LIBRARY": str(libdir / "libembedviz.so.1"), "PATH": str(tmp_path / "path")},
                  tmp_path) == str(tmp_path / "path" / "embedviz")
    # nowhere: every place tried, and what to do
    msg = lookup({"EMBEDVIZ_LIBRARY": str(libdir / "libembedviz.so.1")}, tmp_path)
    assert msg == ("the embedviz command-line tool, which report() runs, was not found. Tried:\n"
                   "  beside the loaded libembedviz: %s (no such file)\n"
                   "  the bin folder of the loaded libembedviz's prefix: %s (no such file)\n"
                   "  the PATH: no embedviz on it\n"
                   "build it with `make` (build/embedviz) and set EMBEDVIZ_CLI to its path, or put it on the PATH"
                   % (libdir / "embedviz", tmp_path / "prefix" / "bin" / "embedviz"))


# ---- the real tool, with the options it has today ----

@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The inputs of tests/python/test_cli_report.py: digits, a random
    projection as the penultimate layer, a mostly right softmax."""
    d = tmp_path_factory.mktemp("digits")
    y = write_digits_data(d, 400)[1]
    return d, y


def page_array(page, key):
    m = re.search(key + r":new \w+Array\(\[([^\]]*)\]\)", page)
    assert m, key
    return np.array([float(v) for v in m.group(1).split(",")])


@pytest.fixture
def real_tool(monkeypatch):
    monkeypatch.setenv("EMBEDVIZ_CLI", tool_path())


OPTIONS = dict(layers=["pixels", "feat", "softmax"], penultimate="feat", samples=300, perplexity=10,
               iterations=250, seed=2)


def test_report_through_python_is_the_tools_report(real_tool, digits, tmp_path):
    """The same page as `embedviz report` run by hand with the same options:
    the maps (seeded) and the labels equal."""
    d, y = digits
    lines = []
    r = embedviz.report(data=d, output=tmp_path / "py", progress=lines.append, **OPTIONS)
    assert r.index == str(tmp_path / "py" / "index.html") and os.path.isfile(r.index)
    assert any(line.startswith("stage pixels") for line in lines)
    assert lines[-1].startswith("report: %s/index.html in " % (tmp_path / "py"))
    run("report", "--data", d, "-o", tmp_path / "cli", "-L", "pixels,feat,softmax", "--penultimate", "feat",
        "-n", 300, "--perplexity", 10, "--iterations", 250, "--seed", 2, "-q")
    py = open(r.index).read()
    cli = (tmp_path / "cli" / "index.html").read_text()
    for key in ("map", "map3d", "labels", "pred", "nn"):
        np.testing.assert_array_equal(page_array(py, key), page_array(cli, key), err_msg=key)
    assert (page_array(py, "labels") == y[:300]).all()


def test_report_errors_from_the_real_tool(real_tool, digits, tmp_path):
    d, _ = digits
    with pytest.raises(embedviz.ReportError, match=r"^the penultimate layer 'relu3' is not in layers: add it$"):
        embedviz.report(data=d, output=tmp_path / "o", layers="pixels,feat,softmax", progress=False)
    with pytest.raises(embedviz.ReportOptionError, match=r"^perplexity must be in \[1, 1000\], got 0$"):
        embedviz.report(data=d, output=tmp_path / "o", perplexity=0)
    with pytest.raises(ValueError, match=r"^report needs images=DIR and model=FILE, features=F.npy and labels=L.npy, data=DIR, or dataset=DIR and model=FILE"):
        embedviz.report(output=tmp_path / "o")
    assert not (tmp_path / "o" / "index.html").exists()


def test_report_with_a_torch_module_as_the_model(real_tool, digits, tmp_path, monkeypatch):
    """model= a torch.nn.Module: scripted to a temporary file for --model;
    the page's predictions are the module's."""
    torch = pytest.importorskip("torch")
    if not embedviz.library().ev_extract_available():
        pytest.skip("libembedviz built without libtorch")
    d, y = digits
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.add_module("conv", torch.nn.Conv2d(1, 4, 3, padding=1))
    net.add_module("relu", torch.nn.ReLU())
    net.add_module("flatten", torch.nn.Flatten())
    net.add_module("feat", torch.nn.Linear(256, 16))
    net.add_module("act", torch.nn.ReLU())
    net.add_module("fc", torch.nn.Linear(16, 10))
    net.eval()
    import tempfile
    private = tmp_path / "tmp"          # other programs' files in /tmp must not count
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    r = embedviz.report(data=d, model=net, output=tmp_path / "m", progress=False, **OPTIONS)
    page = open(r.index).read()
    x = np.load(d / "test_images.npy")[:300].reshape(-1, 1, 8, 8)
    with torch.no_grad():
        pred = net(torch.from_numpy(x)).argmax(1).numpy()
    assert (page_array(page, "pred") == pred).all()
    model_arg = r.command[r.command.index("--model") + 1]
    assert os.path.dirname(model_arg) == str(private)
    assert os.path.basename(model_arg).startswith("embedviz-model-") and not os.path.exists(model_arg)
    assert os.listdir(private) == [], "the temporary model and arrays are removed"


# ---- issue 11's own-data options (report11 adds them to the tool) ----

def tool_has(option):
    return option in embedviz._report.tool_options(tool_path())


@pytest.mark.skipif(not tool_has("images"),
                    reason="issue11-images: this embedviz tool has no --images yet (issue 11's own-data options)")
def test_report_on_a_folder_of_colour_images(real_tool, tmp_path):
    """A folder of colour images in 12 class folders (10 each, PNG and JPEG
    of mixed sizes) and a torch.nn.Module with 12 classes, the reference set
    split from the folder: the page names every class."""
    torch = pytest.importorskip("torch")
    from PIL import Image
    if not embedviz.library().ev_extract_available():
        pytest.skip("libembedviz built without libtorch")
    rng = np.random.default_rng(0)
    classes = ["class_%02d" % k for k in range(12)]
    for c, name in enumerate(classes):
        os.makedirs(tmp_path / "photos" / name)
        for k in range(10):
            h, w = rng.integers(40, 80, 2)
            px = np.clip(rng.normal(20 * c, 40, (h, w, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(px).save(tmp_path / "photos" / name / ("%d.%s" % (k, "png" if k % 2 else "jpg")))
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.add_module("conv", torch.nn.Conv2d(3, 8, 3, stride=2, padding=1))
    net.add_module("relu", torch.nn.ReLU())
    net.add_module("pool", torch.nn.AdaptiveAvgPool2d(1))
    net.add_module("flatten", torch.nn.Flatten())
    net.add_module("fc", torch.nn.Linear(8, 12))
    net.eval()
    r = embedviz.report(images=tmp_path / "photos", model=net, output=tmp_path / "r", resize=64, crop=56,
                        perplexity=5, iterations=250, progress=False)
    page = open(r.index).read()
    for name in classes:
        assert name in page, name


@pytest.mark.skipif(not tool_has("features"),
                    reason="issue11-features: this embedviz tool has no --features yet (issue 11's features "
                           "without a model)")
def test_report_from_numpy_features_labels_and_scores(real_tool, digits, tmp_path):
    """Features computed elsewhere, as numpy arrays: saved to .npy files for
    --features/--labels/--scores; every row's label is on the page."""
    d, y = digits
    feat = np.load(d / "test_feat.npy")
    probs = np.load(d / "test_softmax.npy")
    labels = np.load(d / "test_labels.npy")
    r = embedviz.report(features=feat, labels=labels, scores=probs, output=tmp_path / "f", perplexity=10,
                        iterations=250, progress=False)
    page = open(r.index).read()
    shown = page_array(page, "labels")
    assert len(shown) >= 20 and set(shown.astype(int)) <= set(labels.tolist())
    assert np.bincount(shown.astype(int), minlength=10).min() > 0, "every class of the digits is shown"
