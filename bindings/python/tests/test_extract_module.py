"""FeatureExtractor meets people where they are (issue 11, point 7): a
torch.nn.Module instead of a TorchScript file (scripted, else traced), and
extract() returning the labels, class names and files of what it ran on,
checked against torchvision's ImageFolder and torch itself."""
import gc
import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import embedviz
from conftest import needs

torch = pytest.importorskip("torch")
# Tracing the untraceable warns on purpose; the errors are what is checked.
pytestmark = [needs("ev_model_load"), pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")]


@pytest.fixture(scope="module", autouse=True)
def backend():
    if not embedviz.library().ev_extract_available():
        pytest.skip("libembedviz built without libtorch")


def small_cnn(seed=0, classes=5):
    """A scriptable CNN on 3-channel images of any size (adaptive pool)."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential()
    net.add_module("conv", torch.nn.Conv2d(3, 4, 3, padding=1))
    net.add_module("relu", torch.nn.ReLU())
    net.add_module("pool", torch.nn.AdaptiveAvgPool2d(2))
    net.add_module("flatten", torch.nn.Flatten())
    net.add_module("fc", torch.nn.Linear(16, classes))
    return net.eval()


class VarArgs(torch.nn.Module):
    """forward(*xs) cannot be scripted (TorchScript has no varargs) but
    traces; the dropout is there to show tracing runs in eval mode."""

    def __init__(self, body):
        super().__init__()
        self.body = body
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, *xs):
        return self.drop(self.body(xs[0]))


class Untraceable(VarArgs):
    """Neither scriptable (varargs) nor traceable (a str in the output)."""

    def forward(self, *xs):
        return {"out": self.body(xs[0]), "name": "x"}


def batch(n=6, side=20, seed=0):
    return np.random.default_rng(seed).random((n, 3, side, side)).astype(np.float32)


def scripted_file(net, folder, name="net.pt"):
    path = str(folder / name)
    torch.jit.save(torch.jit.script(net), path)
    return path


# ---- a Module instead of a file ----

def test_module_is_scripted_and_gives_the_files_features(tmp_path):
    net = small_cnn()
    x = batch()
    fx = embedviz.FeatureExtractor(net)
    assert fx.conversion == "scripted"
    assert fx.layers == ["conv", "relu", "pool", "flatten", "fc", "output", "softmax"]
    got = fx.activations(x, ["conv", "fc", "softmax"])
    want = embedviz.FeatureExtractor(scripted_file(net, tmp_path)).activations(x, ["conv", "fc", "softmax"])
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])
    with torch.no_grad():   # and they are the module's own outputs
        np.testing.assert_allclose(got["fc"], net(torch.from_numpy(x)).numpy(), atol=1e-5)


def test_script_module_is_saved_as_it_is(tmp_path):
    net = torch.jit.script(small_cnn(seed=4))
    fx = embedviz.FeatureExtractor(net)
    assert fx.conversion == "saved"
    x = batch(3)
    with torch.no_grad():
        np.testing.assert_allclose(fx.activations(x, "output"), net(torch.from_numpy(x)).numpy(), atol=1e-5)


def test_unscriptable_module_is_traced_on_the_datas_shape(tmp_path):
    body = small_cnn(seed=1)
    net = VarArgs(body).train()
    x = batch(5, side=24)
    fx = embedviz.FeatureExtractor(net)
    assert fx.conversion is None and fx.model_path is None      # waits for data
    with pytest.raises(ValueError, match=r"no layer list yet: torch\.jit\.script failed .*example_input="):
        fx.layers
    got = fx.activations(x, ["body.conv", "output"])
    assert fx.conversion == "traced" and os.path.isfile(fx.model_path)
    assert "body.fc" in fx.layers
    assert net.training, "the caller's module is left in training mode"
    with torch.no_grad():
        want = body(torch.from_numpy(x)).numpy()                # no dropout: traced in eval mode
        conv = body.conv(torch.from_numpy(x)).numpy().reshape(5, -1)
    np.testing.assert_allclose(got["output"], want, atol=1e-5)
    np.testing.assert_allclose(got["body.conv"], conv, atol=1e-5)
    # the traced file loaded as any file gives the same rows
    again = embedviz.FeatureExtractor(fx.model_path).activations(x, ["body.conv", "output"])
    for name in got:
        np.testing.assert_array_equal(got[name], again[name])


def test_example_input_traces_at_once():
    net = VarArgs(small_cnn(seed=2))
    fx = embedviz.FeatureExtractor(net, example_input=(1, 3, 16, 16))
    assert fx.conversion == "traced" and fx.layers[:2] == ["body", "body.conv"]
    x = batch(2, side=16)
    with torch.no_grad():
        np.testing.assert_allclose(fx.activations(x, "output"), net.body(torch.from_numpy(x)).numpy(),
                                   atol=1e-5)
    fx2 = embedviz.FeatureExtractor(net, example_input=torch.zeros(1, 3, 16, 16))
    assert fx2.conversion == "traced"


def test_neither_script_nor_trace_names_both_failures():
    net = Untraceable(small_cnn())
    with pytest.raises(embedviz.EmbedvizValueError) as e:
        embedviz.FeatureExtractor(net, example_input=(1, 3, 20, 20))
    msg = str(e.value)
    assert msg.startswith("could not make the torch.nn.Module Untraceable TorchScript: torch.jit.script failed (")
    assert "torch.jit.trace on an input of shape (1, 3, 20, 20) failed (RuntimeError: " in msg
    assert msg.endswith("or save the model yourself with torch.jit.save and pass the file")
    fx = embedviz.FeatureExtractor(net)                      # traced on the data: the same error then
    with pytest.raises(ValueError, match=r"torch\.jit\.trace on an input of shape \(1, 3, 8, 8\) failed"):
        fx.activations(batch(2, side=8))
    with pytest.raises(ValueError, match=r"example_input must be a shape of positive sizes"):
        embedviz.FeatureExtractor(net, example_input=(1, 0, 2, 2))


def test_model_of_another_type_is_refused():
    with pytest.raises(embedviz.ParameterTypeError,
                       match=r"^model must be the path of a TorchScript file or a torch.nn.Module, got 3 \(int\)$"):
        embedviz.FeatureExtractor(3)
    with pytest.raises(TypeError):
        embedviz.FeatureExtractor(torch.zeros(3))


def test_temporary_file_is_removed_on_close_and_on_collection():
    fx = embedviz.FeatureExtractor(small_cnn())
    path = fx.model_path
    assert os.path.isfile(path) and os.path.basename(path).startswith("embedviz-model-")
    fx.close()
    fx.close()
    assert not os.path.exists(path)
    with pytest.raises(embedviz.NotFittedError, match="closed"):
        fx.activations(batch(1))
    with embedviz.FeatureExtractor(small_cnn()) as fx:
        path = fx.model_path
    assert not os.path.exists(path)
    fx = embedviz.FeatureExtractor(small_cnn())
    path = fx.model_path
    del fx
    gc.collect()
    assert not os.path.exists(path)


def test_model_path_keyword_still_works(tmp_path):
    path = scripted_file(small_cnn(), tmp_path)
    fx = embedviz.FeatureExtractor(model_path=path)
    assert fx.model_path == path and fx.conversion is None


def test_import_and_files_do_not_import_torch(tmp_path):
    path = scripted_file(small_cnn(), tmp_path)
    code = ("import sys, numpy as np, embedviz\n"
            "fx = embedviz.FeatureExtractor(%r)\n"
            "print(fx.activations(np.zeros((2, 3, 8, 8), np.float32), 'fc').shape)\n"
            "print('torch' in sys.modules)\n" % path)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["(2,", "5)", "False"]


# ---- labels, class names and paths ----

def make_folder(root, rng):
    """Class folders whose byte order differs from a human's ('B' < 'a',
    'c10' < 'c9') and from their files' paths' order ('c9' < 'c9-old' but
    'c9-old/' < 'c9/'), PNG and JPEG (any case) of mixed sizes, a text file
    and a corrupt image."""
    from PIL import Image
    layout = {"B": ["2.png", "10.png"], "a": ["x.JPG", "b.png", "a.jpeg"], "c10": ["0.png"],
              "c9": ["z.png", "y.jpg"], "c9-old": ["1.png"]}
    for cls, names in layout.items():
        os.makedirs(root / cls)
        for name in names:
            h, w = rng.integers(20, 40, 2)
            im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
            im.save(root / cls / name, format="JPEG" if name.lower().endswith(("jpg", "jpeg")) else "PNG")
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "c9" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return str(root / "c9" / "bad.png")


def test_folder_gives_imagefolders_labels_classes_and_paths(tmp_path):
    ImageFolder = pytest.importorskip("torchvision.datasets").ImageFolder
    transforms = pytest.importorskip("torchvision.transforms")
    from PIL import Image
    root = tmp_path / "photos"
    bad = make_folder(root, np.random.default_rng(5))
    net = small_cnn()
    fx = embedviz.FeatureExtractor(net)
    res = fx.extract(str(root), ["conv", "fc"], resize=24, crop=20, skip_bad=True)

    ref = ImageFolder(str(root))
    samples = [(p, t) for p, t in ref.samples if p != bad]
    assert res.classes == ref.classes == ["B", "a", "c10", "c9", "c9-old"]
    assert res.class_to_idx == ref.class_to_idx
    assert res.paths == [p for p, _ in samples]
    assert res.labels.dtype == np.int32 and res.labels.tolist() == [t for _, t in samples]
    assert [p for p, _ in res.skipped] == [bad] and res.skipped[0][1]
    assert len(res) == len(samples) == 9 and res["fc"].shape == (9, 5)
    assert repr(res) == "Features(9 rows; layers conv: 1600, fc: 5; 5 classes; 1 skipped)"

    # the rows are those images, as torchvision's transforms make them
    tf = transforms.Compose([transforms.Resize(24), transforms.CenterCrop(20), transforms.ToTensor(),
                             transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    png = [i for i, p in enumerate(res.paths) if p.endswith(".png")]
    x = torch.stack([tf(Image.open(res.paths[i]).convert("RGB")) for i in png])
    with torch.no_grad():
        np.testing.assert_allclose(res["fc"][png], net(x).numpy(), atol=1e-4)
    # the same rows as the scripted model from a file, and as activations()
    from_file = embedviz.FeatureExtractor(scripted_file(net, tmp_path)).extract(
        str(root), ["conv", "fc"], resize=24, crop=20, skip_bad=True)
    plain = fx.activations(str(root), ["conv", "fc"], resize=24, crop=20, skip_bad=True)
    assert isinstance(plain, dict) and fx.skipped_ == [bad]
    for name in ("conv", "fc"):
        np.testing.assert_array_equal(res[name], from_file[name])
        np.testing.assert_array_equal(res[name], plain[name])


def test_folder_without_class_subfolders_has_no_labels(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(1)
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(tmp_path / ("%d.png" % k))
    res = embedviz.FeatureExtractor(small_cnn()).extract(str(tmp_path), "fc")
    assert res.labels is None and res.classes == []
    assert res.paths == [str(tmp_path / ("%d.png" % k)) for k in range(3)]
    with pytest.raises(ValueError, match="a folder's labels are its class subfolders"):
        embedviz.FeatureExtractor(small_cnn()).extract(str(tmp_path), "fc", labels=[0, 1, 2])


def test_list_of_files_with_labels(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(2)
    files = []
    for k in range(4):
        f = str(tmp_path / ("%d.png" % k))
        Image.fromarray(rng.integers(0, 256, (22, 30, 3), dtype=np.uint8)).save(f)
        files.append(f)
    res = embedviz.FeatureExtractor(small_cnn()).extract(files[::-1], "fc", labels=[2, 0, -1, 2], crop=20)
    assert res.paths == files[::-1]
    assert res.labels.tolist() == [2, 0, -1, 2] and res.classes == ["0", "1", "2"]
    with pytest.raises(ValueError, match=r"one class number per input \(4\)"):
        embedviz.FeatureExtractor(small_cnn()).extract(files, "fc", labels=[1, 2])
    with pytest.raises(ValueError, match="whole class numbers"):
        embedviz.FeatureExtractor(small_cnn()).extract(files, "fc", labels=[0.5, 1, 2, 3])


def write_idx(path, array):
    """An IDX file (uint8), gzipped: magic 0x0000 08 ndim, then the sizes."""
    head = struct.pack(">HBB", 0, 8, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + array.astype(np.uint8).tobytes())


def test_idx_and_npy_files_with_their_labels_files(tmp_path):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (7, 12, 12), dtype=np.uint8)
    y = np.array([3, 0, 1, 3, 2, 0, 1])
    write_idx(tmp_path / "img.gz", images)
    write_idx(tmp_path / "lab.gz", y)
    np.save(tmp_path / "img.npy", images)
    np.save(tmp_path / "lab.npy", y)
    net = small_cnn()
    fx = embedviz.FeatureExtractor(net)
    x = np.repeat(images[:, None].astype(np.float32) / 255, 3, axis=1)   # grey / 255, as 3 channels
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    for img, lab in (("img.gz", "lab.gz"), ("img.npy", "lab.npy")):
        res = fx.extract(str(tmp_path / img), "fc", labels=str(tmp_path / lab), channels=3, normalize="none")
        assert res.labels.tolist() == y.tolist(), img
        assert res.classes == ["0", "1", "2", "3"] and res.paths is None
        np.testing.assert_allclose(res["fc"], want, atol=1e-5)
        unlabelled = fx.extract(str(tmp_path / img), "fc", channels=3, normalize="none")
        assert unlabelled.labels is None and unlabelled.classes == []
        np.testing.assert_array_equal(unlabelled["fc"], res["fc"])
    with pytest.raises(ValueError, match="give the path of its labels file"):
        fx.extract(str(tmp_path / "img.gz"), "fc", labels=y)


def test_numpy_batch_with_and_without_labels():
    fx = embedviz.FeatureExtractor(small_cnn())
    x = batch(4)
    res = fx.extract(x, ["fc"])
    assert res.labels is None and res.classes == [] and res.paths is None and res.skipped == []
    np.testing.assert_array_equal(res["fc"], fx.activations(x, "fc"))
    res = fx.extract(x, "fc", labels=np.array([1, 1, 0, 4]))
    assert res.labels.tolist() == [1, 1, 0, 4] and res.classes == ["0", "1", "2", "3", "4"]
