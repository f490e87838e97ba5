#!/usr/bin/python3
"""Build the TorchScript models and reference activations that
tests/test_extract.c and tests/python/test_extract_torch.py compare against.

Usage: /usr/bin/python3 tests/ref/extract_models.py OUTDIR

Everything is generated (random initial weights, fixed seeds, no downloads)
into OUTDIR, normally build/tests/extract; nothing here is committed but
this script. Files written:

  small_cnn.pt        scripted small CNN (features.* / classifier.*)
  resnet18.pt         torchvision ResNet-18 scripted whole
  resnet18_fx.pt      the same weights through create_feature_extractor
                      (returns a dict {layer1, layer4, avgpool}), scripted
  tuple_net.pt        scripted module returning a (logits, embedding) tuple
  state_dict.pt       torch.save of a state dict: not TorchScript
  empty.pt, truncated.pt (first half of small_cnn.pt)
  *.f32               raw little-endian float32 arrays (C order):
                      inputs and the activations Python torch computes
  ok                  written last: the set is complete
"""
import os
import shutil
import sys

import torch
import torch.nn as nn
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d((2, 2)))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class TupleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(6, 4)

    def forward(self, x):
        e = self.body(x)
        return self.head(e), e


def save(outdir, name, t):
    t.detach().contiguous().float().numpy().tofile(os.path.join(outdir, name))


def activations(model, x, names):
    """Each named submodule's output through forward hooks."""
    got = {}
    mods = dict(model.named_modules())
    hooks = [mods[n].register_forward_hook(
        lambda m, i, o, n=n: got.__setitem__(n, o)) for n in names]
    with torch.no_grad():
        out = model(x)
    for h in hooks:
        h.remove()
    return out, got


def small_cnn(outdir):
    torch.manual_seed(1)
    m = SmallCNN().eval()
    x = torch.randn(5, 1, 8, 8)
    out, got = activations(m, x, ["features.0", "features.3", "features",
                                  "classifier.1"])
    torch.jit.save(torch.jit.script(m), os.path.join(outdir, "small_cnn.pt"))
    save(outdir, "small_cnn_input.f32", x)
    save(outdir, "small_cnn_output.f32", out)
    save(outdir, "small_cnn_softmax.f32", torch.softmax(out, 1))
    for n, t in got.items():
        save(outdir, "small_cnn_%s.f32" % n, t)
    save(outdir, "small_cnn_features.3_pooled.f32", got["features.3"].mean((2, 3)))


def resnet(outdir):
    torch.manual_seed(2)
    m = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    x = torch.randn(3, 3, 64, 64)
    names = ["layer1", "layer3.1.conv2", "layer4", "avgpool", "fc"]
    out, got = activations(m, x, names)
    torch.jit.save(torch.jit.script(m), os.path.join(outdir, "resnet18.pt"))
    save(outdir, "resnet18_input.f32", x)
    for n, t in got.items():
        save(outdir, "resnet18_%s.f32" % n, t)
    save(outdir, "resnet18_softmax.f32", torch.softmax(out, 1))
    fx = create_feature_extractor(m, {"layer1": "layer1", "layer4": "layer4",
                                      "avgpool": "avgpool"}).eval()
    with torch.no_grad():
        feats = fx(x)
    for n, t in feats.items():
        save(outdir, "resnet18_fx_%s.f32" % n, t)
    torch.jit.save(torch.jit.script(fx), os.path.join(outdir, "resnet18_fx.pt"))


def tuple_net(outdir):
    torch.manual_seed(3)
    m = TupleNet().eval()
    x = torch.randn(2, 3, 5, 5)
    with torch.no_grad():
        logits, e = m(x)
    torch.jit.save(torch.jit.script(m), os.path.join(outdir, "tuple_net.pt"))
    save(outdir, "tuple_net_input.f32", x)
    save(outdir, "tuple_net_output0.f32", logits)
    save(outdir, "tuple_net_output1.f32", e)


def bad_files(outdir):
    open(os.path.join(outdir, "empty.pt"), "wb").close()
    with open(os.path.join(outdir, "small_cnn.pt"), "rb") as f:
        data = f.read()
    with open(os.path.join(outdir, "truncated.pt"), "wb") as f:
        f.write(data[: len(data) // 2])
    torch.save(SmallCNN().state_dict(), os.path.join(outdir, "state_dict.pt"))


def main():
    """Make the set in a private folder, then move it into place, so that
    test programs running at once never read a half-written set."""
    outdir = sys.argv[1] if len(sys.argv) > 1 else "build/tests/extract"
    outdir = outdir.rstrip("/")
    if os.path.exists(os.path.join(outdir, "ok")):
        return
    tmp = "%s.tmp%d" % (outdir, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    torch.set_num_threads(1)
    small_cnn(tmp)
    resnet(tmp)
    tuple_net(tmp)
    bad_files(tmp)
    open(os.path.join(tmp, "ok"), "w").write("ok\n")
    if os.path.exists(os.path.join(outdir, "ok")):   # another run finished first
        shutil.rmtree(tmp)
        return
    shutil.rmtree(outdir, ignore_errors=True)        # a stale, incomplete set
    try:
        os.rename(tmp, outdir)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.exists(os.path.join(outdir, "ok")):
            raise


if __name__ == "__main__":
    main()
