#!/usr/bin/python3
"""Build the TorchScript models on which tests/test_extract.c and
tests/python/test_extract_torch.py check layer kinds, "<module>:input"
layers and the report's default layers (cli/report_layers.c).

Usage: /usr/bin/python3 tests/ref/layer_choice_models.py OUTDIR

Random initial weights, fixed seeds, no downloads; written into OUTDIR
(normally build/tests/extract_layers), nothing committed but this script:

  resnet18.pt       torchvision resnet18(num_classes=12)
  vgg_like.pt       a VGG in small (features.* with 3 max pools, avgpool,
                    classifier.0..6 ending in Linear), 12 classes
  mobilenet_v2.pt   torchvision mobilenet_v2(num_classes=12): no pooling
                    module
  demo_cnn.pt       the demo's CNN (scripts/train_demo_model.py), which
                    returns softmax probabilities
  prob_net.pt       returns torch.softmax of its head, a Linear registered
                    before the body (whose last module is another Linear)
  all_conv.pt       no Linear: a 1 x 1 convolution to the classes, pooled
  *_input.f32, *_fc_input.f32 ...
                    raw float32 inputs and what PyTorch gives (forward
                    pre-hooks for the inputs of modules)
  ok                written last: the set is complete
"""
import os
import shutil
import sys

import torch
import torch.nn as nn
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from train_demo_model import DemoCNN  # noqa: E402  the demo's own model


class VGGLike(nn.Module):
    """torchvision's VGG layout (features, avgpool, classifier.0..6)."""

    def __init__(self, classes=12):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Linear(64, 32), nn.ReLU(True), nn.Dropout(),
            nn.Linear(32, 32), nn.ReLU(True), nn.Dropout(),
            nn.Linear(32, classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class ProbNet(nn.Module):
    """Probabilities out; the last Linear called is registered first."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(16, 5)
        self.body = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(4 * 8 * 8, 16), nn.ReLU())

    def forward(self, x):
        return torch.softmax(self.head(self.body(x)), 1)


class AllConv(nn.Module):
    """No Linear: convolutions, then a 1 x 1 convolution to the classes."""

    def __init__(self, classes=7):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU())
        self.classifier = nn.Sequential(
            nn.Conv2d(16, classes, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x):
        return self.classifier(self.features(x))


def save(outdir, name, t):
    t.detach().contiguous().float().numpy().tofile(os.path.join(outdir, name))


def inputs_of(model, x, names):
    """The first argument of each named module's forward, at its first call."""
    got = {}
    mods = dict(model.named_modules())

    def hook(n):
        return lambda m, args: got.setdefault(n, args[0])
    hooks = [mods[n].register_forward_pre_hook(hook(n)) for n in names]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return got


def make(outdir, name, model, x, input_of=()):
    model.eval()
    torch.jit.save(torch.jit.script(model), os.path.join(outdir, name + ".pt"))
    save(outdir, name + "_input.f32", x)
    for n, t in inputs_of(model, x, input_of).items():
        save(outdir, "%s_%s_input.f32" % (name, n), t)
    with torch.no_grad():
        save(outdir, name + "_output.f32", model(x))


def main():
    outdir = (sys.argv[1] if len(sys.argv) > 1 else "build/tests/extract_layers").rstrip("/")
    if os.path.exists(os.path.join(outdir, "ok")):
        return
    tmp = "%s.tmp%d" % (outdir, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    torch.set_num_threads(1)
    torch.manual_seed(11)
    make(tmp, "resnet18", torchvision.models.resnet18(weights=None, num_classes=12),
         torch.randn(2, 3, 64, 64), ["fc", "layer2.0.conv1"])
    make(tmp, "vgg_like", VGGLike(), torch.randn(2, 3, 32, 32), ["classifier.6"])
    make(tmp, "mobilenet_v2", torchvision.models.mobilenet_v2(weights=None, num_classes=12),
         torch.randn(1, 3, 64, 64), ["classifier.1"])
    make(tmp, "demo_cnn", DemoCNN(), torch.rand(2, 1, 28, 28), ["fc2"])
    make(tmp, "prob_net", ProbNet(), torch.randn(2, 3, 16, 16), ["head"])
    make(tmp, "all_conv", AllConv(), torch.randn(2, 3, 16, 16))
    open(os.path.join(tmp, "ok"), "w").write("ok\n")
    if os.path.exists(os.path.join(outdir, "ok")):   # another run finished first
        shutil.rmtree(tmp)
        return
    shutil.rmtree(outdir, ignore_errors=True)
    try:
        os.rename(tmp, outdir)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.exists(os.path.join(outdir, "ok")):
            raise


if __name__ == "__main__":
    main()
