"""FeatureExtractor against torch on a small scripted CNN: numpy batches,
an IDX file, error paths."""
import os

import numpy as np
import pytest

import embedviz
from conftest import FMNIST, needs, read_idx

pytestmark = needs("ev_model_load")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    if not embedviz.library().ev_extract_available():
        pytest.skip("libembedviz built without libtorch")
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.add_module("conv", torch.nn.Conv2d(1, 4, 3, padding=1))
    net.add_module("relu", torch.nn.ReLU())
    net.add_module("flatten", torch.nn.Flatten())
    net.add_module("fc", torch.nn.Linear(4 * 28 * 28, 10))
    path = str(tmp_path_factory.mktemp("model") / "net.pt")
    torch.jit.save(torch.jit.script(net.eval()), path)
    return path, net


def test_layers_and_numpy_batches(model_path):
    path, net = model_path
    fx = embedviz.FeatureExtractor(path)
    assert {"conv", "relu", "fc", "output", "softmax"} <= set(fx.layers)
    x = np.random.default_rng(0).random((37, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        conv = net.conv(torch.from_numpy(x)).numpy()
        logits = net(torch.from_numpy(x)).numpy()
    out = fx.activations(x, ["conv", "fc", "softmax"], batch_size=8)
    np.testing.assert_allclose(out["conv"], conv.reshape(37, -1), atol=1e-5)
    np.testing.assert_allclose(out["fc"], logits, atol=1e-4)
    np.testing.assert_allclose(out["softmax"], torch.softmax(torch.from_numpy(logits), 1).numpy(), atol=1e-5)
    pooled = fx.activations(x[:, 0], "conv", pool=True)          # N x H x W: one channel
    np.testing.assert_allclose(pooled, conv.mean(axis=(2, 3)), atol=1e-5)


def test_layer_kinds_and_module_inputs(model_path):
    """ev_model_layer_kind through layer_kinds; "fc:input" is what fc
    receives (the flattened ReLU output)."""
    path, net = model_path
    fx = embedviz.FeatureExtractor(path)
    kinds = fx.layer_kinds
    assert kinds["conv"] == "Conv2d" and kinds["fc"] == "Linear"
    assert kinds["relu"] == "ReLU" and kinds["flatten"] == "Flatten"
    assert kinds["output"] == "" and kinds["softmax"] == ""
    x = np.random.default_rng(1).random((5, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        want = net.flatten(net.relu(net.conv(torch.from_numpy(x)))).numpy()
    np.testing.assert_allclose(fx.activations(x, "fc:input"), want, atol=1e-5)
    with pytest.raises(embedviz.LayerNotFoundError, match="'<module>:input'"):
        fx.activations(x, "fcc:input")


def test_idx_file(model_path):
    path, net = model_path
    images = os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")
    if not os.path.exists(images):
        pytest.skip("no Fashion-MNIST")
    fx = embedviz.FeatureExtractor(path)
    out = fx.activations(images, "output")
    assert out.shape == (10000, 10)
    x = read_idx(images)[:20].astype(np.float32)[:, None] / 255
    with torch.no_grad():
        np.testing.assert_allclose(out[:20], net(torch.from_numpy(x)).numpy(), atol=1e-4)


def test_errors(model_path, tmp_path):
    path, _ = model_path
    with pytest.raises(FileNotFoundError, match="does not exist"):
        embedviz.FeatureExtractor(str(tmp_path / "missing.pt"))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(embedviz.FormatError):
        embedviz.FeatureExtractor(str(bad))
    with pytest.raises(ValueError, match="device"):
        embedviz.FeatureExtractor(path, device="tpu")
    fx = embedviz.FeatureExtractor(path)
    with pytest.raises(embedviz.LayerNotFoundError, match="no layer 'nope'") as e:   # a bad key, not a file
        fx.activations(np.zeros((2, 1, 28, 28)), "nope")
    assert isinstance(e.value, KeyError) and isinstance(e.value, ValueError)
    assert not isinstance(e.value, FileNotFoundError)
    with pytest.raises(embedviz.LayerNotFoundError, match=r"did you mean 'conv'\?"):
        fx.activations(np.zeros((2, 1, 28, 28)), "convv")
    with pytest.raises(ValueError, match="^inputs is an empty list: give at least one image file"):
        fx.activations([], "fc")
    with pytest.raises(ValueError):
        fx.activations(np.zeros((2, 3, 10, 10)), "fc")           # shape the model refuses
    with pytest.raises(embedviz.NonFiniteError):
        fx.activations(np.full((2, 1, 28, 28), np.nan), "fc")
    with pytest.raises(FileNotFoundError):
        fx.activations(str(tmp_path / "no-such-images.gz"), "fc")
    assert fx.activations(np.zeros((1, 1, 28, 28)), "fc").shape == (1, 10)


def test_image_folder_with_torchvision_preprocessing(model_path, tmp_path):
    """Images of different sizes in class folders, made 28 x 28 grey by
    Resize + CenterCrop as torchvision does; a corrupt file skipped."""
    Image = pytest.importorskip("PIL.Image")
    transforms = pytest.importorskip("torchvision.transforms")
    path, net = model_path
    rng = np.random.default_rng(3)
    files = []
    for cls, sizes in (("a", [(40, 33), (31, 50)]), ("b", [(64, 64)])):
        os.makedirs(tmp_path / "imgs" / cls)
        for k, (w, h) in enumerate(sizes):
            f = tmp_path / "imgs" / cls / ("%d.png" % k)
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(f)
            files.append(f)
    (tmp_path / "imgs" / "b" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    tf = transforms.Compose([transforms.Grayscale(), transforms.Resize(30), transforms.CenterCrop(28),
                             transforms.ToTensor(), transforms.Normalize([0.5], [0.25])])
    x = torch.stack([tf(Image.open(f)) for f in files])
    with torch.no_grad():
        ref = net(x).numpy()
    fx = embedviz.FeatureExtractor(path)
    out = fx.activations(str(tmp_path / "imgs"), "output", resize=30, crop=28, channels=1,
                         mean=[0.5], std=[0.25], skip_bad=True)
    np.testing.assert_allclose(out, ref, atol=1e-4)
    assert [os.path.basename(p) for p in fx.skipped_] == ["bad.png"]
    with pytest.raises(embedviz.FormatError):
        fx.activations(str(tmp_path / "imgs"), "output", resize=30, crop=28, channels=1)
    with pytest.raises(ValueError, match="mean and std"):
        fx.activations(str(tmp_path / "imgs"), "output", mean=[0.5])
    with pytest.raises(ValueError, match="normalize"):
        fx.activations(str(tmp_path / "imgs"), "output", normalize="zscore")
