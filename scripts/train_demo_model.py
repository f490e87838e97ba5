#!/usr/bin/python3
"""Train the demo's small CNN on the Fashion-MNIST training set.

Deterministic: fixed seeds, torch.use_deterministic_algorithms, a fixed
thread count and a fixed batch order, so two runs on one machine give the
same weights. Four epochs on 2 cores take about a minute and reach about
90% test accuracy, which is what the demo needs: a network good enough to
have learned something worth looking at.

The model is saved with torch.jit.script, so its named submodules (conv1,
relu1, pool1, conv2, relu2, pool2, flatten, fc1, relu3, fc2, softmax) stay
reachable by name for libembedviz's extraction. Its input is N x 1 x 28 x 28
floats in [0, 1] (pixels / 255); the normalisation is inside the model.
Its output is the class probabilities (the softmax module).

  /usr/bin/python3 scripts/train_demo_model.py --out build/demo/model.pt

With --export DIR it also writes what the demo reads as .npy files: the test
images and labels, a training subset, and (unless --images-only) the
activations of the layers the demo shows, for builds of libembedviz without
libtorch extraction.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Mean and standard deviation of the training pixels in [0, 1].
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    """IDX file (gzipped or not) -> numpy array (uint8)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split, data_dir):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return x, y


class DemoCNN(nn.Module):
    """Two convolution blocks and two dense layers: small, but deep enough
    that the classes separate more at each depth."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(64, 10)
        self.softmax = nn.Softmax(dim=1)

    def logits(self, x):
        x = (x - 0.2860) / 0.3530  # MEAN, STD: TorchScript wants literals
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.fc1(self.flatten(x)))
        return self.fc2(x)

    def forward(self, x):
        return self.softmax(self.logits(x))


def set_deterministic(seed, threads):
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def train(model, x, y, epochs, batch, lr, seed, log):
    # channels_last and batches of 512 make an epoch about 3 times cheaper on
    # 2 CPU cores than NCHW batches of 128 (oneDNN's convolutions prefer it).
    model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    for epoch in range(epochs):
        order = torch.from_numpy(rng.permutation(n))
        model.train()
        total = 0.0
        t0, c0 = time.time(), time.process_time()
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            opt.zero_grad()
            loss = loss_fn(model.logits(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += float(loss) * idx.numel()
        # CPU time as well as wall time: on a busy machine the wall time says
        # little about what the training costs.
        log(f"epoch {epoch + 1}/{epochs}: loss {total / n:.4f} ({time.time() - t0:.1f} s, "
            f"CPU {time.process_time() - c0:.1f} s)")
    model.to(memory_format=torch.contiguous_format)   # the saved model is plain NCHW


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, x.shape[0], 1000)])
    return float((pred == y).float().mean())


@torch.no_grad()
def export(model, x_test, y_test, x_train, y_train, out_dir, n_test, n_train, activations=True):
    """The demo's inputs: images and labels and, unless activations is
    False (libembedviz extracts them itself), the layers' activations."""
    os.makedirs(out_dir, exist_ok=True)
    xt = x_test[:n_test]
    np.save(os.path.join(out_dir, "test_images.npy"), xt.reshape(n_test, -1).numpy())
    np.save(os.path.join(out_dir, "test_labels.npy"), y_test[:n_test].numpy().astype(np.int32))
    np.save(os.path.join(out_dir, "train_images.npy"), x_train[:n_train].reshape(n_train, -1).numpy())
    np.save(os.path.join(out_dir, "train_labels.npy"), y_train[:n_train].numpy().astype(np.int32))
    with open(os.path.join(out_dir, "class_names.txt"), "w") as f:   # the report's and explain's names
        f.write("".join(c + "\n" for c in CLASSES))
    if not activations:
        return
    acts = {}
    hooks = [getattr(model, name).register_forward_hook(
        lambda m, i, o, name=name: acts.setdefault(name, []).append(o.detach().contiguous()))
        for name in ("pool1", "relu3", "fc2", "softmax")]
    model.eval()
    for i in range(0, n_test, 1000):
        model(xt[i:i + 1000])
    for h in hooks:
        h.remove()
    for name, parts in acts.items():   # pool1 keeps its n x C x H x W shape: the report shows its maps
        np.save(os.path.join(out_dir, f"test_{name}.npy"), torch.cat(parts).numpy().astype(np.float32))
    # The penultimate layer of the training subset: feature-space neighbours.
    feats = []
    hook = model.relu3.register_forward_hook(lambda m, i, o: feats.append(o))
    for i in range(0, n_train, 1000):
        model(x_train[i:min(i + 1000, n_train)])
    hook.remove()
    np.save(os.path.join(out_dir, "train_relu3.npy"), torch.cat(feats).numpy().astype(np.float32))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="build/demo/model.pt", help="TorchScript file to write")
    p.add_argument("--data", default=DATA, help="folder of the Fashion-MNIST IDX files")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="fixed, for reproducible sums")
    p.add_argument("--train-limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--export", metavar="DIR", help="also write the demo's .npy inputs")
    p.add_argument("--export-test", type=int, default=5000)
    p.add_argument("--export-train", type=int, default=10000)
    p.add_argument("--images-only", action="store_true",
                   help="export images and labels only (libembedviz extracts the activations)")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    log = (lambda s: None) if a.quiet else (lambda s: print(s, file=sys.stderr, flush=True))

    t0 = time.time()
    set_deterministic(a.seed, a.threads)
    xtr, ytr = load("train", a.data)
    xte, yte = load("test", a.data)
    if a.train_limit:
        xtr, ytr = xtr[:a.train_limit], ytr[:a.train_limit]
    to_x = lambda v: torch.from_numpy(v.astype(np.float32) / 255.0).unsqueeze(1)
    xtr_t, ytr_t = to_x(xtr), torch.from_numpy(ytr.astype(np.int64))
    xte_t, yte_t = to_x(xte), torch.from_numpy(yte.astype(np.int64))

    model = DemoCNN()
    train(model, xtr_t, ytr_t, a.epochs, a.batch, a.lr, a.seed, log)
    acc = accuracy(model, xte_t, yte_t)
    log(f"test accuracy {acc:.4f}")

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    model.eval()
    scripted = torch.jit.script(model)
    scripted.save(a.out)
    if a.export:
        export(model, xte_t, yte_t, xtr_t, ytr_t, a.export, min(a.export_test, len(yte)),
               min(a.export_train, len(ytr)), activations=not a.images_only)
    log(f"wrote {a.out} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
